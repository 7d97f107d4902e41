/**
 * A set of granted actions, compiled once so a check is a Set lookup. Grants are exact
 * (`application:view`), everything (`*`) or a prefix wildcard (`application:*`).
 */
export class ActionSet {
  private readonly all: boolean;
  private readonly exact: Set<string>;
  private readonly prefixes: string[];

  constructor(grants: Iterable<string>) {
    let all = false;
    const exact = new Set<string>();
    const prefixes: string[] = [];
    for (const g of grants) {
      if (g === '*') all = true;
      else if (g.endsWith(':*')) prefixes.push(g.slice(0, -1));
      else exact.add(g);
    }
    this.all = all;
    this.exact = exact;
    this.prefixes = prefixes;
  }

  has(action: string): boolean {
    if (this.all || this.exact.has(action)) return true;
    for (const p of this.prefixes) if (action.startsWith(p)) return true;
    return false;
  }

  /** The first of `required` not granted, or undefined when all are. */
  missing(required: readonly string[]): string | undefined {
    for (const a of required) if (!this.has(a)) return a;
    return undefined;
  }
}
