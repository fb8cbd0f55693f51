/**
 * The transaction coordinator's state machine (src/txn/coordinator.ts) with a fake clock: every state,
 * transition and error Kafka's TransactionCoordinator answers, driven without IO (appends and markers
 * are completed by hand).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../../src/common/clock.js';
import { ErrorCode } from '../../src/protocol/errors.js';
import { TxnCoordinatorCore, type TxnOutput, type InitProducerIdResult, type EndTxnResult } from '../../src/txn/coordinator.js';
import { decodeTransactionLogKey, decodeTransactionLogValue, encodeTransactionLogKey, encodeTransactionLogValue } from '../../src/txn/records.js';

const T0 = 1_700_000_000_000;
const ID = 'app-1';

class Harness {
  readonly clock = new ManualClock(T0);
  readonly core: TxnCoordinatorCore;
  /** What was written to __transaction_state, in order. */
  readonly log: { key: Buffer; value: Buffer | null }[] = [];
  readonly markers: Extract<TxnOutput, { kind: 'markers' }>[] = [];
  /** Appends are completed at once with this code (NONE: durable). */
  appendResult: number = ErrorCode.NONE;
  holdAppends = false;
  readonly held: number[] = [];
  nextProducerId = 1000;

  constructor(config: ConstructorParameters<typeof TxnCoordinatorCore>[0]['config'] = {}, transactionVersionLevel?: () => number) {
    this.core = new TxnCoordinatorCore({ clock: this.clock, config: { transactionStateLogNumPartitions: 1, ...config }, transactionVersionLevel });
    this.core.beginLoad(0, 7);
    this.core.completeLoad(0);
  }

  drive(): void {
    for (let round = 0; round < 100; round++) {
      const outputs = this.core.drainOutputs();
      if (outputs.length === 0) return;
      for (const o of outputs) {
        if (o.kind === 'markers') {
          this.markers.push(o);
          continue;
        }
        if (this.holdAppends) {
          this.held.push(o.appendId);
          continue;
        }
        if (this.appendResult === ErrorCode.NONE) this.log.push({ key: o.key, value: o.value });
        this.core.completeAppend(o.appendId, this.appendResult);
      }
    }
    throw new Error('core does not settle');
  }

  init(timeoutMs = 60_000, producerId = -1, producerEpoch = -1): InitProducerIdResult {
    let result: InitProducerIdResult | undefined;
    const fresh = this.core.needsNewProducerId(ID) ? this.nextProducerId++ : undefined;
    this.core.initProducerId({ transactionalId: ID, transactionTimeoutMs: timeoutMs, producerId, producerEpoch }, fresh, (r) => { result = r; });
    this.drive();
    assert.ok(result, 'InitProducerId answered');
    return result;
  }

  add(producerId: number, producerEpoch: number, partitions = [{ topic: 't', partition: 0 }]): number | undefined {
    let result: number | undefined;
    this.core.addPartitions({ transactionalId: ID, producerId, producerEpoch }, partitions, (r) => { result = r; });
    this.drive();
    return result;
  }

  end(producerId: number, producerEpoch: number, commit: boolean): number | undefined {
    let result: number | undefined;
    this.core.endTxn({ transactionalId: ID, producerId, producerEpoch }, commit, (r) => { result = r; });
    this.drive();
    return result;
  }

  /** Completes every marker output so far. */
  markersWritten(): void {
    for (const m of this.markers.splice(0)) this.core.completeMarkers(m.markerId);
    this.drive();
  }

  get state(): string | undefined {
    return this.core.inspect(ID)?.state;
  }
}

test('InitProducerId: a new id gets a fresh producer id at epoch 0; later calls bump the epoch', () => {
  const h = new Harness();
  assert.deepEqual(h.init(), { errorCode: ErrorCode.NONE, producerId: 1000, producerEpoch: 0 });
  assert.equal(h.state, 'Empty');
  assert.deepEqual(h.init(), { errorCode: ErrorCode.NONE, producerId: 1000, producerEpoch: 1 });
  const last = h.log.at(-1);
  assert.ok(last);
  assert.equal(decodeTransactionLogKey(last.key), ID);
  const value = decodeTransactionLogValue(last.value as Buffer);
  assert.deepEqual([value.producerId, value.producerEpoch, value.state, value.transactionTimeoutMs], [1000, 1, 'Empty', 60_000]);
});

