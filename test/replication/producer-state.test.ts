import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ErrorCode } from '../../src/protocol/errors.js';
import type { RecordBatchHeader } from '../../src/protocol/record-batch.js';
import {
  NUM_BATCHES_TO_RETAIN, ProducerStateManager, SnapshotFormatError, incrementSequence, lastSequence,
} from '../../src/replication/producer-state.js';
import type { ProducerBatchCheck } from '../../src/replication/types.js';

const INT32_MAX = 0x7fffffff;
const T0 = 1_700_000_000_000;

function header(producerId: number, producerEpoch: number, baseSequence: number, records = 1, fields: Partial<RecordBatchHeader> = {}): RecordBatchHeader {
  return {
    baseOffset: 0, lastOffset: records - 1, sizeInBytes: 100, partitionLeaderEpoch: 0, magic: 2, crc: 0, attributes: 0,
    lastOffsetDelta: records - 1, baseTimestamp: T0, maxTimestamp: T0, producerId, producerEpoch, baseSequence,
    recordsCount: records, compression: 0, timestampType: 'CreateTime', isTransactional: false, isControl: false, ...fields,
  };
}

/** Checks then appends like the Produce path; returns the verdict. The log end is tracked by `log`. */
function produce(state: ProducerStateManager, log: { end: number }, h: RecordBatchHeader, logAppendTimeMs = -1): ProducerBatchCheck {
  const verdict = state.checkBatch(h);
  if (verdict.kind === 'append') {
    const base = log.end;
    log.end += h.lastOffsetDelta + 1;
    state.onAppend(h, base, log.end - 1, logAppendTimeMs);
  }
  return verdict;
}

function errorCode(verdict: ProducerBatchCheck): number {
  return verdict.kind === 'error' ? verdict.errorCode : -1;
}

test('an unknown producer is accepted with any sequence (KIP-360: no UNKNOWN_PRODUCER_ID from the broker)', () => {
  const state = new ProducerStateManager();
  assert.equal(state.checkBatch(header(1, 0, 0)).kind, 'append');
  assert.equal(state.checkBatch(header(1, 0, 42)).kind, 'append');
  assert.equal(state.checkBatch(header(1, 3, 1000)).kind, 'append');
});

test('in-order batches append; each of the last 5 is a duplicate answered with its original offsets', () => {
  const state = new ProducerStateManager();
  const log = { end: 0 };
  const sent: Array<{ h: RecordBatchHeader; base: number; last: number }> = [];
  for (let i = 0; i < NUM_BATCHES_TO_RETAIN; i++) {
    const h = header(7, 0, i * 3, 3, { maxTimestamp: T0 + i });
    const base = log.end;
    assert.equal(produce(state, log, h).kind, 'append');
    sent.push({ h, base, last: log.end - 1 });
  }
  for (const [i, { h, base, last }] of sent.entries()) {
    const verdict = state.checkBatch(h);
    assert.deepEqual(verdict, { kind: 'duplicate', baseOffset: base, lastOffset: last, logAppendTimeMs: T0 + i });
  }
  assert.equal(log.end, 15);
});

test('a retry older than the last 5 batches is OUT_OF_ORDER_SEQUENCE_NUMBER, as Kafka', () => {
  const state = new ProducerStateManager();
  const log = { end: 0 };
  for (let i = 0; i < 6; i++) produce(state, log, header(7, 0, i));
  assert.equal(errorCode(state.checkBatch(header(7, 0, 0))), ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER);
  assert.equal(state.checkBatch(header(7, 0, 1)).kind, 'duplicate');
});

test('a sequence gap, or a range overlapping a retained batch without matching it, is OUT_OF_ORDER_SEQUENCE_NUMBER', () => {
  const state = new ProducerStateManager();
  const log = { end: 0 };
  produce(state, log, header(7, 0, 0, 5));
  const gap = state.checkBatch(header(7, 0, 6));
  assert.equal(errorCode(gap), ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER);
  assert.match(gap.kind === 'error' ? gap.errorMessage ?? '' : '', /6 \(incoming seq\. number\), 4 \(current end sequence number\)/);
  assert.equal(errorCode(state.checkBatch(header(7, 0, 0, 3))), ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER);
  assert.equal(errorCode(state.checkBatch(header(7, 0, 4, 1))), ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER);
  assert.equal(state.checkBatch(header(7, 0, 5)).kind, 'append');
});

