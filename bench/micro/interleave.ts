/**
 * Interleaved CPU-time comparison of two implementations in one process: A, B, A, B… so drift
 * on a shared machine (other processes, frequency changes) hits both alike. CPU time, not wall
 * time: process.cpuUsage() counts every thread, so work moved to the libuv pool still counts.
 */
export interface Variant {
  name: string;
  /** Runs `n` operations; may return a promise when the work ends asynchronously. */
  run(n: number): void | Promise<void>;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 === 1 ? (s[(s.length - 1) / 2] as number) : ((s[s.length / 2 - 1] as number) + (s[s.length / 2] as number)) / 2;
};

export async function compare(title: string, variants: Variant[], opts: { n: number; rounds: number }): Promise<Record<string, number>> {
  const per: Record<string, number[]> = Object.fromEntries(variants.map((v) => [v.name, []]));
  for (const v of variants) await v.run(Math.min(opts.n, 20_000)); // warm-up: JIT, caches
  for (let r = 0; r < opts.rounds; r++) {
    for (const v of r % 2 === 0 ? variants : [...variants].reverse()) {
      const c0 = process.cpuUsage();
      await v.run(opts.n);
      const c = process.cpuUsage(c0);
      (per[v.name] as number[]).push(((c.user + c.system) * 1000) / opts.n);
    }
  }
  const out: Record<string, number> = {};
  process.stdout.write(`${title} (${opts.rounds} interleaved rounds of ${opts.n}, CPU ns/op, median [min–max])\n`);
  for (const v of variants) {
    const xs = per[v.name] as number[];
    out[v.name] = median(xs);
    process.stdout.write(`  ${v.name.padEnd(28)} ${median(xs).toFixed(0).padStart(6)}  [${Math.min(...xs).toFixed(0)}–${Math.max(...xs).toFixed(0)}]\n`);
  }
  return out;
}
