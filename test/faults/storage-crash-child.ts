/**
 * Crash-test child: recovers the log in argv[2] (data dir), verifies every batch the parent saw
 * acknowledged (argv[3]: JSON file of [baseOffset, lastOffset, run]), then appends random batches in
 * `fsync` mode with leader epoch = run (argv[4]) and prints `A <base> <last> <run>` once each is durable.
 * SIGTERM = clean shutdown. Any verification failure prints `FAIL <reason>` and exits 3.
 */
import { readFileSync } from 'node:fs';
import { Prng } from '../../src/common/prng.js';
import { LogManager } from '../../src/storage/log-manager.js';
import { isBatchCrcValid, readBatchHeader } from '../../src/protocol/record-batch.js';
import type { PartitionLog } from '../../src/storage/partition-log.js';
import { crashBatch, expectedStoredBatch } from './storage-crash-batches.js';

const [dataDir, ackedPath, runArg] = process.argv.slice(2) as [string, string, string];
const run = Number(runArg);
const prng = new Prng(run * 7919 + 17);
const OUTSTANDING_MAX = 8;

function fail(reason: string): never {
  process.stdout.write(`FAIL ${reason}\n`);
  process.exit(3);
}

async function verify(log: PartitionLog): Promise<void> {
  const acked = JSON.parse(readFileSync(ackedPath, 'utf8')) as Array<[number, number, number]>;
  let previousLast = log.logStartOffset - 1;
  let previousEpoch = -1;
  const seen = new Map<number, Buffer>();
  let batches = 0;
  for await (const batch of log.batches(log.logStartOffset)) {
    if (++batches > 10_000_000) fail('too many batches');
    const h = readBatchHeader(batch);
    if (h.sizeInBytes !== batch.length || !isBatchCrcValid(batch, 0, batch.length)) fail(`invalid batch at ${h.baseOffset}`);
    if (h.baseOffset !== previousLast + 1 && previousLast >= log.logStartOffset) fail(`gap before ${h.baseOffset}`);
    if (h.partitionLeaderEpoch < previousEpoch) fail(`epoch went back at ${h.baseOffset}`);
    previousLast = h.lastOffset;
    previousEpoch = h.partitionLeaderEpoch;
    seen.set(h.baseOffset, Buffer.from(batch));
  }
  if (previousLast + 1 !== log.logEndOffset && batches > 0) fail(`log end ${log.logEndOffset} != last batch end ${previousLast + 1}`);
  for (const [base, , ackRun] of acked) {
    const stored = seen.get(base);
    if (stored === undefined) fail(`acknowledged batch ${base} (run ${ackRun}) missing; log end ${log.logEndOffset}`);
    if (!stored.equals(expectedStoredBatch(ackRun, base))) fail(`acknowledged batch ${base} differs`);
    if (log.endOffsetForEpoch(ackRun).endOffset <= base) fail(`epoch ${ackRun} ends before ${base}`);
  }
  process.stdout.write(`VERIFIED ${acked.length} ${batches}\n`);
}

let stopping = false;

/** Installed before READY: the parent may send SIGTERM as soon as it reads that line. */
function onSigtermCloseCleanly(manager: LogManager): void {
  process.on('SIGTERM', () => {
    stopping = true;
    manager.close().then(() => process.exit(0), (err: unknown) => fail(`clean close failed: ${String(err)}`));
  });
}

async function appendForever(log: PartitionLog): Promise<void> {
  let outstanding = 0;
  for (let i = 0; i < 1_000_000 && !stopping; i++) {
    const base = log.logEndOffset;
    const first = crashBatch(run, base);
    const parts = [first];
    if (prng.chance(0.2)) parts.push(crashBatch(run, base + first.readInt32BE(57)));
    const result = log.append(Buffer.concat(parts), run);
    outstanding++;
    result.durable.then(() => {
      outstanding--;
      let at = base;
      for (const p of parts) {
        const count = p.readInt32BE(57);
        process.stdout.write(`A ${at} ${at + count - 1} ${run}\n`);
        at += count;
      }
    }, (err: unknown) => fail(`durable rejected: ${String(err)}`));
    if (outstanding >= OUTSTANDING_MAX || prng.chance(0.3)) await result.durable;
    if (prng.chance(0.1)) await new Promise((r) => setTimeout(r, prng.int(0, 3)));
  }
}

async function main(): Promise<void> {
  const manager = await LogManager.open({
    dataDir, checkpointIntervalMs: 20, openFilesMax: 4,
    defaults: { 'segment.bytes': 256 * 1024, 'index.interval.bytes': 1024, 'flush.window.ms': prng.int(0, 3), 'tail.cache.bytes': prng.int(0, 65536) },
  });
  manager.startBackgroundTasks();
  const log = manager.getLog('crash', 0) ?? (await manager.createLog('crash', 0));
  await verify(log);
  onSigtermCloseCleanly(manager);
  process.stdout.write('READY\n');
  await appendForever(log);
}

main().catch((err: unknown) => fail(`child error: ${String((err as Error)?.stack ?? err)}`));