test('InitProducerId errors: INVALID_REQUEST, INVALID_TRANSACTION_TIMEOUT, NOT_COORDINATOR, COORDINATOR_LOAD_IN_PROGRESS', () => {
  const h = new Harness({ transactionMaxTimeoutMs: 1000 });
  let result: InitProducerIdResult | undefined;
  h.core.initProducerId({ transactionalId: '', transactionTimeoutMs: 100, producerId: -1, producerEpoch: -1 }, 1, (r) => { result = r; });
  assert.equal(result?.errorCode, ErrorCode.INVALID_REQUEST);
  assert.equal(h.init(1001).errorCode, ErrorCode.INVALID_TRANSACTION_TIMEOUT);
  assert.equal(h.init(0).errorCode, ErrorCode.INVALID_TRANSACTION_TIMEOUT);
  h.core.unload(0);
  assert.equal(h.init(500).errorCode, ErrorCode.NOT_COORDINATOR);
  h.core.beginLoad(0, 8);
  assert.equal(h.init(500).errorCode, ErrorCode.COORDINATOR_LOAD_IN_PROGRESS);
  h.core.completeLoad(0);
  assert.equal(h.init(500).errorCode, ErrorCode.NONE);
});

test('KIP-360: the current producer bumps, a retry of the last bump gets the same epoch, anyone else is PRODUCER_FENCED', () => {
  const h = new Harness();
  const first = h.init();
  const second = h.init(60_000, first.producerId, first.producerEpoch);
  assert.deepEqual([second.errorCode, second.producerEpoch], [ErrorCode.NONE, 1]);
  const retry = h.init(60_000, first.producerId, first.producerEpoch);
  assert.deepEqual([retry.errorCode, retry.producerEpoch], [ErrorCode.NONE, 1]);
  assert.equal(h.init(60_000, first.producerId, 5).errorCode, ErrorCode.PRODUCER_FENCED);
  assert.equal(h.init(60_000, 42, 1).errorCode, ErrorCode.PRODUCER_FENCED);
});

test('an exhausted epoch moves the id to a new producer id at epoch 0', () => {
  const h = new Harness();
  const first = h.init();
  // Rewrite history: load a state whose epoch is one below Short.MAX_VALUE.
  h.core.unload(0);
  h.core.beginLoad(0, 8);
  h.core.replay(0, encodeTransactionLogKey(ID), encodeTransactionLogValue({
    producerId: first.producerId, producerEpoch: 32766, transactionTimeoutMs: 60_000, state: 'CompleteCommit',
    partitions: new Map(), lastUpdateTimestampMs: T0, startTimestampMs: T0, previousProducerId: -1, nextProducerId: -1, clientTransactionVersion: 0,
  }));
  h.core.completeLoad(0);
  const next = h.init();
  assert.deepEqual([next.errorCode, next.producerEpoch], [ErrorCode.NONE, 0]);
  assert.notEqual(next.producerId, first.producerId);
});

test('AddPartitionsToTxn: unknown id or producer → INVALID_PRODUCER_ID_MAPPING, old epoch → PRODUCER_FENCED, else Ongoing', () => {
  const h = new Harness();
  assert.equal(h.add(1, 0), ErrorCode.INVALID_PRODUCER_ID_MAPPING);
  const { producerId } = h.init();
  assert.equal(h.add(producerId + 1, 0), ErrorCode.INVALID_PRODUCER_ID_MAPPING);
  assert.equal(h.add(producerId, 1), ErrorCode.PRODUCER_FENCED);
  h.clock.advance(5);
  assert.equal(h.add(producerId, 0), ErrorCode.NONE);
  assert.equal(h.state, 'Ongoing');
  const writes = h.log.length;
  assert.equal(h.add(producerId, 0), ErrorCode.NONE, 'already in the transaction');
  assert.equal(h.log.length, writes, 'nothing written for partitions already there');
  assert.equal(h.add(producerId, 0, [{ topic: 't', partition: 1 }, { topic: 'u', partition: 0 }]), ErrorCode.NONE);
  assert.deepEqual(h.core.describe([ID])[0]?.topics, [{ topic: 't', partitions: [0, 1] }, { topic: 'u', partitions: [0] }]);
  assert.equal(h.core.describe([ID])[0]?.startTimestampMs, T0 + 5, 'the start is when the first partition joined');
});

test('a transition in flight makes other requests of the id CONCURRENT_TRANSACTIONS', () => {
  const h = new Harness();
  const { producerId } = h.init();
  h.holdAppends = true;
  assert.equal(h.add(producerId, 0), undefined, 'waits for its append');
  assert.equal(h.add(producerId, 0, [{ topic: 'x', partition: 0 }]), ErrorCode.CONCURRENT_TRANSACTIONS);
  assert.equal(h.end(producerId, 0, true), ErrorCode.CONCURRENT_TRANSACTIONS);
  assert.equal(h.init().errorCode, ErrorCode.CONCURRENT_TRANSACTIONS);
  h.holdAppends = false;
  for (const id of h.held.splice(0)) h.core.completeAppend(id, ErrorCode.NONE);
  assert.equal(h.state, 'Ongoing');
});

