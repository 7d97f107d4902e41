import type { Scalar } from 'yaml';
import type { NodePath } from './interpolate.ts';

/** The parts of a JSON Schema needed to find what type a field expects (the config schema has no `$ref`). */
export interface SchemaNode {
  type?: string | string[];
  properties?: Record<string, SchemaNode>;
  additionalProperties?: boolean | SchemaNode;
  items?: SchemaNode;
  oneOf?: SchemaNode[];
  anyOf?: SchemaNode[];
  enum?: unknown[];
  minimum?: number;
}

const NUMBER = /^-?[0-9]+(\.[0-9]+)?$/;

/**
 * Interpolation always yields strings, so `port: "${PORT:-8080}"` would fail `type: integer`.
 * Only scalars that came from a reference are re-typed, and only when the schema expects a
 * number or boolean there and the text is exactly one (`8080`, `true`): ajv's `coerceTypes`
 * would also turn a literal `port: true` into 1 or `upstream:` (null) into "", hiding mistakes
 * the user typed.
 */
export function retypeInterpolated(schema: object, scalars: { path: NodePath; node: Scalar }[]): void {
  for (const { path, node } of scalars) {
    if (typeof node.value !== 'string') continue;
    const types = new Set(schemasAt(schema as SchemaNode, path).flatMap((s) => (s.type === undefined ? [] : [s.type].flat())));
    if (types.has('string') || types.size === 0) continue;
    if ((types.has('integer') || types.has('number')) && NUMBER.test(node.value)) node.value = Number(node.value);
    else if (types.has('boolean') && (node.value === 'true' || node.value === 'false')) node.value = node.value === 'true';
  }
}

function expand(list: SchemaNode[]): SchemaNode[] {
  return list.flatMap((s) => [s, ...expand([...(s.oneOf ?? []), ...(s.anyOf ?? [])])]);
}

/** Every subschema that may apply at `path`. */
export function schemasAt(root: SchemaNode, path: NodePath): SchemaNode[] {
  let current = [root];
  for (const segment of path) {
    current = expand(current).flatMap((s) => {
      if (typeof segment === 'number') return s.items === undefined ? [] : [s.items];
      const p = s.properties?.[segment];
      if (p !== undefined) return [p];
      return typeof s.additionalProperties === 'object' ? [s.additionalProperties] : [];
    });
  }
  return expand(current);
}
