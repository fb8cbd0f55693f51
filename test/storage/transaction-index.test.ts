import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FilePool } from '../../src/storage/file-pool.js';
import {
  ABORTED_TXN_BYTES, TransactionIndex, encodeAbortedTxns, validEntriesBytes, type AbortedTxn,
} from '../../src/storage/transaction-index.js';
import { tempDir } from './helpers.js';

/** Aborted transaction i of producer 7: records [100 + 10i, 100 + 10i + 4], marker at 100 + 10i + 5. */
function txn(i: number, lastStableOffset?: number): AbortedTxn {
  const firstOffset = 100 + 10 * i;
  return { producerId: 7, firstOffset, lastOffset: firstOffset + 5, lastStableOffset: lastStableOffset ?? firstOffset + 6 };
}

async function withIndex(fn: (index: TransactionIndex, pool: FilePool, path: string) => Promise<void>): Promise<void> {
  const { dir, cleanup } = tempDir('runnel-txnindex-');
  const pool = new FilePool(4);
  const path = join(dir, '00000000000000000100.txnindex');
  try {
    await fn(new TransactionIndex(path, 100), pool, path);
  } finally {
    await pool.closeAll();
    cleanup();
  }
}

test('entries are Kafka\'s AbortedTxn: version 0, producerId, firstOffset, lastOffset, lastStableOffset, 34 bytes big-endian', () => {
  const buf = encodeAbortedTxns([{ producerId: 0x0102030405, firstOffset: 6, lastOffset: 9, lastStableOffset: 10 }]);
  assert.equal(buf.length, ABORTED_TXN_BYTES);
  assert.equal(buf.toString('hex'), '0000' + '0000000102030405' + '0000000000000006' + '0000000000000009' + '000000000000000a');
});

test('no file until an entry is written; pending entries are readable before they are written', () => withIndex(async (index, pool, path) => {
  assert.equal(index.isEmpty(), true);
  index.append(txn(0));
  assert.equal(existsSync(path), false);
  assert.deepEqual((await index.collect(pool, 0, 1000)).abortedTransactions, [txn(0)]);
  await index.writePending(pool, txn(0).lastOffset); // marker not durable yet: stays pending
  assert.equal(existsSync(path), false);
  await index.writePending(pool, txn(0).lastOffset + 1);
  assert.equal(statSync(path).size, ABORTED_TXN_BYTES);
  assert.equal(index.pendingCount, 0);
  assert.deepEqual((await index.collect(pool, 0, 1000)).abortedTransactions, [txn(0)]);
}));

test('appends must move forward (TransactionIndex.append)', () => withIndex(async (index) => {
  index.append(txn(1));
  assert.throws(() => index.append(txn(0)), /not after/);
  assert.throws(() => index.append(txn(1)), /not after/);
}));

test('collect: overlapping entries only, and the search is complete at the first entry whose LSO reaches the upper bound', () => withIndex(async (index, pool) => {
  for (let i = 0; i < 5; i++) index.append(txn(i)); // markers 105, 115, 125, 135, 145
  await index.writePending(pool, Number.MAX_SAFE_INTEGER);
  index.append(txn(5)); // pending: 155
  const middle = await index.collect(pool, 116, 130);
  assert.deepEqual(middle.abortedTransactions, [txn(2)], 'lastOffset ≥ fetchOffset and firstOffset < upperBound');
  assert.equal(middle.complete, true, 'txn 2 closed with LSO 126 < 130, txn 3 with LSO 136 ≥ 130');
  const tail = await index.collect(pool, 150, 1000);
  assert.deepEqual(tail.abortedTransactions, [txn(5)]);
  assert.equal(tail.complete, false, 'a later segment may still abort a transaction overlapping the range');
}));