test('EndTxn commit: PrepareCommit answered when durable, markers to every partition at the coordinator epoch, then CompleteCommit', () => {
  const h = new Harness();
  const { producerId } = h.init();
  h.add(producerId, 0, [{ topic: 't', partition: 0 }, { topic: 't', partition: 2 }]);
  assert.equal(h.end(producerId, 0, true), ErrorCode.NONE);
  assert.equal(h.state, 'PrepareCommit');
  assert.equal(h.markers.length, 1);
  const marker = h.markers[0];
  assert.deepEqual([marker?.commit, marker?.producerId, marker?.producerEpoch, marker?.coordinatorEpoch], [true, producerId, 0, 7]);
  assert.deepEqual(marker?.partitions, [{ topic: 't', partition: 0 }, { topic: 't', partition: 2 }]);
  // While markers are out: the same outcome is CONCURRENT_TRANSACTIONS, the other INVALID_TXN_STATE.
  assert.equal(h.end(producerId, 0, true), ErrorCode.CONCURRENT_TRANSACTIONS);
  assert.equal(h.end(producerId, 0, false), ErrorCode.INVALID_TXN_STATE);
  assert.equal(h.add(producerId, 0), ErrorCode.CONCURRENT_TRANSACTIONS);
  h.markersWritten();
  assert.equal(h.state, 'CompleteCommit');
  assert.deepEqual(h.core.describe([ID])[0]?.topics, []);
  assert.equal(h.end(producerId, 0, true), ErrorCode.NONE, 'a retried commit');
  assert.equal(h.end(producerId, 0, false), ErrorCode.INVALID_TXN_STATE);
  assert.equal(h.add(producerId, 0), ErrorCode.NONE, 'the next transaction begins');
});

test('EndTxn abort, and EndTxn with no transaction is INVALID_TXN_STATE', () => {
  const h = new Harness();
  const { producerId } = h.init();
  assert.equal(h.end(producerId, 0, false), ErrorCode.INVALID_TXN_STATE);
  assert.equal(h.end(producerId, 0, true), ErrorCode.INVALID_TXN_STATE);
  h.add(producerId, 0);
  assert.equal(h.end(producerId, 1, false), ErrorCode.PRODUCER_FENCED);
  assert.equal(h.end(producerId, 0, false), ErrorCode.NONE);
  assert.equal(h.state, 'PrepareAbort');
  assert.equal(h.end(producerId, 0, false), ErrorCode.CONCURRENT_TRANSACTIONS);
  assert.equal(h.end(producerId, 0, true), ErrorCode.INVALID_TXN_STATE);
  h.markersWritten();
  assert.equal(h.state, 'CompleteAbort');
  assert.equal(h.end(producerId, 0, false), ErrorCode.NONE);
  assert.equal(h.end(producerId, 0, true), ErrorCode.INVALID_TXN_STATE);
});

test('InitProducerId during an ongoing transaction fences it: aborted with a bumped epoch, CONCURRENT_TRANSACTIONS until complete', () => {
  const h = new Harness();
  const { producerId } = h.init();
  h.add(producerId, 0);
  assert.equal(h.init().errorCode, ErrorCode.CONCURRENT_TRANSACTIONS);
  assert.equal(h.state, 'PrepareAbort');
  assert.deepEqual([h.markers[0]?.commit, h.markers[0]?.producerEpoch], [false, 1], 'the abort marker carries the bumped epoch');
  assert.equal(h.add(producerId, 0), ErrorCode.PRODUCER_FENCED, 'the old producer is fenced');
  assert.equal(h.init().errorCode, ErrorCode.CONCURRENT_TRANSACTIONS, 'until the markers are written');
  h.markersWritten();
  assert.equal(h.state, 'CompleteAbort');
  assert.deepEqual(h.init(), { errorCode: ErrorCode.NONE, producerId, producerEpoch: 2 });
});

