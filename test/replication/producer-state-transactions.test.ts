import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ErrorCode } from '../../src/protocol/errors.js';
import type { RecordBatchHeader } from '../../src/protocol/record-batch.js';
import { ProducerStateManager } from '../../src/replication/producer-state.js';

const T0 = 1_700_000_000_000;

function header(producerId: number, producerEpoch: number, baseSequence: number, records = 1, fields: Partial<RecordBatchHeader> = {}): RecordBatchHeader {
  return {
    baseOffset: 0, lastOffset: records - 1, sizeInBytes: 100, partitionLeaderEpoch: 0, magic: 2, crc: 0, attributes: 0,
    lastOffsetDelta: records - 1, baseTimestamp: T0, maxTimestamp: T0, producerId, producerEpoch, baseSequence,
    recordsCount: records, compression: 0, timestampType: 'CreateTime', isTransactional: false, isControl: false, ...fields,
  };
}

/** A tiny log: appends data batches and markers at increasing offsets. */
class Log {
  end = 0;
  constructor(readonly state: ProducerStateManager) {}

  data(producerId: number, epoch: number, seq: number, records: number, transactional = true): number {
    const h = header(producerId, epoch, seq, records, { isTransactional: transactional });
    const verdict = this.state.checkBatch(h);
    assert.equal(verdict.kind, 'append', JSON.stringify(verdict));
    const base = this.end;
    this.end += records;
    this.state.onAppend(h, base, this.end - 1, -1);
    return base;
  }

  marker(producerId: number, epoch: number, commit: boolean, coordinatorEpoch = 0): number {
    assert.equal(this.state.checkMarker(producerId, epoch, coordinatorEpoch).errorCode, ErrorCode.NONE);
    const offset = this.end++;
    this.state.onMarker(producerId, epoch, coordinatorEpoch, commit, offset, T0);
    return offset;
  }
}

test('an open transaction holds the last stable offset at its first offset until its marker is under the high watermark', () => {
  const log = new Log(new ProducerStateManager());
  log.data(9, 0, 0, 3, false); // idempotent, not transactional: offsets 0-2
  const first = log.data(1, 0, 0, 2); // 3-4
  log.data(2, 0, 0, 1); // 5
  assert.equal(first, 3);
  assert.equal(log.state.lastStableOffset(log.end), 3);
  assert.equal(log.state.lastStableOffset(2), 2, 'never above the high watermark');
  const marker = log.marker(1, 0, true); // 6
  assert.equal(log.state.lastStableOffset(6), 3, 'marker not under the high watermark yet');
  assert.equal(log.state.lastStableOffset(7), 5, 'producer 2 is still open at 5');
  log.marker(2, 0, false); // 7
  assert.equal(log.state.lastStableOffset(8), 8);
  assert.equal(marker, 6);
});

test('a marker returns the transaction it closed, and lastStableOffsetAfter is the LSO its index entry records', () => {
  const state = new ProducerStateManager();
  const log = new Log(state);
  log.data(1, 0, 0, 2); // 0-1
  log.data(2, 0, 0, 2); // 2-3
  const aborted = state.onMarker(1, 0, 0, false, log.end++, T0); // 4: abort [0, 4]
  assert.deepEqual(aborted, { producerId: 1, firstOffset: 0, lastOffset: 4 });
  // ProducerStateManager.lastStableOffset(completedTxn): producer 2's transaction is still open at 2.
  assert.equal(state.lastStableOffsetAfter(aborted), 2);
  log.marker(2, 0, true); // 5: commit
  log.data(1, 0, 2, 1); // 6
  const second = state.onMarker(1, 0, 0, false, log.end++, T0); // 7: abort [6, 7]
  assert.deepEqual(second, { producerId: 1, firstOffset: 6, lastOffset: 7 });
  assert.equal(state.lastStableOffsetAfter(second), 8, 'nothing open: the offset after the marker');
  assert.equal(state.onMarker(1, 0, 0, false, log.end++, T0), undefined, 'an abort with nothing open closes nothing');
});

