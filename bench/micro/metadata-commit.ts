/**
 * How long the Raft metadata log's disk writes hold the event loop (issue #21: "the Raft
 * driver's disk writes and fsyncs do not block the event loop that serves clients, or the note shows
 * with a measurement that they are harmless"). A one-voter RaftMetadataLog in a temp directory on the
 * data disk commits N small metadata batches (a PartitionChange-sized record each, as an ISR change
 * is), one after another; the event loop's delay is sampled with monitorEventLoopDelay throughout.
 *
 *   node --import tsx bench/micro/metadata-commit.ts [N=300] [dir=os tmpdir]
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { RaftMetadataLog } from '../../src/controller/raft-metadata-log.js';

const count = Number(process.argv[2] ?? 300);
const base = process.argv[3] ?? tmpdir();
const dir = await mkdtemp(join(base, 'runnel-metadata-commit-'));
const log = new RaftMetadataLog({ nodeId: 1, dir, listen: undefined, voters: new Map([[1, { host: '127.0.0.1', port: 0 }]]), snapshotEveryBytes: 20 << 20 });
log.onCommit(() => undefined);
await log.start(() => []);
while (log.status()?.role !== 'leader') await new Promise((r) => setTimeout(r, 5));
await new Promise((r) => setTimeout(r, 50));
const delay = monitorEventLoopDelay({ resolution: 1 });
delay.enable();
const latencies: number[] = [];
const blocked: number[] = [];
const started = performance.now();
for (let i = 0; i < count; i++) {
  const t = performance.now();
  const committed = log.append([{ type: 'PartitionChange', topicId: '5d04da03-f969-4201-adfb-40c0aa2abcc5', partitionId: i % 50, isr: [1, 2, 3] }]);
  // Event-loop time spent inside the call (before #21's async storage this included the write + fdatasync).
  blocked.push(performance.now() - t);
  await committed;
  latencies.push(performance.now() - t);
  // Yield to timers so the event-loop delay histogram samples between commits.
  await new Promise((r) => setImmediate(r));
}
const totalMs = performance.now() - started;
delay.disable();
await log.close();
await rm(dir, { recursive: true, force: true });
latencies.sort((a, b) => a - b);
blocked.sort((a, b) => a - b);
const pctOf = (xs: number[], p: number): string => xs[Math.min(xs.length - 1, Math.floor(p * xs.length))]!.toFixed(2);
const pct = (p: number): string => pctOf(latencies, p);
console.log(JSON.stringify({
  commits: count, commitsPerSecond: Math.round(count / (totalMs / 1000)),
  commitLatencyMs: { p50: pct(0.5), p99: pct(0.99), max: latencies.at(-1)!.toFixed(2) },
  synchronousMsPerCommit: { p50: pctOf(blocked, 0.5), p99: pctOf(blocked, 0.99), max: blocked.at(-1)!.toFixed(2) },
  eventLoopDelayMs: { p50: (delay.percentile(50) / 1e6).toFixed(2), p99: (delay.percentile(99) / 1e6).toFixed(2), max: (delay.max / 1e6).toFixed(2) },
}));
