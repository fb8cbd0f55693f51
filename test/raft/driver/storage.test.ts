import assert from 'node:assert/strict';
import { appendFileSync, mkdtempSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import type { Entry, Ready, Snapshot } from '../../../src/raft/core/types.js';
import { DurableStorage } from '../../../src/raft/driver/storage.js';

const conf = { voters: [1, 2, 3], learners: [] };

function entries(from: number, to: number, term: number): Entry[] {
  const out: Entry[] = [];
  for (let index = from; index <= to; index++) out.push({ index, term, type: 'normal', data: Buffer.from(`e${index}`) });
  return out;
}

function ready(partial: Partial<Ready>): Ready {
  return { id: 1, hardState: undefined, snapshot: undefined, entries: [], messages: [], committedEntries: [], readStates: [], mustSync: true, ...partial };
}

async function withDir(body: (dir: string) => Promise<void>): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'runnel-raft-storage-'));
  try {
    await body(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('hard state and entries survive a reopen; overwritten suffixes stay overwritten', async () => {
  await withDir(async (dir) => {
    const { storage } = DurableStorage.open(dir, conf);
    await storage.persist(ready({ hardState: { term: 1, vote: 2, commitIndex: 0 }, entries: entries(1, 5, 1) }));
    await storage.persist(ready({ hardState: { term: 2, vote: 3, commitIndex: 2 }, entries: entries(3, 4, 2) }));
    await storage.close();
    const reopened = DurableStorage.open(dir, conf);
    assert.deepEqual(reopened.state.hardState, { term: 2, vote: 3, commitIndex: 2 });
    assert.deepEqual(reopened.state.entries.map((e) => [e.index, e.term]), [[1, 1], [2, 1], [3, 2], [4, 2]]);
    assert.ok(reopened.storage.fsyncCount === 0 || reopened.storage.fsyncCount > 0);
    await reopened.storage.close();
  });
});

test('a torn tail is cut off at the last whole record', async () => {
  await withDir(async (dir) => {
    const { storage } = DurableStorage.open(dir, conf);
    await storage.persist(ready({ hardState: { term: 1, vote: 1, commitIndex: 0 }, entries: entries(1, 3, 1) }));
    await storage.close();
    const path = join(dir, 'log');
    truncateSync(path, readFileSync(path).length - 2);
    appendFileSync(path, Buffer.from([0, 0]));
    const reopened = DurableStorage.open(dir, conf);
    assert.deepEqual(reopened.state.entries.map((e) => e.index), [1, 2]);
    assert.ok(reopened.report.tornBytes > 0);
    await reopened.storage.persist(ready({ entries: entries(3, 3, 1) }));
    await reopened.storage.close();
    assert.deepEqual(DurableStorage.open(dir, conf).state.entries.map((e) => e.index), [1, 2, 3]);
  });
});

test('compaction keeps the entries after the snapshot; a received snapshot replaces the log', async () => {
  await withDir(async (dir) => {
    const { storage } = DurableStorage.open(dir, conf);
    await storage.persist(ready({ hardState: { term: 1, vote: 1, commitIndex: 4 }, entries: entries(1, 6, 1) }));
    const local: Snapshot = { metadata: { index: 4, term: 1, confState: conf }, data: Buffer.from('image@4') };
    await storage.saveSnapshot(local, entries(5, 6, 1));
    await storage.close();
    let reopened = DurableStorage.open(dir, conf);
    assert.equal(reopened.state.snapshot.metadata.index, 4);
    assert.deepEqual(reopened.state.entries.map((e) => e.index), [5, 6]);
    const received: Snapshot = { metadata: { index: 20, term: 3, confState: conf }, data: Buffer.from('image@20') };
    await reopened.storage.persist(ready({ snapshot: received, hardState: { term: 3, vote: 0, commitIndex: 20 } }));
    await reopened.storage.close();
    reopened = DurableStorage.open(dir, conf);
    assert.equal(reopened.state.snapshot.metadata.index, 20);
    assert.deepEqual(reopened.state.entries, []);
    await reopened.storage.close();
  });
});

test('a log that does not follow the snapshot (crash between the two writes) is dropped', async () => {
  await withDir(async (dir) => {
    const { storage } = DurableStorage.open(dir, conf);
    await storage.persist(ready({ hardState: { term: 1, vote: 1, commitIndex: 0 }, entries: entries(1, 3, 1) }));
    const staleLog = readFileSync(join(dir, 'log'));
    await storage.persist(ready({ snapshot: { metadata: { index: 10, term: 2, confState: conf }, data: Buffer.from('x') } }));
    await storage.close();
    writeFileSync(join(dir, 'log'), staleLog);
    const reopened = DurableStorage.open(dir, conf);
    assert.equal(reopened.state.snapshot.metadata.index, 10);
    assert.deepEqual(reopened.state.entries, []);
    assert.equal(reopened.report.droppedStaleLog, true);
    await reopened.storage.close();
  });
});

test('persist returns before anything is written: the write and its fsync run off the event loop', async () => {
  await withDir(async (dir) => {
    const { storage } = DurableStorage.open(dir, conf);
    const before = readFileSync(join(dir, 'log')).length;
    const written = storage.persist(ready({ hardState: { term: 1, vote: 1, commitIndex: 0 }, entries: entries(1, 3, 1) }));
    assert.equal(readFileSync(join(dir, 'log')).length, before, 'nothing written synchronously');
    assert.equal(storage.pendingWrites, 1);
    await written;
    assert.ok(readFileSync(join(dir, 'log')).length > before);
    assert.equal(storage.pendingWrites, 0);
    await storage.close();
  });
});

test('writes queued without waiting land in call order (entries, an overwrite, a compaction, more entries)', async () => {
  await withDir(async (dir) => {
    const { storage } = DurableStorage.open(dir, conf);
    const local: Snapshot = { metadata: { index: 2, term: 1, confState: conf }, data: Buffer.from('image@2') };
    const done = [
      storage.persist(ready({ hardState: { term: 1, vote: 1, commitIndex: 0 }, entries: entries(1, 5, 1) })),
      storage.persist(ready({ hardState: { term: 2, vote: 2, commitIndex: 2 }, entries: entries(4, 4, 2) })),
      storage.saveSnapshot(local, [...entries(1, 3, 1), ...entries(4, 4, 2)]),
      storage.persist(ready({ entries: entries(5, 6, 2) })),
    ];
    await Promise.all(done);
    await storage.close();
    const reopened = DurableStorage.open(dir, conf);
    assert.deepEqual(reopened.state.hardState, { term: 2, vote: 2, commitIndex: 2 });
    assert.equal(reopened.state.snapshot.metadata.index, 2);
    assert.deepEqual(reopened.state.entries.map((e) => [e.index, e.term]), [[3, 1], [4, 2], [5, 2], [6, 2]]);
    await reopened.storage.close();
  });
});

test('after a failed write every later write fails too: a failed fsync is never retried', async () => {
  await withDir(async (dir) => {
    const { storage } = DurableStorage.open(dir, conf);
    await storage.persist(ready({ hardState: { term: 1, vote: 1, commitIndex: 0 }, entries: entries(1, 1, 1) }));
    rmSync(dir, { recursive: true, force: true });
    await assert.rejects(storage.persist(ready({ hardState: { term: 2, vote: 2, commitIndex: 0 } })), /ENOENT/);
    // The log's descriptor is still open and would take this write; the storage refuses it.
    await assert.rejects(storage.persist(ready({ entries: entries(2, 2, 1) })), /ENOENT/);
    await storage.close();
  });
});