test('collect binary-searches a large file and reads it forward from there', () => withIndex(async (index, pool) => {
  const count = 20_000;
  for (let i = 0; i < count; i++) index.append(txn(i));
  await index.writePending(pool, Number.MAX_SAFE_INTEGER);
  assert.equal(index.pendingCount, 0);
  for (const i of [0, 1, 1926, 1927, 9_999, 19_999]) {
    const found = await index.collect(pool, txn(i).firstOffset, txn(i).lastOffset + 1);
    assert.deepEqual(found.abortedTransactions, [txn(i)], `entry ${i}`);
    assert.equal(found.complete, true);
  }
  // A long-running transaction of another producer held the LSO low: the scan runs to the end.
  const low = await index.collect(pool, txn(19_990).firstOffset, 10_000_000);
  assert.equal(low.abortedTransactions.length, 10);
  assert.equal(low.complete, false);
}));

test('truncateTo drops entries whose marker is at or after the offset, written or pending', () => withIndex(async (index, pool, path) => {
  for (let i = 0; i < 4; i++) index.append(txn(i));
  await index.writePending(pool, 126); // 105, 115, 125 written; 135 pending
  await index.truncateTo(pool, 125);
  assert.equal(statSync(path).size, 2 * ABORTED_TXN_BYTES);
  assert.deepEqual((await index.collect(pool, 0, 1000)).abortedTransactions, [txn(0), txn(1)]);
  assert.equal(await index.lastOffset(pool), txn(1).lastOffset);
  index.append(txn(2)); // appending after the cut point is allowed again
}));

test('recover after a crash keeps the sane prefix: a torn entry, a page of zeros, or a marker past the log end is cut', () => withIndex(async (_index, pool, path) => {
  writeFileSync(path, encodeAbortedTxns([txn(0), txn(1), txn(2)]));
  appendFileSync(path, encodeAbortedTxns([txn(3)]).subarray(0, 20)); // torn append
  let index = new TransactionIndex(path, 100, true);
  assert.equal(await index.recover(pool, 1000), 20);
  assert.equal(statSync(path).size, 3 * ABORTED_TXN_BYTES);
  assert.equal(await index.lastOffset(pool), txn(2).lastOffset);

  appendFileSync(path, Buffer.alloc(2 * ABORTED_TXN_BYTES)); // zeros a crash left behind
  index = new TransactionIndex(path, 100, true);
  assert.equal(await index.recover(pool, 1000), 2 * ABORTED_TXN_BYTES);

  index = new TransactionIndex(path, 100, true);
  assert.equal(await index.recover(pool, txn(2).lastOffset), ABORTED_TXN_BYTES, 'recovery cut the log below the third marker');
  assert.deepEqual((await index.collect(pool, 0, 1000)).abortedTransactions, [txn(0), txn(1)]);
  assert.deepEqual(readFileSync(path), encodeAbortedTxns([txn(0), txn(1)]));
}));

test('validEntriesBytes rejects entries out of order, outside the segment or covering no record', () => {
  const base = 100;
  assert.equal(validEntriesBytes(encodeAbortedTxns([txn(1), txn(0)]), base, 1000), ABORTED_TXN_BYTES);
  assert.equal(validEntriesBytes(encodeAbortedTxns([{ ...txn(0), lastOffset: 99 }]), base, 1000), 0);
  assert.equal(validEntriesBytes(encodeAbortedTxns([{ ...txn(0), firstOffset: 105 }]), base, 1000), 0);
  const badVersion = encodeAbortedTxns([txn(0)]);
  badVersion.writeInt16BE(1, 0);
  assert.equal(validEntriesBytes(badVersion, base, 1000), 0);
  // A transaction may start in an earlier segment: firstOffset below the base is fine.
  assert.equal(validEntriesBytes(encodeAbortedTxns([{ ...txn(0), firstOffset: 3 }]), base, 1000), ABORTED_TXN_BYTES);
});

test('delete removes the file and forgets every entry', () => withIndex(async (index, pool, path) => {
  index.append(txn(0));
  await index.writePending(pool, Number.MAX_SAFE_INTEGER);
  index.append(txn(1));
  await index.delete(pool);
  assert.equal(existsSync(path), false);
  assert.equal(index.isEmpty(), true);
  assert.deepEqual((await index.collect(pool, 0, 1000)).abortedTransactions, []);
}));