test('an older epoch is INVALID_PRODUCER_EPOCH, even for a retained duplicate of that epoch', () => {
  const state = new ProducerStateManager();
  const log = { end: 0 };
  produce(state, log, header(7, 0, 0));
  produce(state, log, header(7, 1, 0));
  assert.equal(errorCode(state.checkBatch(header(7, 0, 1))), ErrorCode.INVALID_PRODUCER_EPOCH);
  assert.equal(errorCode(state.checkBatch(header(7, 0, 0))), ErrorCode.INVALID_PRODUCER_EPOCH);
});

test('an epoch bump must start at sequence 0 and resets the retained batches', () => {
  const state = new ProducerStateManager();
  const log = { end: 0 };
  produce(state, log, header(7, 0, 0));
  produce(state, log, header(7, 0, 1));
  assert.equal(errorCode(state.checkBatch(header(7, 1, 2))), ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER);
  assert.equal(produce(state, log, header(7, 1, 0)).kind, 'append');
  assert.equal(state.lastEntry(7)?.batches.length, 1);
  assert.equal(state.lastEntry(7)?.producerEpoch, 1);
  assert.equal(state.checkBatch(header(7, 1, 0)).kind, 'duplicate');
  assert.equal(state.checkBatch(header(7, 1, 1)).kind, 'append');
  // A client that bumps twice (the first bump's batch lost) still starts at 0.
  assert.equal(state.checkBatch(header(7, 3, 0)).kind, 'append');
});

test('sequences wrap from Int32 max to 0, within a batch and between batches', () => {
  assert.equal(incrementSequence(INT32_MAX, 1), 0);
  assert.equal(incrementSequence(INT32_MAX - 1, 3), 1);
  assert.equal(lastSequence(header(1, 0, INT32_MAX - 1, 4)), 1);
  const state = new ProducerStateManager();
  const log = { end: 0 };
  produce(state, log, header(7, 0, INT32_MAX - 2, 2));
  assert.equal(state.checkBatch(header(7, 0, INT32_MAX)).kind, 'append');
  produce(state, log, header(7, 0, INT32_MAX, 3));
  assert.equal(state.lastEntry(7)?.batches.at(-1)?.lastSeq, 1);
  assert.equal(state.checkBatch(header(7, 0, INT32_MAX, 3)).kind, 'duplicate');
  assert.equal(state.checkBatch(header(7, 0, 2)).kind, 'append');
  const last = new ProducerStateManager();
  produce(last, { end: 0 }, header(8, 0, INT32_MAX));
  assert.equal(last.checkBatch(header(8, 0, 0)).kind, 'append');
  assert.equal(errorCode(last.checkBatch(header(8, 0, 1))), ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER);
});

test('two in-flight batches of one producer are checked in order, each against the previous append', () => {
  const state = new ProducerStateManager();
  const log = { end: 0 };
  const first = header(7, 0, 0, 2);
  const second = header(7, 0, 2, 2);
  assert.equal(produce(state, log, first).kind, 'append');
  assert.equal(produce(state, log, second).kind, 'append');
  // Both retried (max.in.flight 5 after a lost response): both duplicates, nothing appended.
  assert.equal(produce(state, log, first).kind, 'duplicate');
  assert.equal(produce(state, log, second).kind, 'duplicate');
  assert.equal(log.end, 4);
  // The second alone before the first: out of order.
  const fresh = new ProducerStateManager();
  produce(fresh, { end: 0 }, header(9, 0, 0));
  assert.equal(errorCode(fresh.checkBatch(header(9, 0, 2))), ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER);
});