test('KIP-890 verification: NONE for partitions in the ongoing transaction, TRANSACTION_ABORTABLE otherwise', () => {
  const h = new Harness();
  const { producerId } = h.init();
  const identity = { transactionalId: ID, producerId, producerEpoch: 0 };
  const tp = [{ topic: 't', partition: 0 }, { topic: 't', partition: 1 }];
  assert.deepEqual(h.core.verifyPartitions(identity, tp), [ErrorCode.TRANSACTION_ABORTABLE, ErrorCode.TRANSACTION_ABORTABLE]);
  h.add(producerId, 0);
  assert.deepEqual(h.core.verifyPartitions(identity, tp), [ErrorCode.NONE, ErrorCode.TRANSACTION_ABORTABLE]);
  assert.deepEqual(h.core.verifyPartitions({ ...identity, producerEpoch: 3 }, tp), [ErrorCode.PRODUCER_FENCED, ErrorCode.PRODUCER_FENCED]);
  assert.deepEqual(h.core.verifyPartitions({ ...identity, producerId: 9 }, tp), [ErrorCode.INVALID_PRODUCER_ID_MAPPING, ErrorCode.INVALID_PRODUCER_ID_MAPPING]);
  h.end(producerId, 0, true);
  assert.deepEqual(h.core.verifyPartitions(identity, tp), [ErrorCode.CONCURRENT_TRANSACTIONS, ErrorCode.CONCURRENT_TRANSACTIONS]);
  h.markersWritten();
  // A late batch of the finished transaction must not open a new one (a hanging transaction).
  assert.deepEqual(h.core.verifyPartitions(identity, tp), [ErrorCode.TRANSACTION_ABORTABLE, ErrorCode.TRANSACTION_ABORTABLE]);
});

test('a transaction past its timeout is aborted with a bumped epoch at the next check', () => {
  const h = new Harness({ abortTimedOutTransactionsIntervalMs: 1000 });
  const { producerId } = h.init(5000);
  h.add(producerId, 0);
  h.clock.advance(4000);
  h.core.tick();
  h.drive();
  assert.equal(h.state, 'Ongoing');
  h.clock.advance(1000);
  h.core.tick();
  h.drive();
  assert.equal(h.state, 'PrepareAbort');
  assert.equal(h.markers[0]?.producerEpoch, 1);
  h.markersWritten();
  assert.equal(h.state, 'CompleteAbort');
  assert.equal(h.end(producerId, 0, true), ErrorCode.PRODUCER_FENCED, 'the timed-out producer is fenced');
});

test('markers that could not be written are retried at the next abort check', () => {
  const h = new Harness({ abortTimedOutTransactionsIntervalMs: 1000 });
  const { producerId } = h.init();
  h.add(producerId, 0);
  h.end(producerId, 0, true);
  const first = h.markers.splice(0)[0];
  assert.ok(first);
  h.core.failMarkers(first.markerId);
  h.clock.advance(1000);
  h.core.tick();
  h.drive();
  assert.equal(h.markers.length, 1, 'sent again');
  h.markersWritten();
  assert.equal(h.state, 'CompleteCommit');
});

test('an idle transactional id expires (tombstone); an ongoing one does not', () => {
  const h = new Harness({ removeExpiredTransactionalIdsIntervalMs: 1000, transactionalIdExpirationMs: 10_000, abortTimedOutTransactionsIntervalMs: 1_000_000 });
  h.init();
  h.clock.advance(10_000);
  h.core.tick();
  h.drive();
  assert.equal(h.core.inspect(ID), undefined);
  assert.equal(h.log.at(-1)?.value, null, 'a tombstone');
  assert.equal(h.core.describe([ID])[0]?.errorCode, ErrorCode.TRANSACTIONAL_ID_NOT_FOUND);
});

test('failed appends: NOT_LEADER_OR_FOLLOWER → NOT_COORDINATOR, NOT_ENOUGH_REPLICAS → COORDINATOR_NOT_AVAILABLE; a new id is forgotten', () => {
  const h = new Harness();
  h.appendResult = ErrorCode.NOT_LEADER_OR_FOLLOWER;
  assert.equal(h.init().errorCode, ErrorCode.NOT_COORDINATOR);
  assert.equal(h.core.inspect(ID), undefined);
  h.appendResult = ErrorCode.NONE;
  const { producerId } = h.init();
  h.appendResult = ErrorCode.NOT_ENOUGH_REPLICAS;
  assert.equal(h.add(producerId, 0), ErrorCode.COORDINATOR_NOT_AVAILABLE);
  assert.equal(h.state, 'Empty', 'memory follows the log: the write failed');
});

test('loading a partition restores every id; a PrepareCommit one gets its markers again', () => {
  const h = new Harness();
  const { producerId } = h.init();
  h.add(producerId, 0);
  h.end(producerId, 0, true);
  h.markers.length = 0; // the coordinator died before writing them
  const log = [...h.log];
  const reloaded = new Harness();
  reloaded.core.unload(0);
  reloaded.core.beginLoad(0, 9);
  for (const r of log) reloaded.core.replay(0, r.key, r.value);
  reloaded.core.completeLoad(0);
  reloaded.drive();
  assert.equal(reloaded.state, 'PrepareCommit');
  assert.equal(reloaded.markers.length, 1);
  assert.equal(reloaded.markers[0]?.coordinatorEpoch, 9, 'the new coordinator epoch');
  reloaded.markersWritten();
  assert.equal(reloaded.state, 'CompleteCommit');
});

