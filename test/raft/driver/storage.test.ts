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

function withDir(body: (dir: string) => void): void {
  const dir = mkdtempSync(join(tmpdir(), 'runnel-raft-storage-'));
  try {
    body(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('hard state and entries survive a reopen; overwritten suffixes stay overwritten', () => {
  withDir((dir) => {
    const { storage } = DurableStorage.open(dir, conf);
    storage.persist(ready({ hardState: { term: 1, vote: 2, commitIndex: 0 }, entries: entries(1, 5, 1) }));
    storage.persist(ready({ hardState: { term: 2, vote: 3, commitIndex: 2 }, entries: entries(3, 4, 2) }));
    storage.close();
    const reopened = DurableStorage.open(dir, conf);
    assert.deepEqual(reopened.state.hardState, { term: 2, vote: 3, commitIndex: 2 });
    assert.deepEqual(reopened.state.entries.map((e) => [e.index, e.term]), [[1, 1], [2, 1], [3, 2], [4, 2]]);
    assert.ok(reopened.storage.fsyncCount === 0 || reopened.storage.fsyncCount > 0);
    reopened.storage.close();
  });
});

test('a torn tail is cut off at the last whole record', () => {
  withDir((dir) => {
    const { storage } = DurableStorage.open(dir, conf);
    storage.persist(ready({ hardState: { term: 1, vote: 1, commitIndex: 0 }, entries: entries(1, 3, 1) }));
    storage.close();
    const path = join(dir, 'log');
    truncateSync(path, readFileSync(path).length - 2);
    appendFileSync(path, Buffer.from([0, 0]));
    const reopened = DurableStorage.open(dir, conf);
    assert.deepEqual(reopened.state.entries.map((e) => e.index), [1, 2]);
    assert.ok(reopened.report.tornBytes > 0);
    reopened.storage.persist(ready({ entries: entries(3, 3, 1) }));
    reopened.storage.close();
    assert.deepEqual(DurableStorage.open(dir, conf).state.entries.map((e) => e.index), [1, 2, 3]);
  });
});

test('compaction keeps the entries after the snapshot; a received snapshot replaces the log', () => {
  withDir((dir) => {
    const { storage } = DurableStorage.open(dir, conf);
    storage.persist(ready({ hardState: { term: 1, vote: 1, commitIndex: 4 }, entries: entries(1, 6, 1) }));
    const local: Snapshot = { metadata: { index: 4, term: 1, confState: conf }, data: Buffer.from('image@4') };
    storage.saveSnapshot(local, entries(5, 6, 1));
    storage.close();
    let reopened = DurableStorage.open(dir, conf);
    assert.equal(reopened.state.snapshot.metadata.index, 4);
    assert.deepEqual(reopened.state.entries.map((e) => e.index), [5, 6]);
    const received: Snapshot = { metadata: { index: 20, term: 3, confState: conf }, data: Buffer.from('image@20') };
    reopened.storage.persist(ready({ snapshot: received, hardState: { term: 3, vote: 0, commitIndex: 20 } }));
    reopened.storage.close();
    reopened = DurableStorage.open(dir, conf);
    assert.equal(reopened.state.snapshot.metadata.index, 20);
    assert.deepEqual(reopened.state.entries, []);
    reopened.storage.close();
  });
});

test('a log that does not follow the snapshot (crash between the two writes) is dropped', () => {
  withDir((dir) => {
    const { storage } = DurableStorage.open(dir, conf);
    storage.persist(ready({ hardState: { term: 1, vote: 1, commitIndex: 0 }, entries: entries(1, 3, 1) }));
    const staleLog = readFileSync(join(dir, 'log'));
    storage.persist(ready({ snapshot: { metadata: { index: 10, term: 2, confState: conf }, data: Buffer.from('x') } }));
    storage.close();
    writeFileSync(join(dir, 'log'), staleLog);
    const reopened = DurableStorage.open(dir, conf);
    assert.equal(reopened.state.snapshot.metadata.index, 10);
    assert.deepEqual(reopened.state.entries, []);
    assert.equal(reopened.report.droppedStaleLog, true);
    reopened.storage.close();
  });
});
