/**
 * How long the Raft metadata log's disk writes hold the event loop (issue #21: "the Raft
 * driver's disk writes and fsyncs do not block the event loop that serves clients, or the note shows
 * with a measurement that they are harmless"). A one-voter RaftMetadataLog in a temp directory on the
 * data disk commits N small metadata batches (a PartitionChange-sized record each, as an ISR change
 * is), one after another; the event loop's delay is sampled with monitorEventLoopDelay throughout.
 *
 *   node --import tsx bench/micro/metadata-commit.ts [N=300] [dir=os tmpdir] [dataWriters=0]
 *
 * dataWriters > 0: meanwhile that many loops each append 64 KiB at a time to their own file through an
 * O_DSYNC descriptor, as fsync-mode partition logs do (src/storage/file-pool.ts: one thread-pool job per
 * group commit). Raft's writes share the libuv thread pool (UV_THREADPOOL_SIZE, default 4) with them, so
 * this shows what a metadata commit waits behind a busy data disk. The writers' own rate is reported.
 */
import { constants, open as openFile, write as writeFd, close as closeFd } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { RaftMetadataLog } from '../../src/controller/raft-metadata-log.js';

const count = Number(process.argv[2] ?? 300);
const base = process.argv[3] ?? tmpdir();
const dataWriters = Number(process.argv[4] ?? 0);
const dir = await mkdtemp(join(base, 'runnel-metadata-commit-'));
const log = new RaftMetadataLog({ nodeId: 1, dir, listen: undefined, voters: new Map([[1, { host: '127.0.0.1', port: 0 }]]), snapshotEveryBytes: 20 << 20 });
log.onCommit(() => undefined);
await log.start(() => []);
while (log.status()?.role !== 'leader') await new Promise((r) => setTimeout(r, 5));
await new Promise((r) => setTimeout(r, 50));
let stopWriters = false;
let dataWrites = 0;
const chunk = Buffer.alloc(64 * 1024, 7);
const writer = async (n: number): Promise<void> => {
  const fd = await new Promise<number>((resolve, reject) => openFile(join(dir, `data-${n}.log`), constants.O_WRONLY | constants.O_CREAT | constants.O_DSYNC, 0o644, (err, f) => (err ? reject(err) : resolve(f))));
  let position = 0;
  while (!stopWriters) {
    await new Promise<void>((resolve, reject) => writeFd(fd, chunk, 0, chunk.length, position, (err) => (err ? reject(err) : resolve())));
    // Wrap at 64 MiB so a long run does not fill the disk.
    position = (position + chunk.length) % (64 << 20);
    dataWrites++;
  }
  await new Promise<void>((resolve) => closeFd(fd, () => resolve()));
};
const writers = Array.from({ length: dataWriters }, (_, n) => writer(n));
if (dataWriters > 0) await new Promise((r) => setTimeout(r, 200));
const writesBefore = dataWrites;
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
const writesDuring = dataWrites - writesBefore;
stopWriters = true;
await Promise.all(writers);
delay.disable();
await log.close();
await rm(dir, { recursive: true, force: true });
latencies.sort((a, b) => a - b);
blocked.sort((a, b) => a - b);
const pctOf = (xs: number[], p: number): string => xs[Math.min(xs.length - 1, Math.floor(p * xs.length))]!.toFixed(2);
const pct = (p: number): string => pctOf(latencies, p);
console.log(JSON.stringify({
  commits: count, commitsPerSecond: Math.round(count / (totalMs / 1000)),
  threadPool: process.env.UV_THREADPOOL_SIZE ?? '4 (default)', dataWriters,
  dataMiBPerSecond: +((writesDuring * 64) / 1024 / (totalMs / 1000)).toFixed(1),
  commitLatencyMs: { p50: pct(0.5), p99: pct(0.99), max: latencies.at(-1)!.toFixed(2) },
  synchronousMsPerCommit: { p50: pctOf(blocked, 0.5), p99: pctOf(blocked, 0.99), max: blocked.at(-1)!.toFixed(2) },
  eventLoopDelayMs: { p50: (delay.percentile(50) / 1e6).toFixed(2), p99: (delay.percentile(99) / 1e6).toFixed(2), max: (delay.max / 1e6).toFixed(2) },
}));