test('ListTransactions filters by state, producer id and duration; unknown states are reported', () => {
  const h = new Harness();
  const { producerId } = h.init();
  h.add(producerId, 0);
  h.clock.advance(2000);
  assert.deepEqual(h.core.list([], [], -1).transactions, [{ transactionalId: ID, producerId, state: 'Ongoing' }]);
  assert.equal(h.core.list(['Empty'], [], -1).transactions.length, 0);
  assert.equal(h.core.list(['Ongoing'], [producerId + 1], -1).transactions.length, 0);
  assert.equal(h.core.list([], [], 1000).transactions.length, 1);
  assert.equal(h.core.list([], [], 3000).transactions.length, 0);
  assert.deepEqual(h.core.list(['Bogus', 'Ongoing'], [], -1).unknownStateFilters, ['Bogus']);
  h.core.beginLoad(0, 9);
  assert.equal(h.core.list([], [], -1).errorCode, ErrorCode.COORDINATOR_LOAD_IN_PROGRESS);
});

// ---------------------------------------------------------------- transactions v2 (KIP-890 part 2)

function endV2(h: Harness, producerId: number, producerEpoch: number, commit: boolean, freshProducerId?: number): EndTxnResult | undefined {
  let result: EndTxnResult | undefined;
  const fresh = freshProducerId ?? (h.core.needsProducerIdToEnd(ID, 2) ? h.nextProducerId++ : undefined);
  h.core.endTransaction({ transactionalId: ID, producerId, producerEpoch, commit, clientTransactionVersion: 2, freshProducerId: fresh }, (r) => { result = r; });
  h.drive();
  return result;
}

function addV2(h: Harness, producerId: number, producerEpoch: number, partitions = [{ topic: 't', partition: 0 }]): number | undefined {
  let result: number | undefined;
  h.core.addPartitions({ transactionalId: ID, producerId, producerEpoch }, partitions, (r) => { result = r; }, 2);
  h.drive();
  return result;
}

test('v2: every EndTxn bumps the epoch at prepare; markers carry it; the answer hands it to the next transaction', () => {
  const h = new Harness();
  const { producerId, producerEpoch } = h.init();
  assert.equal(addV2(h, producerId, producerEpoch), ErrorCode.NONE);
  assert.equal(h.core.inspect(ID)?.clientTransactionVersion, 2);
  const ended = endV2(h, producerId, producerEpoch, true);
  assert.deepEqual(ended, { errorCode: ErrorCode.NONE, producerId, producerEpoch: producerEpoch + 1 });
  assert.equal(h.state, 'PrepareCommit');
  const marker = h.markers[0];
  assert.ok(marker);
  assert.deepEqual([marker.producerEpoch, marker.commit, marker.transactionVersion], [producerEpoch + 1, true, 2]);
  h.markersWritten();
  assert.equal(h.state, 'CompleteCommit');
  // The next transaction runs at the bumped epoch; the old one is fenced.
  assert.equal(addV2(h, producerId, producerEpoch), ErrorCode.PRODUCER_FENCED);
  assert.equal(addV2(h, producerId, producerEpoch + 1), ErrorCode.NONE);
  const second = endV2(h, producerId, producerEpoch + 1, false);
  assert.deepEqual(second, { errorCode: ErrorCode.NONE, producerId, producerEpoch: producerEpoch + 2 });
  h.markersWritten();
  assert.equal(h.state, 'CompleteAbort');
  const reloaded = decodeTransactionLogValue(h.log.at(-1)?.value as Buffer);
  assert.deepEqual([reloaded.state, reloaded.producerEpoch, reloaded.clientTransactionVersion], ['CompleteAbort', producerEpoch + 2, 2]);
});

test('v2 retries: a retried EndTxn (epoch + 1 stored) gets NONE with the current id/epoch for the same outcome, INVALID_TXN_STATE for the other; Prepare* answers CONCURRENT_TRANSACTIONS', () => {
  const h = new Harness();
  const { producerId, producerEpoch: e } = h.init();
  addV2(h, producerId, e);
  endV2(h, producerId, e, true);
  // Markers not written yet: a retry sees PrepareCommit.
  assert.equal(endV2(h, producerId, e, true)?.errorCode, ErrorCode.CONCURRENT_TRANSACTIONS);
  assert.equal(endV2(h, producerId, e, false)?.errorCode, ErrorCode.INVALID_TXN_STATE);
  assert.equal(endV2(h, producerId, e + 1, true)?.errorCode, ErrorCode.PRODUCER_FENCED);
  h.markersWritten();
  assert.deepEqual(endV2(h, producerId, e, true), { errorCode: ErrorCode.NONE, producerId, producerEpoch: e + 1 });
  assert.equal(endV2(h, producerId, e, false)?.errorCode, ErrorCode.INVALID_TXN_STATE);
  // Commit at the current epoch of a completed commit: nothing to commit.
  assert.equal(endV2(h, producerId, e + 1, true)?.errorCode, ErrorCode.INVALID_TXN_STATE);
  // Older than a retry, or another producer id.
  assert.equal(endV2(h, producerId, e - 1, true)?.errorCode, ErrorCode.PRODUCER_FENCED);
  assert.equal(endV2(h, producerId + 1, e, true)?.errorCode, ErrorCode.INVALID_PRODUCER_ID_MAPPING);
  assert.equal(h.state, 'CompleteCommit');
});

