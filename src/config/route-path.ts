const PARAM = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * What is wrong with a route path pattern, or null. The rules of `routing/match.ts`, said here
 * with the config's words: it starts with `/`; `*` only as the whole last segment; `:name`
 * parameters are identifiers, unique in the route; no empty segment except a trailing `/`.
 */
export function routePathProblem(path: string): string | null {
  if (!path.startsWith('/')) return 'must start with "/"';
  const parts = path.slice(1).split('/');
  const names = new Set<string>();
  for (const [i, part] of parts.entries()) {
    const last = i === parts.length - 1;
    if (part === '*') {
      if (!last) return '"*" is only allowed as the last segment';
      continue;
    }
    if (part.includes('*')) return `"*" must be a whole segment (in "${part}")`;
    if (part === '' && !last) return 'empty segment ("//")';
    if (!part.startsWith(':')) continue;
    const name = part.slice(1);
    if (!PARAM.test(name)) return `parameter "${part}" must be ":" and a name of letters, digits and "_" (not starting with a digit)`;
    if (names.has(name)) return `parameter ":${name}" appears twice`;
    names.add(name);
  }
  return null;
}

/** Parameter names declared by a valid pattern (`/a/:id/*` → `id`). */
export function routePathParams(path: string): string[] {
  return path.split('/').filter((p) => p.startsWith(':')).map((p) => p.slice(1));
}
