// Issue 26 defect 8: recovery must say at warn level what it cut or dropped — bytes and offsets —
// for every case: torn tail, corrupt batch, missing or empty segment, rebuilt index.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fsp, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { ManualClock } from '../../src/common/clock.js';
import { LogManager } from '../../src/storage/log-manager.js';
import type { PartitionLog, PartitionLogOptions, StorageLogger } from '../../src/storage/partition-log.js';
import { simpleBatch } from './batch-builder.js';
import { openLog, tempDir } from './helpers.js';

const NOW = 1_700_000_000_000;

interface Line { obj: Record<string, unknown>; msg: string }

function capture(): { logger: StorageLogger & { info(): void; debug?(): void }; warns: Line[] } {
  const warns: Line[] = [];
  return {
    warns,
    logger: { info: () => undefined, warn: (obj, msg) => warns.push({ obj: obj as Record<string, unknown>, msg }), error: (obj, msg) => warns.push({ obj: obj as Record<string, unknown>, msg }) },
  };
}

async function withDir(body: (dir: string) => Promise<void>): Promise<void> {
  const { dir, cleanup } = tempDir();
  try {
    await body(dir);
  } finally {
    cleanup();
  }
}

/** 100 batches of 10 records (100-byte values) = offsets 0..999, in segments of ~16 KiB. */
async function writeLog(dir: string, overrides: Record<string, number> = { 'segment.bytes': 16 * 1024 }): Promise<PartitionLog> {
  const log = await openLog(dir, overrides, { clock: new ManualClock(NOW) });
  for (let i = 0; i < 100; i++) log.append(simpleBatch(10, 100, i, NOW), 0);
  await log.flush();
  log.updateHighWatermark(log.logEndOffset);
  return log;
}

function segmentFiles(dir: string): string[] {
  return readdirSync(dir).filter((n) => n.endsWith('.log')).sort();
}

async function reopen(dir: string, extra: Partial<PartitionLogOptions>): Promise<{ log: PartitionLog; warns: Line[] }> {
  const { logger, warns } = capture();
  const log = await openLog(dir, { 'segment.bytes': 16 * 1024 }, { clock: new ManualClock(NOW), logger, ...extra });
  return { log, warns };
}

test('a .log truncated to 0 bytes is dropped without a word (issue 26 defect 8): the lost offsets are warned', () => withDir(async (dir) => {
  const log = await writeLog(dir, {});
  await log.close();
  assert.deepEqual(segmentFiles(dir), ['00000000000000000000.log']);
  await fsp.truncate(join(dir, '00000000000000000000.log'), 0);
  const { log: reopened, warns } = await reopen(dir, { cleanShutdown: true, recoveryPoint: 1000, highWatermark: 1000, logStartOffset: 0 });
  assert.equal(reopened.logEndOffset, 0);
  const line = warns.find((w) => w.obj.fromOffset === 0 && w.obj.toOffset === 999);
  assert.ok(line, JSON.stringify(warns));
  assert.equal(line.obj.offsets, 1000);
  assert.match(line.msg, /offsets 0 to 999 \(1000\) are dropped/);
  await reopened.close();
}));

test('the same through the LogManager: its checkpoints name the 10,000 records a truncated .log lost', () => withDir(async (dir) => {
  const clock = new ManualClock(NOW);
  const manager = await LogManager.open({ dataDir: dir, clock });
  const log = await manager.createLog('orders', 0);
  for (let i = 0; i < 100; i++) log.append(simpleBatch(100, 20, i, NOW), 0);
  await log.flush();
  log.updateHighWatermark(log.logEndOffset);
  await manager.close();
  await fsp.truncate(join(dir, 'wal', 'orders', '0', '00000000000000000000.log'), 0);
  const { logger, warns } = capture();
  const reopened = await LogManager.open({ dataDir: dir, clock, logger });
  assert.equal(reopened.getLog('orders', 0)?.logEndOffset, 0);
  const line = warns.find((w) => w.obj.topic === 'orders' && w.obj.offsets === 10_000);
  assert.ok(line, JSON.stringify(warns));
  assert.match(line.msg, /offsets 0 to 9999 \(10000\) are dropped/);
  await reopened.close();
}));

test('a torn tail is cut with a warning naming the bytes and the first dropped offset', () => withDir(async (dir) => {
  const log = await writeLog(dir);
  const files = segmentFiles(dir);
  const last = join(dir, files[files.length - 1] as string);
  const size = (await fsp.stat(last)).size;
  await fsp.truncate(last, size - 100); // tears the last batch (offsets 990..999)
  const { log: reopened, warns } = await reopen(dir, { recoveryPoint: 0, highWatermark: 1000 });
  assert.equal(reopened.logEndOffset, 990);
  const cut = warns.find((w) => w.obj.stop === 'torn');
  assert.ok(cut, JSON.stringify(warns));
  assert.equal(cut.obj.fromOffset, 990);
  assert.equal(cut.obj.bytes, (size - 100) - (cut.obj.position as number));
  assert.match(cut.msg, /recovery cut a torn log tail/);
  // The checkpointed high watermark shows how far the loss goes.
  assert.ok(warns.some((w) => w.obj.fromOffset === 990 && w.obj.toOffset === 999), JSON.stringify(warns));
  await reopened.close();
  await log.close().catch(() => undefined);
}));