test('v2 empty abort: Empty / CompleteCommit / CompleteAbort at the current epoch bump the epoch with no markers; a commit there is INVALID_TXN_STATE', () => {
  const h = new Harness();
  const { producerId, producerEpoch: e } = h.init();
  assert.equal(endV2(h, producerId, e, true)?.errorCode, ErrorCode.INVALID_TXN_STATE);
  assert.equal(endV2(h, producerId, e + 1, false)?.errorCode, ErrorCode.PRODUCER_FENCED);
  assert.deepEqual(endV2(h, producerId, e, false), { errorCode: ErrorCode.NONE, producerId, producerEpoch: e + 1 });
  assert.deepEqual(h.markers.map((m) => m.partitions.length), [0]);
  h.markersWritten();
  assert.equal(h.state, 'CompleteAbort');
  // A retry of that abort: NONE at the epoch it handed out; an abort at the current epoch bumps again.
  assert.deepEqual(endV2(h, producerId, e, false), { errorCode: ErrorCode.NONE, producerId, producerEpoch: e + 1 });
  assert.deepEqual(endV2(h, producerId, e + 1, false), { errorCode: ErrorCode.NONE, producerId, producerEpoch: e + 2 });
  h.markersWritten();
  addV2(h, producerId, e + 2);
  endV2(h, producerId, e + 2, true);
  h.markersWritten();
  assert.equal(h.state, 'CompleteCommit');
  // After a commit, a retried abort is INVALID_TXN_STATE, an abort at the current epoch bumps.
  assert.equal(endV2(h, producerId, e + 2, false)?.errorCode, ErrorCode.INVALID_TXN_STATE);
  assert.deepEqual(endV2(h, producerId, e + 3, false), { errorCode: ErrorCode.NONE, producerId, producerEpoch: e + 4 });
});

test('v2: an end pending in the log answers CONCURRENT_TRANSACTIONS before any epoch check (KAFKA-18464)', () => {
  const h = new Harness();
  const { producerId, producerEpoch: e } = h.init();
  addV2(h, producerId, e);
  h.holdAppends = true;
  let first: EndTxnResult | undefined;
  h.core.endTransaction({ transactionalId: ID, producerId, producerEpoch: e, commit: true, clientTransactionVersion: 2 }, (r) => { first = r; });
  h.drive();
  assert.equal(first, undefined);
  // The producer's empty abort at the epoch it will be handed must wait, not fence itself.
  assert.equal(endV2(h, producerId, e + 1, false)?.errorCode, ErrorCode.CONCURRENT_TRANSACTIONS);
  h.holdAppends = false;
  for (const id of h.held.splice(0)) h.core.completeAppend(id, ErrorCode.NONE);
  h.drive();
  assert.deepEqual(first, { errorCode: ErrorCode.NONE, producerId, producerEpoch: e + 1 });
});

