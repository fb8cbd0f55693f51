import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, appendFile, stat, truncate } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalMetadataLog } from '../../src/metadata/local-metadata-log.js';
import { MetadataLoader } from '../../src/metadata/loader.js';
import { imageRecords, topicByName } from '../../src/metadata/image.js';
import { encodeMetadataRecords, type MetadataRecord } from '../../src/metadata/records.js';
import { churn, withoutOffset } from './metadata-churn.js';

const topic = (name: string, id: string): MetadataRecord[] => [
  { type: 'Topic', name, topicId: id },
  { type: 'Partition', topicId: id, partitionId: 0, replicas: [1], isr: [1], leader: 1, leaderEpoch: 0, partitionEpoch: 0 },
];

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'runnel-metalog-'));
  try { await fn(dir); } finally { await rm(dir, { recursive: true, force: true }); }
}

test('committed batches survive a reopen and replay into the same image', () => withDir(async (dir) => {
  const log = await LocalMetadataLog.open(dir);
  const loader = new MetadataLoader(log);
  assert.equal(await log.append(topic('a', '00000000-0000-0000-0000-000000000001')), 0);
  assert.equal(await log.append(topic('b', '00000000-0000-0000-0000-000000000002')), 1);
  assert.ok(topicByName(loader.image, 'b'));
  await log.close();

  const reopened = await LocalMetadataLog.open(dir);
  const again = new MetadataLoader(reopened);
  assert.equal(again.image.offset, 1);
  assert.deepEqual([...again.image.topicIdsByName.keys()].sort(), ['a', 'b']);
  assert.equal(await reopened.append(topic('c', '00000000-0000-0000-0000-000000000003')), 2);
  await reopened.close();
}));

test('a torn or corrupt tail is cut and the log stays appendable', () => withDir(async (dir) => {
  const log = await LocalMetadataLog.open(dir);
  await log.append(topic('a', '00000000-0000-0000-0000-000000000001'));
  await log.append(topic('b', '00000000-0000-0000-0000-000000000002'));
  await log.close();
  const path = join(dir, 'metadata', 'metadata.log');
  const size = (await stat(path)).size;
  await truncate(path, size - 3); // torn second frame
  await appendFile(path, Buffer.from([0, 0, 0, 5, 1, 2, 3, 4, 9])); // garbage after it

  const reopened = await LocalMetadataLog.open(dir);
  const loader = new MetadataLoader(reopened);
  assert.deepEqual([...loader.image.topicIdsByName.keys()], ['a']);
  assert.equal(await reopened.append(topic('c', '00000000-0000-0000-0000-000000000003')), 1);
  await reopened.close();
  const thirdLog = await LocalMetadataLog.open(dir);
  const third = new MetadataLoader(thirdLog);
  assert.deepEqual([...third.image.topicIdsByName.keys()].sort(), ['a', 'c']);
  await thirdLog.close();
}));

test('appends commit in call order and publishers see every delta once', () => withDir(async (dir) => {
  const log = await LocalMetadataLog.open(dir);
  const loader = new MetadataLoader(log);
  const seen: number[] = [];
  loader.subscribe((_delta, image) => seen.push(image.offset));
  const offsets = await Promise.all([1, 2, 3, 4].map((i) => log.append(topic(`t${i}`, `00000000-0000-0000-0000-00000000000${i}`))));
  assert.deepEqual(offsets, [0, 1, 2, 3]);
  assert.deepEqual(seen, [-1, 0, 1, 2, 3]);
  await log.close();
  await assert.rejects(log.append([]));
}));

test('recovered batches go to the first listener only; later listeners hear new batches (memory stays bounded)', () => withDir(async (dir) => {
  const log = await LocalMetadataLog.open(dir);
  await log.append(topic('a', '00000000-0000-0000-0000-000000000001'));
  await log.close();
  const reopened = await LocalMetadataLog.open(dir);
  const first: number[] = [];
  const late: number[] = [];
  reopened.onCommit((b) => first.push(b.offset));
  reopened.onCommit((b) => late.push(b.offset));
  await reopened.append(topic('b', '00000000-0000-0000-0000-000000000002'));
  assert.deepEqual(first, [0, 1]);
  assert.deepEqual(late, [1]);
  await reopened.close();
}));

async function churnLog(log: LocalMetadataLog, loader: MetadataLoader, seed: number, batches: number, onBatch: () => Promise<void> = async () => {}): Promise<void> {
  const next = churn(seed);
  for (let i = 0; i < batches; i++) {
    await log.append(next(loader.image));
    await onBatch();
  }
}

test('compaction keeps the file within the live metadata plus max(setting, live metadata), and a reopen rebuilds the same image', () => withDir(async (dir) => {
  const minBytes = 8 * 1024;
  const log = await LocalMetadataLog.open(dir, { compactAfterBytes: minBytes });
  const loader = new MetadataLoader(log);
  log.compactWith(() => imageRecords(loader.image));
  const path = join(dir, 'metadata', 'metadata.log');
  let largest = 0;
  let compactions = 0;
  let previous = 0;
  await churnLog(log, loader, 7, 3000, async () => {
    const size = (await stat(path)).size;
    assert.equal(size, log.sizeBytes, 'the tracked size is the file size');
    const live = encodeMetadataRecords(imageRecords(loader.image)).length + 8;
    // Bound: the live metadata plus the threshold (max(setting, live)), plus one batch of slack
    // for the batch that crossed it and the snapshot being of an earlier, possibly larger, image.
    assert.ok(size <= live + Math.max(minBytes, live) + 4096, `file ${size} B for ${live} B of live metadata`);
    if (size < previous) compactions++;
    previous = size;
    largest = Math.max(largest, size);
  });
  assert.ok(compactions > 5, `compacted ${compactions} times`);
  const before = withoutOffset(loader.image);
  await log.close();

  const reopened = await LocalMetadataLog.open(dir, { compactAfterBytes: minBytes });
  const again = new MetadataLoader(reopened);
  assert.deepEqual(withoutOffset(again.image), before);
  assert.ok(again.image.offset + 1 < 3000, `the reopened log holds fewer batches than were appended (${again.image.offset + 1})`);
  await reopened.append(topic('after', '00000000-0000-0000-0000-0000000000ff'));
  assert.ok(topicByName(again.image, 'after'));
  await reopened.close();
}));

test('without a snapshot source the log is never rewritten', () => withDir(async (dir) => {
  const log = await LocalMetadataLog.open(dir, { compactAfterBytes: 1024 });
  const loader = new MetadataLoader(log);
  let previous = 0;
  await churnLog(log, loader, 7, 300, async () => {
    assert.ok(log.sizeBytes > previous);
    previous = log.sizeBytes;
  });
  await log.close();
}));

test('a compaction interrupted before its rename leaves the log intact; the temporary file is removed', () => withDir(async (dir) => {
  const log = await LocalMetadataLog.open(dir);
  await log.append(topic('a', '00000000-0000-0000-0000-000000000001'));
  await log.close();
  const leftover = join(dir, 'metadata', 'metadata.log.123-0.tmp');
  await appendFile(leftover, 'half a snapshot');
  const reopened = await LocalMetadataLog.open(dir);
  const loader = new MetadataLoader(reopened);
  assert.ok(topicByName(loader.image, 'a'));
  await assert.rejects(stat(leftover), { code: 'ENOENT' });
  await reopened.close();
}));