test('a corrupt batch mid-log cuts its segment and deletes later ones, each named with its bytes', () => withDir(async (dir) => {
  const log = await writeLog(dir);
  await log.close();
  const files = segmentFiles(dir);
  assert.ok(files.length >= 3, `${files.length} segments`);
  const second = join(dir, files[1] as string);
  const fd = await fsp.open(second, 'r+');
  await fd.write(Buffer.from([0xff, 0xff]), 0, 2, 200); // inside a batch: its CRC no longer matches
  await fd.close();
  const { log: reopened, warns } = await reopen(dir, { recoveryPoint: 0, highWatermark: 1000, logStartOffset: 0 });
  const cut = warns.find((w) => typeof w.obj.stop === 'string');
  assert.ok(cut, JSON.stringify(warns));
  assert.equal(cut.obj.stop, 'crc');
  assert.equal((cut.obj.segmentsDeleted as string[]).length, files.length - 2);
  assert.ok((cut.obj.bytes as number) > 0);
  assert.match(cut.msg, /later segment\(s\)/);
  assert.equal(reopened.logEndOffset, cut.obj.fromOffset);
  assert.ok(warns.some((w) => w.obj.toOffset === 999));
  await reopened.close();
}));

test('a missing segment file (its index files remain) is warned with its offsets', () => withDir(async (dir) => {
  const log = await writeLog(dir);
  await log.close();
  const files = segmentFiles(dir);
  assert.ok(files.length >= 3);
  const middleBase = Number((files[1] as string).slice(0, 20));
  const nextBase = Number((files[2] as string).slice(0, 20));
  await fsp.unlink(join(dir, files[1] as string));
  const { log: reopened, warns } = await reopen(dir, { cleanShutdown: true, recoveryPoint: 1000, highWatermark: 1000, logStartOffset: 0 });
  const line = warns.find((w) => /is missing/.test(w.msg));
  assert.ok(line, JSON.stringify(warns));
  assert.equal(line.obj.fromOffset, middleBase);
  assert.equal(line.obj.toOffset, nextBase - 1);
  assert.equal(line.obj.offsets, nextBase - middleBase);
  await reopened.close();
}));

test('an empty inactive segment is warned with the offsets it held', () => withDir(async (dir) => {
  const log = await writeLog(dir);
  await log.close();
  const files = segmentFiles(dir);
  const base = Number((files[0] as string).slice(0, 20));
  const nextBase = Number((files[1] as string).slice(0, 20));
  await fsp.truncate(join(dir, files[0] as string), 0);
  const { log: reopened, warns } = await reopen(dir, { cleanShutdown: true, recoveryPoint: 1000, highWatermark: 1000, logStartOffset: 0 });
  const line = warns.find((w) => /is empty/.test(w.msg));
  assert.ok(line, JSON.stringify(warns));
  assert.equal(line.obj.fromOffset, base);
  assert.equal(line.obj.toOffset, nextBase - 1);
  await reopened.close();
}));

test('a rebuilt index is warned, and damaged bytes in an inactive segment are named', () => withDir(async (dir) => {
  const log = await writeLog(dir);
  await log.close();
  const files = segmentFiles(dir);
  const first = files[0] as string;
  await fsp.unlink(join(dir, first.replace('.log', '.index')));
  const size = (await fsp.stat(join(dir, first))).size;
  const fd = await fsp.open(join(dir, first), 'r+');
  await fd.write(Buffer.from([0xff, 0xff]), 0, 2, size - 50); // the segment's last batch
  await fd.close();
  const { log: reopened, warns } = await reopen(dir, { cleanShutdown: true, recoveryPoint: 1000, highWatermark: 1000, logStartOffset: 0 });
  for await (const batch of reopened.batches(0, 10)) assert.ok(batch.length > 0); // loads the first segment's indexes
  const rebuilt = warns.find((w) => /rebuilt from/.test(w.msg));
  assert.ok(rebuilt, JSON.stringify(warns));
  const damaged = warns.find((w) => /damaged bytes in inactive segment/.test(w.msg));
  assert.ok(damaged, JSON.stringify(warns));
  assert.equal(damaged.obj.stop, 'crc');
  assert.ok((damaged.obj.bytes as number) > 0);
  assert.equal(damaged.obj.toOffset, Number((files[1] as string).slice(0, 20)) - 1);
  await reopened.close();
}));

test('a clean reopen of an intact log warns nothing', () => withDir(async (dir) => {
  const log = await writeLog(dir);
  await log.close();
  const { log: reopened, warns } = await reopen(dir, { cleanShutdown: true, recoveryPoint: 1000, highWatermark: 1000, logStartOffset: 0 });
  for await (const batch of reopened.batches(0, 1000)) assert.ok(batch.length > 0);
  assert.deepEqual(warns, []);
  await reopened.close();
  const { log: crashed, warns: crashWarns } = await reopen(dir, { recoveryPoint: 0, highWatermark: 1000, logStartOffset: 0 });
  assert.deepEqual(crashWarns, []);
  await crashed.close();
}));
