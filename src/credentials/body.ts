import { createRequire } from 'node:module';
import type { RequestView } from '../context.ts';

/**
 * jsonc-parser, loaded with the first body credential read rather than with the program: only
 * routes that list `body` credentials use it (issue 12: idle RSS). CommonJS, so `require`.
 */
let lib: typeof import('jsonc-parser') | null = null;
const jsonc = (): typeof import('jsonc-parser') => (lib ??= createRequire(import.meta.url)('jsonc-parser') as typeof import('jsonc-parser'));

/** jsonc-parser's SyntaxKind is a const enum, which type stripping cannot inline: its values. */
const OPEN_BRACE = 1, CLOSE_BRACE = 2, OPEN_BRACKET = 3, CLOSE_BRACKET = 4, EOF = 17;
import { GatewayError } from '../errors.ts';
import { singleRawHeader } from './raw-headers.ts';
import type { BodyBudget } from './body-budget.ts';

export interface BodyCredential {
  /** The credential field's value (hashed by the caller at once). */
  key: string | null;
  orgKey: string | null;
  /** The body to forward: the bytes as sent, or with the credential field removed. */
  forward: Buffer;
}

/**
 * Only JSON bodies carry a credential field (`application/json`, `application/*+json`). Media
 * types are case-insensitive (RFC 9110 §8.3.1): an upstream reads `Application/JSON` as JSON, so
 * keygate must too, or a body `userKey` would pass unchecked. Content-Type is read from the raw
 * list: sent twice, Node keeps the first while both reach the upstream, which may take the last.
 */
export function isJson(req: RequestView): boolean {
  const type = (singleRawHeader(req, 'content-type') ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
  // Two values joined (`text/plain, application/json`): how Envoy's gRPC check request and
  // many stacks present a repeated header. Which one the upstream takes is anyone's guess.
  if (type.includes(',')) throw new GatewayError('invalid_request', 'Content-Type has more than one value');
  return type === 'application/json' || (type.startsWith('application/') && type.endsWith('+json'));
}

/**
 * Reads at most `maxBytes`; more is 413 without reading further. Each chunk is taken from the
 * shared budget while the body is being read (the phase a stalled upload can drag out), and
 * given back once it is read: past the budget, 503 without reading further.
 */
async function readLimited(req: RequestView, maxBytes: number, budget: BodyBudget | undefined): Promise<Buffer> {
  const declared = Number(req.headers['content-length'] ?? NaN);
  if (declared > maxBytes) throw new GatewayError('body_too_large');
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of req as AsyncIterable<Buffer>) {
      if (size + chunk.length > maxBytes) throw new GatewayError('body_too_large');
      if (budget !== undefined && !budget.take(chunk.length)) throw new GatewayError('body_buffers_full');
      size += chunk.length;
      chunks.push(chunk);
    }
    return Buffer.concat(chunks, size);
  } finally {
    budget?.give(size);
  }
}

/**
 * Nesting depth, counted with jsonc-parser's scanner (a loop, not recursion), before any tree is
 * built: a body of 100 000 `[` must not exhaust the stack of whatever parses it next.
 */
function tooDeep(text: string, maxDepth: number): boolean {
  const scanner = jsonc().createScanner(text, true);
  let depth = 0;
  for (let t: number = scanner.scan(); t !== EOF; t = scanner.scan()) {
    if (t === OPEN_BRACE || t === OPEN_BRACKET) {
      if (++depth > maxDepth) return true;
    } else if (t === CLOSE_BRACE || t === CLOSE_BRACKET) depth--;
  }
  return false;
}

/**
 * Mend-style `{"requestType":…, "userKey":"…", "orgToken":"…"}`. The body is read once (bounded),
 * validated strictly (UTF-8, JSON.parse, depth), and the top-level fields are located with
 * jsonc-parser's offsets so that removing the credential leaves every other byte as sent.
 * A field given twice is refused: parsers disagree on which duplicate wins.
 */
export async function readBodyCredential(
  req: RequestView,
  opts: { field: string; orgField: string; maxBytes: number; maxDepth: number; hide: boolean; budget?: BodyBudget },
): Promise<BodyCredential> {
  const raw = await readLimited(req, opts.maxBytes, opts.budget);
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(raw);
    if (tooDeep(text, opts.maxDepth)) throw new Error('too deep');
    JSON.parse(text);
  } catch {
    throw new GatewayError('invalid_json');
  }
  const tree = jsonc().parseTree(text);
  if (tree === undefined || tree.type !== 'object') return { key: null, orgKey: null, forward: raw };
  const values = new Map<string, unknown[]>();
  for (const prop of tree.children ?? []) {
    const name = prop.children?.[0]?.value as string;
    if (name !== opts.field && name !== opts.orgField) continue;
    values.set(name, [...(values.get(name) ?? []), prop.children?.[1]?.value]);
  }
  const one = (name: string): string | null => {
    const v = values.get(name);
    if (v === undefined) return null;
    if (v.length > 1) throw new GatewayError('invalid_json', `The ${name} field is repeated`);
    if (typeof v[0] !== 'string' || v[0].length === 0 || v[0].length > 4096) throw new GatewayError('invalid_json', `The ${name} field must be a non-empty string`);
    return v[0];
  };
  const key = one(opts.field);
  const orgKey = one(opts.orgField);
  if (!opts.hide || (key === null && orgKey === null)) return { key, orgKey, forward: raw };
  const { applyEdits, modify } = jsonc();
  // The org key is a secret too: removed as the API-Key header is, so neither reaches the upstream.
  let edited = text;
  for (const [field, v] of [[opts.field, key], [opts.orgField, orgKey]] as const) {
    if (v !== null) edited = applyEdits(edited, modify(edited, [field], undefined, {}));
  }
  return { key, orgKey, forward: Buffer.from(edited, 'utf8') };
}