test('a non-transactional batch while the producer has a transaction open is INVALID_TXN_STATE', () => {
  const log = new Log(new ProducerStateManager());
  log.data(1, 0, 0, 1);
  const verdict = log.state.checkBatch(header(1, 0, 1, 1));
  assert.equal(verdict.kind === 'error' && verdict.errorCode, ErrorCode.INVALID_TXN_STATE);
  log.marker(1, 0, true);
  assert.equal(log.state.checkBatch(header(1, 0, 1, 1)).kind, 'append');
});

test('markers from an older producer epoch or coordinator epoch are fenced', () => {
  const log = new Log(new ProducerStateManager());
  log.data(1, 3, 0, 1);
  assert.equal(log.state.checkMarker(1, 2, 0).errorCode, ErrorCode.INVALID_PRODUCER_EPOCH);
  log.marker(1, 4, false, 5); // a fencing abort carries a bumped epoch
  assert.equal(log.state.lastEntry(1)?.producerEpoch, 4);
  assert.equal(log.state.checkMarker(1, 4, 4).errorCode, ErrorCode.TRANSACTION_COORDINATOR_FENCED);
  assert.equal(log.state.checkMarker(1, 4, 5).errorCode, ErrorCode.NONE);
  assert.equal(log.state.checkBatch(header(1, 3, 1, 1, { isTransactional: true })).kind, 'error', 'the zombie epoch is refused');
});

test('hasOngoingTransaction is true only for the open epoch', () => {
  const log = new Log(new ProducerStateManager());
  assert.equal(log.state.hasOngoingTransaction(1, 0), false);
  log.data(1, 0, 0, 1);
  assert.equal(log.state.hasOngoingTransaction(1, 0), true);
  assert.equal(log.state.hasOngoingTransaction(1, 1), false);
  log.marker(1, 0, true);
  assert.equal(log.state.hasOngoingTransaction(1, 0), false);
});

test('a snapshot carries open transactions (not the aborted ones); versions 1 and 2 still load', () => {
  const log = new Log(new ProducerStateManager());
  log.data(1, 0, 0, 2); // 0-1
  log.marker(1, 0, false); // 2
  log.data(2, 1, 0, 1); // 3: open
  const restored = new ProducerStateManager();
  const v3 = log.state.serialize();
  assert.equal(v3.readUInt16BE(0), 3);
  assert.deepEqual(restored.load(v3, T0), [], 'version 3 keeps no aborted transactions (they are in the .txnindex files)');
  assert.equal(restored.lastStableOffset(10), 3);
  assert.equal(restored.hasOngoingTransaction(2, 1), true);
  assert.equal(restored.lastEntry(1)?.coordinatorEpoch, 0);

  // Version 2 = version 3's bytes followed by the aborted list: load hands it back to be indexed.
  const aborted = Buffer.alloc(4 + 24);
  aborted.writeUInt32BE(1, 0);
  aborted.writeBigInt64BE(1n, 4);
  aborted.writeBigInt64BE(0n, 12);
  aborted.writeBigInt64BE(2n, 20);
  const v2 = Buffer.concat([v3, aborted]);
  v2.writeUInt16BE(2, 0);
  const fromV2 = new ProducerStateManager();
  assert.deepEqual(fromV2.load(v2, T0), [{ producerId: 1, firstOffset: 0, lastOffset: 2 }]);
  assert.equal(fromV2.hasOngoingTransaction(2, 1), true);

  const v1 = Buffer.alloc(6 + 19);
  v1.writeUInt16BE(1, 0);
  v1.writeUInt32BE(1, 2);
  v1.writeInt32BE(0, 6);
  v1.writeInt32BE(7, 10); // producer id 7
  v1.writeInt16BE(2, 14);
  v1.writeInt32BE(0, 16);
  v1.writeUInt32BE(T0 % 2 ** 32, 20);
  v1.writeInt32BE(Math.floor(T0 / 2 ** 32), 16);
  v1.writeUInt8(0, 24);
  const old = new ProducerStateManager();
  old.load(v1, T0);
  assert.equal(old.lastEntry(7)?.producerEpoch, 2);
  assert.equal(old.lastEntry(7)?.currentTxnFirstOffset, -1);
});

test('a producer with an open transaction never expires', () => {
  const log = new Log(new ProducerStateManager({ producerIdExpirationMs: 1000 }));
  log.data(1, 0, 0, 1);
  log.data(2, 0, 0, 1, false);
  assert.equal(log.state.removeExpiredProducers(T0 + 5000), 1);
  assert.ok(log.state.lastEntry(1) !== undefined);
  assert.equal(log.state.lastStableOffset(10), 0);
});

