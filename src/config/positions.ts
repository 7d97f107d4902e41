import { isMap, isPair, isScalar, type Document, type LineCounter, type Node } from 'yaml';

/** Path segments of a JSON pointer (`/routes/2/upstream` → ['routes', 2, 'upstream']). */
export function pointerSegments(pointer: string): (string | number)[] {
  if (pointer === '') return [];
  return pointer.slice(1).split('/').map((s) => {
    const unescaped = s.replace(/~1/g, '/').replace(/~0/g, '~');
    return /^[0-9]+$/.test(unescaped) ? Number(unescaped) : unescaped;
  });
}

/**
 * 1-based line and column of the YAML node at `segments` — or, when `key` is given, of that key
 * in the mapping there (unknown fields are reported where they are written). Falls back to the
 * nearest ancestor that exists (a missing field is reported at its parent).
 */
export function locate(doc: Document, lc: LineCounter, segments: (string | number)[], key?: string): { line: number; column: number } {
  for (let n = segments.length; n >= 0; n--) {
    const node = (n === 0 ? doc.contents : doc.getIn(segments.slice(0, n), true)) as Node | null | undefined;
    if (node === undefined || node === null) continue;
    let offset = node.range?.[0];
    if (key !== undefined && n === segments.length && isMap(node)) {
      const pair = node.items.find((p) => isPair(p) && isScalar(p.key) && p.key.value === key);
      if (pair !== undefined && isScalar(pair.key)) offset = pair.key.range?.[0] ?? offset;
    }
    if (offset !== undefined) {
      const pos = lc.linePos(offset);
      return { line: pos.line, column: pos.col };
    }
  }
  return { line: 1, column: 1 };
}
