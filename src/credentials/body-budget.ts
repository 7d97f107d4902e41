/**
 * Bytes of request bodies being read for a credential, across all requests of a generation.
 * Such bodies are read before anyone is authenticated, each up to `credentials.body.maxBytes`:
 * without a shared bound, stalled uploads on many connections would hold that much memory each.
 */
export class BodyBudget {
  #held = 0;
  readonly limit: number;
  constructor(limit: number) {
    this.limit = limit;
  }
  /** Takes `n` bytes; false, taking nothing, when that would go past the limit. */
  take(n: number): boolean {
    if (this.#held + n > this.limit) return false;
    this.#held += n;
    return true;
  }
  give(n: number): void {
    this.#held = Math.max(0, this.#held - n);
  }
  get held(): number {
    return this.#held;
  }
}
