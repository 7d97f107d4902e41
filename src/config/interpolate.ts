import { isScalar, visit, type Document } from 'yaml';

export interface InterpolationProblem {
  /** Offset in the file of the scalar holding the reference. */
  offset: number;
  message: string;
}

const REF = /\$\$\{|\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g;

/**
 * `${VAR}` and `${VAR:-default}` in scalar values, resolved on the parsed document — never by
 * substituting into the text — so line numbers stay true and an environment value can never
 * inject YAML structure. `$${` is a literal `${`. An unset variable without a default is a problem.
 */
export function interpolate(doc: Document, env: NodeJS.ProcessEnv): InterpolationProblem[] {
  const problems: InterpolationProblem[] = [];
  visit(doc, {
    Scalar(_key, node) {
      if (typeof node.value !== 'string' || !node.value.includes('$')) return;
      const offset = node.range?.[0] ?? 0;
      node.value = node.value.replace(REF, (whole, name: string | undefined, fallback: string | undefined) => {
        if (whole === '$${') return '${';
        const value = env[name as string];
        if (value !== undefined && (value !== '' || fallback === undefined)) return value;
        if (fallback !== undefined) return fallback;
        problems.push({ offset, message: `environment variable ${name as string} is not set (use \${${name as string}:-default} for a default)` });
        return '';
      });
    },
  });
  return problems;
}

export { isScalar };
