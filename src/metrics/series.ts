import type { Counter, Histogram } from 'prom-client';

/**
 * One label tuple's series, held by the caller so a request does no label validation and no
 * label hashing: prom-client's `labels(...).inc()` rebuilds and hashes the label object on every
 * call, 2.2 µs a request for keygate's five observations (issue 12). The series adds to the very
 * entry prom-client renders at scrape time, the way prom-client's own inc/observe would, so the
 * `/metrics` text is unchanged (test/integration/metrics-text.test.ts pins it).
 *
 * This reads prom-client's `hashMap` (pinned in package.json): the entry shapes are
 * `{ value, labels }` for counters and `{ labels, bucketValues, sum, count }` for histograms.
 */
interface CounterEntry { value: number }
interface HistogramEntry { labels: Record<string, string>; bucketValues: Record<string, number>; sum: number; count: number }
type HashMap<E> = Record<string, E>;
const mapOf = <E>(metric: Counter | Histogram) => (metric as unknown as { hashMap: HashMap<E> }).hashMap;

export class CounterSeries {
  private readonly counter: Counter;
  private readonly labels: Record<string, string>;
  private map: HashMap<CounterEntry> | null = null;
  private entry: CounterEntry = { value: 0 };

  constructor(counter: Counter, labels: Record<string, string>) {
    this.counter = counter;
    this.labels = labels;
  }

  inc(): void {
    // A registry reset replaces the map: find (or create) the entry again.
    if (mapOf(this.counter) !== this.map) this.attach();
    this.entry.value += 1;
  }

  private attach(): void {
    // inc by 0 creates the entry if it is missing (as a first inc would) and names its hash.
    const { labelHash } = this.counter.inc(this.labels, 0) as unknown as { labelHash: string };
    this.map = mapOf<CounterEntry>(this.counter);
    this.entry = this.map[labelHash] as CounterEntry;
  }
}

export class HistogramSeries {
  private readonly histogram: Histogram;
  private readonly labels: Record<string, string>;
  private readonly bounds: Float64Array;
  /** The bucket keys as prom-client holds them: `String(bound)`. */
  private readonly keys: string[];
  private map: HashMap<HistogramEntry> | null = null;
  private entry: HistogramEntry | null = null;

  constructor(histogram: Histogram, labels: Record<string, string>) {
    this.histogram = histogram;
    this.labels = labels;
    const upper = (histogram as unknown as { upperBounds: number[] }).upperBounds;
    this.bounds = Float64Array.from(upper);
    this.keys = upper.map(String);
  }

  observe(value: number): void {
    // prom-client throws on these; a metric must not fail a request, so they are not counted.
    if (!Number.isFinite(value)) return;
    if (mapOf(this.histogram) !== this.map) this.attach();
    const e = this.entry as HistogramEntry;
    const b = this.bounds;
    // The first bucket whose upper bound holds the value; past the last, only +Inf (the count).
    let i = 0;
    while (i < b.length && value > (b[i] as number)) i++;
    e.sum += value;
    e.count += 1;
    if (i < b.length) (e.bucketValues[this.keys[i] as string] as number) += 1;
  }

  private attach(): void {
    const find = () => Object.values(mapOf<HistogramEntry>(this.histogram)).find((e) => sameLabels(e.labels, this.labels));
    let entry = find();
    if (entry === undefined) {
      // zero() creates the series as a first observe would (it would reset an existing one,
      // hence the lookup first). Once per label tuple, so the scan does not matter.
      this.histogram.zero(this.labels);
      entry = find();
    }
    this.map = mapOf<HistogramEntry>(this.histogram);
    this.entry = entry as HistogramEntry;
  }
}

function sameLabels(a: Record<string, string>, b: Record<string, string>): boolean {
  const ka = Object.keys(a);
  return ka.length === Object.keys(b).length && ka.every((k) => a[k] === b[k]);
}

/** Series by one key, made on first use. */
export class SeriesMap<K, S> {
  private readonly series = new Map<K, S>();
  private readonly make: (key: K) => S;
  constructor(make: (key: K) => S) {
    this.make = make;
  }
  get(key: K): S {
    let s = this.series.get(key);
    if (s === undefined) this.series.set(key, (s = this.make(key)));
    return s;
  }
}