test('v2 epoch exhaustion: the end at epoch 32766 takes a new producer id; markers go out under the old id at 32767; Complete* switches to the new id at epoch 0; a retry from the old id is recognised (overflow retry)', () => {
  const h = new Harness();
  const first = h.init();
  h.core.unload(0);
  h.core.beginLoad(0, 8);
  h.core.replay(0, encodeTransactionLogKey(ID), encodeTransactionLogValue({
    producerId: first.producerId, producerEpoch: 32766, transactionTimeoutMs: 60_000, state: 'Ongoing',
    partitions: new Map([['t', [0]]]), lastUpdateTimestampMs: T0, startTimestampMs: T0, previousProducerId: -1, nextProducerId: -1,
    clientTransactionVersion: 2,
  }));
  h.core.completeLoad(0);
  assert.equal(h.core.needsProducerIdToEnd(ID, 2), true);
  assert.equal(h.core.needsProducerIdToEnd(ID, 0), false);
  // Without the fresh id the end cannot go on: the producer retries.
  let refused: EndTxnResult | undefined;
  h.core.endTransaction({ transactionalId: ID, producerId: first.producerId, producerEpoch: 32766, commit: true, clientTransactionVersion: 2 }, (r) => { refused = r; });
  assert.equal(refused?.errorCode, ErrorCode.CONCURRENT_TRANSACTIONS);
  const ended = endV2(h, first.producerId, 32766, true, 5000);
  assert.deepEqual(ended, { errorCode: ErrorCode.NONE, producerId: 5000, producerEpoch: 0 });
  const marker = h.markers[0];
  assert.deepEqual([marker?.producerId, marker?.producerEpoch], [first.producerId, 32767]);
  assert.equal(h.core.inspect(ID)?.nextProducerId, 5000);
  h.markersWritten();
  const m = h.core.inspect(ID);
  assert.deepEqual([m?.state, m?.producerId, m?.producerEpoch, m?.previousProducerId, m?.nextProducerId], ['CompleteCommit', 5000, 0, first.producerId, -1]);
  // The client never saw the answer and retries with the old id and epoch.
  assert.deepEqual(endV2(h, first.producerId, 32766, true), { errorCode: ErrorCode.NONE, producerId: 5000, producerEpoch: 0 });
  assert.equal(endV2(h, first.producerId, 32766, false)?.errorCode, ErrorCode.INVALID_TXN_STATE);
  // The new id works; the state survives a reload (tagged fields).
  assert.equal(addV2(h, 5000, 0), ErrorCode.NONE);
  const last = decodeTransactionLogValue(h.log.at(-1)?.value as Buffer);
  assert.deepEqual([last.producerId, last.previousProducerId, last.clientTransactionVersion], [5000, first.producerId, 2]);
});

test('v2 reload: a PrepareCommit with a next producer id loaded from the log resumes its markers and completes to the new id', () => {
  const h = new Harness();
  h.init();
  h.core.unload(0);
  h.core.beginLoad(0, 9);
  h.core.replay(0, encodeTransactionLogKey(ID), encodeTransactionLogValue({
    producerId: 77, producerEpoch: 32767, transactionTimeoutMs: 60_000, state: 'PrepareCommit',
    partitions: new Map([['t', [0, 1]]]), lastUpdateTimestampMs: T0, startTimestampMs: T0, previousProducerId: -1, nextProducerId: 78,
    clientTransactionVersion: 2,
  }));
  h.core.completeLoad(0);
  h.drive();
  const marker = h.markers[0];
  assert.deepEqual([marker?.producerId, marker?.producerEpoch, marker?.coordinatorEpoch, marker?.transactionVersion, marker?.partitions.length], [77, 32767, 9, 2, 2]);
  h.markersWritten();
  const m = h.core.inspect(ID);
  assert.deepEqual([m?.state, m?.producerId, m?.producerEpoch, m?.previousProducerId], ['CompleteCommit', 78, 0, 77]);
});

test('v2: a fence (InitProducerId during an Ongoing v2 transaction) bumps the epoch once, not twice (KAFKA-19367)', () => {
  const h = new Harness();
  const { producerId, producerEpoch: e } = h.init();
  addV2(h, producerId, e);
  assert.equal(h.init().errorCode, ErrorCode.CONCURRENT_TRANSACTIONS);
  assert.deepEqual([h.state, h.markers[0]?.producerEpoch, h.markers[0]?.commit], ['PrepareAbort', e + 1, false]);
  h.markersWritten();
  // The fenced producer's abort is a retry of the abort (epoch + 1 stored): NONE; its commit is refused.
  assert.equal(endV2(h, producerId, e, true)?.errorCode, ErrorCode.INVALID_TXN_STATE);
  assert.deepEqual(endV2(h, producerId, e, false), { errorCode: ErrorCode.NONE, producerId, producerEpoch: e + 1 });
  const next = h.init();
  assert.deepEqual([next.errorCode, next.producerEpoch], [ErrorCode.NONE, e + 2]);
});

test('v2: a transaction timing out is aborted at epoch + 1; the producer\'s late commit is INVALID_TXN_STATE, its abort a retry', () => {
  const h = new Harness();
  const { producerId, producerEpoch: e } = h.init(1_000);
  addV2(h, producerId, e);
  h.clock.advance(11_000);
  h.core.tick();
  h.drive();
  assert.deepEqual([h.state, h.markers[0]?.producerEpoch], ['PrepareAbort', e + 1]);
  h.markersWritten();
  assert.equal(endV2(h, producerId, e, true)?.errorCode, ErrorCode.INVALID_TXN_STATE);
  assert.deepEqual(endV2(h, producerId, e, false), { errorCode: ErrorCode.NONE, producerId, producerEpoch: e + 1 });
});