test('replay of a log rebuilds the same transactions as the appends made', () => {
  const log = new Log(new ProducerStateManager());
  log.data(1, 0, 0, 2); // 0-1
  log.marker(1, 0, false); // 2
  log.data(2, 0, 0, 1); // 3
  const rebuilt = new ProducerStateManager();
  assert.equal(rebuilt.replay(header(1, 0, 0, 2, { baseOffset: 0, lastOffset: 1, isTransactional: true })), undefined);
  const closed = rebuilt.replay(header(1, 0, -1, 1, { baseOffset: 2, lastOffset: 2, isTransactional: true, isControl: true }), { commit: false, coordinatorEpoch: 0 });
  assert.deepEqual(closed, { producerId: 1, firstOffset: 0, lastOffset: 2 });
  rebuilt.replay(header(2, 0, 0, 1, { baseOffset: 3, lastOffset: 3, isTransactional: true }));
  assert.equal(rebuilt.lastStableOffset(10), log.state.lastStableOffset(10));
});

test('a verification guard (KIP-890, remote coordinator) holds until a marker for the producer or its first transactional batch', () => {
  const state = new ProducerStateManager();
  const guard = state.beginVerification(7, 0);
  assert.equal(state.verificationHolds(guard), true);
  // A marker lands while the coordinator is asked: what was verified has ended.
  state.onMarker(7, 0, 1, false, 10, T0);
  assert.equal(state.verificationHolds(guard), false);
  const again = state.beginVerification(7, 0);
  // Regression (Kafka Streams on 3 nodes died with InvalidTxnStateException): a second request of the
  // same producer epoch in flight shares the guard instead of voiding the first one's.
  assert.equal(state.beginVerification(7, 0), again);
  assert.equal(state.verificationHolds(again), true);
  state.onAppend(header(7, 0, 0, 1, { isTransactional: true }), 11, 11, -1);
  assert.equal(state.verificationHolds(again), false, 'the transaction is open: the guard is spent');
  assert.equal(state.hasOngoingTransaction(7, 0), true);
  const older = state.beginVerification(8, 0);
  const newer = state.beginVerification(8, 1);
  assert.equal(state.verificationHolds(older), false, 'a newer epoch replaces the guard');
  state.clear();
  assert.equal(state.verificationHolds(newer), false);
});

test('transactions v2 markers (KIP-1228): taken only above the producer\'s epoch; the next transaction starts at the marker\'s epoch from sequence 0', () => {
  const log = new Log(new ProducerStateManager());
  log.data(1, 5, 0, 2); // transaction at epoch 5
  // The v2 end bumped the epoch to 6: the marker carries it.
  assert.equal(log.state.checkMarker(1, 5, 0, 2).errorCode, ErrorCode.INVALID_PRODUCER_EPOCH, 'a v2 marker at the data\'s epoch');
  assert.equal(log.state.checkMarker(1, 6, 0, 2).errorCode, ErrorCode.NONE);
  log.state.onMarker(1, 6, 0, true, log.end++, T0);
  // A retry of the same marker is refused (the coordinator counts that as written); a v1 marker is not.
  assert.equal(log.state.checkMarker(1, 6, 0, 2).errorCode, ErrorCode.INVALID_PRODUCER_EPOCH);
  assert.equal(log.state.checkMarker(1, 6, 0, 0).errorCode, ErrorCode.NONE);
  // A late batch of the ended transaction is fenced; the next transaction runs at 6 from sequence 0.
  const late = log.state.checkBatch(header(1, 5, 2, 1, { isTransactional: true }));
  assert.equal(late.kind === 'error' && late.errorCode, ErrorCode.INVALID_PRODUCER_EPOCH);
  log.data(1, 6, 0, 1);
  assert.equal(log.state.hasOngoingTransaction(1, 6), true);
  // The previous transaction's marker arriving now would close the new one: refused.
  assert.equal(log.state.checkMarker(1, 6, 0, 2).errorCode, ErrorCode.INVALID_PRODUCER_EPOCH);
  assert.equal(log.state.checkMarker(1, 7, 0, 2).errorCode, ErrorCode.NONE);
});
