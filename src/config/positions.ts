import { isMap, isScalar, isSeq, type Document, type LineCounter, type Node, type Pair } from 'yaml';

export type Segments = (string | number)[];
export type Position = { line: number; column: number };

const escapeSegment = (s: string): string => s.replace(/~/g, '~0').replace(/\//g, '~1');

/** `['routes', 2, 'upstream']` → `/routes/2/upstream` (RFC 6901 escaping). */
export function toPointer(segments: Segments): string {
  return segments.map((s) => `/${escapeSegment(String(s))}`).join('');
}

/** One more segment on a pointer: `child('/upstreams', 'a/b')` → `/upstreams/a~1b`. */
export const child = (pointer: string, key: string): string => `${pointer}/${escapeSegment(key)}`;

/** Path segments of a JSON pointer (`/routes/2/upstream` → ['routes', 2, 'upstream']). */
export function pointerSegments(pointer: string): Segments {
  if (pointer === '') return [];
  return pointer.slice(1).split('/').map((s) => {
    const unescaped = s.replace(/~1/g, '/').replace(/~0/g, '~');
    return /^[0-9]+$/.test(unescaped) ? Number(unescaped) : unescaped;
  });
}

/** 1-based line and column of a character offset. */
export function positionOf(lc: LineCounter, offset: number): Position {
  const p = lc.linePos(offset);
  return { line: p.line, column: p.col };
}

const keyOf = (pair: Pair): string => (isScalar(pair.key) ? String(pair.key.value) : String(pair.key));

/**
 * Line and column of the YAML node at `segments` — or, when `key` is given, of that key in the
 * mapping there (unknown fields are reported where they are written). Falls back to the nearest
 * ancestor that exists, so a missing field is reported at its parent.
 */
export function locate(doc: Document, lc: LineCounter, segments: Segments, key?: string): Position {
  for (let n = segments.length; n >= 0; n--) {
    const node = (n === 0 ? doc.contents : doc.getIn(segments.slice(0, n), true)) as Node | null | undefined;
    if (node === undefined || node === null) continue;
    let offset = node.range?.[0];
    if (key !== undefined && n === segments.length && isMap(node)) {
      const pair = node.items.find((p) => keyOf(p) === key);
      if (pair !== undefined && isScalar(pair.key)) offset = pair.key.range?.[0] ?? offset;
    }
    if (offset !== undefined) return positionOf(lc, offset);
  }
  return { line: 1, column: 1 };
}

/**
 * The key written at `offset` (where yaml reports a duplicate key), its path, and where the same
 * key first appears in that mapping. `getIn` would find the first one, hence the walk.
 */
export function duplicateKeyAt(doc: Document, offset: number): { path: Segments; key: string; firstOffset: number } | null {
  const search = (node: unknown, path: Segments): ReturnType<typeof duplicateKeyAt> => {
    if (isSeq(node)) {
      for (const [i, item] of node.items.entries()) {
        const found = search(item, [...path, i]);
        if (found !== null) return found;
      }
    } else if (isMap(node)) {
      for (const pair of node.items) {
        if (isScalar(pair.key) && pair.key.range?.[0] === offset) {
          const key = keyOf(pair);
          const first = node.items.find((p) => keyOf(p) === key);
          const firstOffset = first !== undefined && isScalar(first.key) ? (first.key.range?.[0] ?? offset) : offset;
          return { path: [...path, key], key, firstOffset };
        }
        const found = search(pair.value, [...path, keyOf(pair)]);
        if (found !== null) return found;
      }
    }
    return null;
  };
  return search(doc.contents, []);
}