test('v1 clients are unchanged: EndTxn v0-4 keeps the epoch and a v1 state is written as value v0', () => {
  const h = new Harness();
  const { producerId, producerEpoch: e } = h.init();
  assert.equal(h.add(producerId, e), ErrorCode.NONE);
  assert.equal(h.end(producerId, e, true), ErrorCode.NONE);
  assert.equal(h.markers[0]?.producerEpoch, e);
  assert.equal(h.markers[0]?.transactionVersion, 0);
  h.markersWritten();
  assert.equal(h.log.every((r) => r.value === null || r.value.readInt16BE(0) === 0), true);
  assert.equal(h.add(producerId, e), ErrorCode.NONE);
});

test('regression (txn-kill, franz-go): a v2 producer that lost its EndTxn answer re-inits with the epoch before it: CONCURRENT_TRANSACTIONS while Prepare*, then the current id and epoch, not PRODUCER_FENCED', () => {
  const h = new Harness();
  const { producerId, producerEpoch: e } = h.init();
  addV2(h, producerId, e);
  // EndTxn v5 became durable (PrepareCommit at e + 1) but the answer was lost in a crash.
  endV2(h, producerId, e, true);
  assert.equal(h.state, 'PrepareCommit');
  assert.equal(h.init(60_000, producerId, e).errorCode, ErrorCode.CONCURRENT_TRANSACTIONS);
  h.markersWritten();
  assert.deepEqual(h.init(60_000, producerId, e), { errorCode: ErrorCode.NONE, producerId, producerEpoch: e + 1 });
  // The same after a reload from the log (another node takes the partition over).
  h.core.unload(0);
  h.core.beginLoad(0, 8);
  for (const r of h.log) h.core.replay(0, r.key, r.value);
  h.core.completeLoad(0);
  assert.equal(h.state, 'CompleteCommit');
  assert.equal(h.init(60_000, producerId, e + 5).errorCode, ErrorCode.PRODUCER_FENCED);
  assert.deepEqual(h.init(60_000, producerId, e), { errorCode: ErrorCode.NONE, producerId, producerEpoch: e + 1 });
});

test('KIP-360: the producer\'s own fence (InitProducerId with its id and epoch while Ongoing) lets its retry in; a new producer\'s fence or bump does not let the replaced instance back', () => {
  const h = new Harness();
  const { producerId, producerEpoch: e } = h.init();
  h.add(producerId, e);
  assert.equal(h.init(60_000, producerId, e).errorCode, ErrorCode.CONCURRENT_TRANSACTIONS);
  h.markersWritten();
  assert.deepEqual(h.init(60_000, producerId, e), { errorCode: ErrorCode.NONE, producerId, producerEpoch: e + 1 });
  // A new instance (no id and epoch) takes over: the old instance's epochs are all fenced now.
  h.add(producerId, e + 1);
  assert.equal(h.init().errorCode, ErrorCode.CONCURRENT_TRANSACTIONS);
  h.markersWritten();
  const fresh = h.init();
  assert.deepEqual([fresh.errorCode, fresh.producerEpoch], [ErrorCode.NONE, e + 3]);
  assert.equal(h.init(60_000, producerId, e + 1).errorCode, ErrorCode.PRODUCER_FENCED);
  assert.equal(h.init(60_000, producerId, e + 2).errorCode, ErrorCode.PRODUCER_FENCED);
});

test('finalized transaction.version 1 or more: every state value is written as TransactionLogValue v1; a v1 transaction stays v1 whatever the level', () => {
  let level = 0;
  const h = new Harness({}, () => level);
  const { producerId, producerEpoch } = h.init();
  assert.equal(h.log.at(-1)?.value?.readInt16BE(0), 0, 'level 0: v0, byte for byte what a v1-only coordinator writes');
  level = 1;
  assert.equal(h.add(producerId, producerEpoch), ErrorCode.NONE);
  const ongoing = h.log.at(-1)!.value!;
  assert.equal(ongoing.readInt16BE(0), 1, 'level 1: the flexible value');
  assert.deepEqual([decodeTransactionLogValue(ongoing).state, decodeTransactionLogValue(ongoing).clientTransactionVersion], ['Ongoing', 0]);
  level = 2;
  assert.equal(h.end(producerId, producerEpoch, true), ErrorCode.NONE);
  h.markersWritten();
  const completed = decodeTransactionLogValue(h.log.at(-1)!.value!);
  // Begun as v1 (AddPartitionsToTxn, EndTxn below v5): no epoch bump although the cluster is at 2 now.
  assert.deepEqual([completed.state, completed.producerEpoch, completed.clientTransactionVersion], ['CompleteCommit', producerEpoch, 0]);
});