test('duplicates of a LogAppendTime batch answer its append time', () => {
  const state = new ProducerStateManager();
  produce(state, { end: 10 }, header(7, 0, 0), T0 + 999);
  assert.deepEqual(state.checkBatch(header(7, 0, 0)), { kind: 'duplicate', baseOffset: 10, lastOffset: 10, logAppendTimeMs: T0 + 999 });
});

test('producers idle for producer.id.expiration.ms (by their last batch timestamp) expire', () => {
  const state = new ProducerStateManager({ producerIdExpirationMs: 1000 });
  const log = { end: 0 };
  produce(state, log, header(1, 0, 0, 1, { maxTimestamp: T0 }));
  produce(state, log, header(2, 0, 0, 1, { maxTimestamp: T0 + 500 }));
  assert.equal(state.removeExpiredProducers(T0 + 999), 0);
  assert.equal(state.removeExpiredProducers(T0 + 1000), 1);
  assert.equal(state.lastEntry(1), undefined);
  assert.notEqual(state.lastEntry(2), undefined);
  // Expired: unknown again, so any sequence is accepted.
  assert.equal(state.checkBatch(header(1, 0, 17)).kind, 'append');
});

test('past producersMax the least recently appended producer is evicted', () => {
  const state = new ProducerStateManager({ producersMax: 3 });
  const log = { end: 0 };
  for (const id of [1, 2, 3]) produce(state, log, header(id, 0, 0));
  produce(state, log, header(1, 0, 1));
  produce(state, log, header(4, 0, 0));
  assert.equal(state.producerCount, 3);
  assert.equal(state.lastEntry(2), undefined);
  assert.deepEqual([...state.activeProducers()].map((e) => e.producerId), [3, 1, 4]);
});

test('snapshots round-trip every retained batch; expired producers are skipped; malformed ones throw', () => {
  const state = new ProducerStateManager({ producerIdExpirationMs: 10_000 });
  const log = { end: 0 };
  for (let i = 0; i < 7; i++) produce(state, log, header(5, 2, i * 2, 2, { maxTimestamp: T0 + i }));
  produce(state, log, header(2 ** 40, 0, 0, 1, { maxTimestamp: T0 - 20_000 }));
  const data = state.serialize();
  const loaded = new ProducerStateManager({ producerIdExpirationMs: 10_000 });
  loaded.load(data, T0);
  assert.equal(loaded.producerCount, 1);
  assert.deepEqual(loaded.lastEntry(5), state.lastEntry(5));
  for (let i = 2; i < 7; i++) assert.equal(loaded.checkBatch(header(5, 2, i * 2, 2)).kind, 'duplicate');
  const all = new ProducerStateManager({ producerIdExpirationMs: 10_000 });
  all.load(data, T0 - 20_000);
  assert.equal(all.lastEntry(2 ** 40)?.producerEpoch, 0);
  assert.throws(() => loaded.load(data.subarray(0, data.length - 1), T0), SnapshotFormatError);
  assert.equal(loaded.producerCount, 0);
  const badVersion = Buffer.from(data);
  badVersion.writeUInt16BE(9, 0);
  assert.throws(() => loaded.load(badVersion, T0), SnapshotFormatError);
});

test('replay (rebuild from the log) takes batches unchecked and ignores control and producer-less batches', () => {
  const state = new ProducerStateManager();
  state.replay(header(3, 0, 5, 2, { baseOffset: 100, lastOffset: 101 }));
  state.replay(header(3, 0, 9, 1, { baseOffset: 102, lastOffset: 102 }));
  state.replay(header(4, 0, 0, 1, { isControl: true }));
  state.replay(header(-1, -1, -1, 1));
  assert.equal(state.producerCount, 1);
  assert.deepEqual(state.checkBatch(header(3, 0, 5, 2)), { kind: 'duplicate', baseOffset: 100, lastOffset: 101, logAppendTimeMs: T0 });
  assert.equal(state.checkBatch(header(3, 0, 10)).kind, 'append');
});
