// The producer load generators' last line: ProducerPerformance's, which franz-perf
// (bench/macro/franz-perf) prints too, with fractional milliseconds. One parser for the bench and the
// test that checks franz-perf (test/interop/franz-perf.test.ts).
import { join } from 'node:path';
import { INTEROP_CACHE } from '../../test/interop/clients.js';

/** Built by scripts/interop/setup.sh --only go. */
export const FRANZ_PERF = join(INTEROP_CACHE, 'franz-go', 'franz-perf');

export const PRODUCER_SUMMARY_RE = /(\d+) records sent, ([\d.]+) records\/sec \(([\d.]+) MB\/sec\), ([\d.]+) ms avg latency, ([\d.]+) ms max latency, ([\d.]+) ms 50th, ([\d.]+) ms 95th, ([\d.]+) ms 99th, ([\d.]+) ms 99\.9th/;

export interface ProducerSummary { records: number; msgPerSec: number; mbPerSec: number; p50Ms: number; p99Ms: number; p999Ms: number }

export function parseProducerSummary(out: string): ProducerSummary | undefined {
  const m = PRODUCER_SUMMARY_RE.exec(out);
  if (!m) return undefined;
  return { records: Number(m[1]), msgPerSec: Number(m[2]), mbPerSec: Number(m[3]), p50Ms: Number(m[6]), p99Ms: Number(m[8]), p999Ms: Number(m[9]) };
}
