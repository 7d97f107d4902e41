import { availableParallelism } from 'node:os';

/**
 * `server.workers` as a process count. `auto` is the cores this process may run on
 * (`os.availableParallelism()`: sched_getaffinity on Linux, so `taskset` and cpusets count). A
 * container's CPU quota (cgroup cpu.max) is not visible there: a pod limited to 2 CPUs on a
 * 64-core node would start 64 workers, so the chart sets a number (docs/workers.md).
 */
export function resolveWorkers(workers: number | 'auto', cores: () => number = availableParallelism): number {
  return workers === 'auto' ? Math.max(1, cores()) : workers;
}
