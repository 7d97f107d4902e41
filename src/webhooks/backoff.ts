/**
 * Delay before attempt `attempt + 1` after `attempt` failures: exponential, capped, with full
 * jitter (a uniformly random wait up to the cap) so receivers coming back from an outage are not
 * hit by every replica's retries in the same instant (AWS Architecture Blog, "Exponential
 * Backoff And Jitter"). Never below a tenth of the base, so a retry is never immediate.
 */
export function retryDelayMs(attempt: number, baseMs: number, maxMs: number, random: () => number = Math.random): number {
  const ceiling = Math.min(maxMs, baseMs * 2 ** Math.max(0, attempt - 1));
  return Math.max(Math.ceil(baseMs / 10), Math.floor(random() * ceiling));
}
