import { isMap, isPair, isScalar, isSeq, type Document, type Node, type Scalar } from 'yaml';

/** Where a value sits in the document: `['routes', 2, 'upstream']`. */
export type NodePath = (string | number)[];

export interface InterpolationProblem {
  path: NodePath;
  /** The scalar holding the reference (its range gives the line). */
  node: Scalar;
  message: string;
}

/** A variable that was unset (no default) and got a stand-in, under `placeholders`. */
export interface UnsetReference {
  name: string;
  path: NodePath;
  node: Scalar;
  /** The reference was the whole value (`token: ${TOKEN}`), so the stand-in may be re-chosen to fit the field. */
  whole: boolean;
}

export interface InterpolationResult {
  problems: InterpolationProblem[];
  /** Under `placeholders`: every unset reference, instead of a problem each. */
  unset: UnsetReference[];
  /** Scalars whose value came from a reference; only these may be re-typed from the schema. */
  interpolated: { path: NodePath; node: Scalar }[];
}

// `$${` (escape), `${NAME}` / `${NAME:-default}`, or any other `${` (malformed reference).
const REF = /\$\$\{|\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}|\$\{/g;

/**
 * `${VAR}` and `${VAR:-default}` in scalar *values*, resolved on the parsed document — never by
 * substituting into the text — so line numbers stay true and an environment value can never
 * inject YAML structure: whatever a variable holds, the result is one string. `$${` is a literal
 * `${`. `:-` follows the shell: the default also replaces a variable set to "". Keys are never
 * interpolated (a key that depends on the environment would make unknown-key checks moot).
 */
export function interpolate(doc: Document, env: NodeJS.ProcessEnv, opts: { placeholders?: boolean } = {}): InterpolationResult {
  const result: InterpolationResult = { problems: [], unset: [], interpolated: [] };
  walk(doc.contents, [], (node, path) => {
    if (typeof node.value !== 'string' || !node.value.includes('${')) return;
    let substituted = false;
    const entire = /^\$\{[A-Za-z_][A-Za-z0-9_]*\}$/.test(node.value);
    node.value = node.value.replace(REF, (whole, name: string | undefined, fallback: string | undefined) => {
      if (whole === '$${') return '${';
      if (name === undefined) {
        result.problems.push({ path, node, message: 'malformed reference: write ${VAR} or ${VAR:-default}, and $${ for a literal ${' });
        return whole;
      }
      substituted = true;
      const value = env[name];
      if (value !== undefined && (value !== '' || fallback === undefined)) return value;
      if (fallback !== undefined) return fallback;
      if (opts.placeholders === true) {
        result.unset.push({ name, path, node, whole: entire });
        // Inside a longer value (`redis://${HOST}:6379`) a name-like word keeps it well-formed.
        return `placeholder-${name.toLowerCase().replaceAll('_', '-')}`;
      }
      result.problems.push({ path, node, message: `environment variable ${name} is not set (write \${${name}:-default} to give it a default)` });
      return '';
    });
    if (substituted) result.interpolated.push({ path, node });
  });
  return result;
}

function walk(node: Node | null | undefined, path: NodePath, visit: (node: Scalar, path: NodePath) => void): void {
  if (isScalar(node)) visit(node, path);
  else if (isSeq(node)) node.items.forEach((item, i) => {
    walk(item as Node, [...path, i], visit);
  });
  else if (isMap(node)) {
    for (const pair of node.items) {
      if (!isPair(pair)) continue;
      const key = isScalar(pair.key) ? String(pair.key.value) : String(pair.key);
      walk(pair.value as Node | null, [...path, key], visit);
    }
  }
}
