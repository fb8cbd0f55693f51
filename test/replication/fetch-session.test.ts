import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Prng } from '../../src/common/prng.js';
import { ErrorCode } from '../../src/protocol/errors.js';
import { ZERO_UUID } from '../../src/protocol/codec-support.js';
import {
  FetchSessionCache,
  INVALID_SESSION_ID,
  nextEpoch,
  type FetchContext,
  type FetchPartition,
  type FetchPartitionOutcome,
  type FetchRequestMetadata,
} from '../../src/replication/fetch-session.js';

function partition(topic: string, index: number, fetchOffset = 0): FetchPartition {
  return {
    topic, topicId: ZERO_UUID, partition: index, fetchOffset, logStartOffset: -1,
    partitionMaxBytes: 1 << 20, currentLeaderEpoch: -1, lastFetchedEpoch: -1,
  };
}

function idPartition(topicId: string, index: number, fetchOffset = 0): FetchPartition {
  return { ...partition('', index, fetchOffset), topic: null, topicId };
}

function outcome(overrides: Partial<FetchPartitionOutcome> = {}): FetchPartitionOutcome {
  return { errorCode: 0, highWatermark: 10, logStartOffset: 0, recordsBytes: 0, diverging: false, ...overrides };
}

function request(overrides: Partial<FetchRequestMetadata>): FetchRequestMetadata {
  return { version: 12, sessionId: 0, sessionEpoch: 0, isFollower: false, partitions: [], forgotten: [], ...overrides };
}

function newCache(overrides: Partial<ConstructorParameters<typeof FetchSessionCache>[0]> = {}): FetchSessionCache {
  const prng = new Prng(7);
  return new FetchSessionCache({ random: () => prng.nextUint32(), ...overrides });
}

/** Runs a context to its response with the given outcomes (default: no change) and returns it. */
function respond(cache: FetchSessionCache, context: FetchContext, nowMs: number, outcomes?: FetchPartitionOutcome[]) {
  const read = cache.partitionsToRead(context);
  return { read, response: cache.respond(context, read, outcomes ?? read.map(() => outcome()), nowMs) };
}

/** A full fetch that creates a session; returns its id. */
function createSession(cache: FetchSessionCache, partitions: FetchPartition[], nowMs: number, extra: Partial<FetchRequestMetadata> = {}): number {
  const context = cache.newContext(request({ partitions, ...extra }), nowMs);
  assert.equal(context.kind, 'full');
  const { response } = respond(cache, context, nowMs);
  return response.sessionId;
}

test('nextEpoch follows FetchMetadata.nextEpoch', () => {
  assert.equal(nextEpoch(0), 1);
  assert.equal(nextEpoch(5), 6);
  assert.equal(nextEpoch(0x7fffffff), 1);
  assert.equal(nextEpoch(-1), -1);
});

test('epoch -1 is sessionless and closes the named session; epoch 0 creates a session', () => {
  const cache = newCache();
  const id = createSession(cache, [partition('a', 0)], 0);
  assert.notEqual(id, INVALID_SESSION_ID);
  assert.equal(cache.size, 1);
  assert.equal(cache.get(id)?.epoch, 1);
  const context = cache.newContext(request({ sessionId: id, sessionEpoch: -1, partitions: [partition('a', 0)] }), 1);
  assert.equal(context.kind, 'sessionless');
  assert.equal(cache.size, 0);
  const { response } = respond(cache, context, 1);
  assert.equal(response.sessionId, INVALID_SESSION_ID);
  assert.deepEqual(response.included, [true]);
});

test('a full request naming a session closes it and opens a new one', () => {
  const cache = newCache();
  const first = createSession(cache, [partition('a', 0)], 0);
  const second = createSession(cache, [partition('a', 0)], 1, { sessionId: first });
  assert.notEqual(second, first);
  assert.equal(cache.get(first), undefined);
  assert.equal(cache.size, 1);
});

test('incremental: adds, updates, forgets, and answers only partitions that changed', () => {
  const cache = newCache();
  const id = createSession(cache, [partition('a', 0, 5), partition('a', 1, 7)], 0);
  // Epoch 1: nothing named; a0 has new records, a1 is unchanged.
  let context = cache.newContext(request({ sessionId: id, sessionEpoch: 1 }), 1);
  assert.equal(context.kind, 'incremental');
  let { read, response } = respond(cache, context, 1, [outcome({ recordsBytes: 100 }), outcome()]);
  assert.deepEqual(read.map((p) => [p.topic, p.partition, p.fetchOffset]), [['a', 0, 5], ['a', 1, 7]]);
  assert.deepEqual(response.included, [true, false]);
  assert.equal(response.sessionId, id);
  // a0 returned records, so it now reads last. Epoch 2: a0 moves on, b0 is added, a1's HW changes.
  context = cache.newContext(request({ sessionId: id, sessionEpoch: 2, partitions: [partition('a', 0, 9), partition('b', 0, 0)] }), 2);
  ({ read, response } = respond(cache, context, 2, [outcome({ highWatermark: 11 }), outcome(), outcome()]));
  assert.deepEqual(read.map((p) => [p.topic, p.partition, p.fetchOffset]), [['a', 1, 7], ['a', 0, 9], ['b', 0, 0]]);
  assert.deepEqual(response.included, [true, false, true]);
  // Epoch 3: forget a1; an error is always answered.
  context = cache.newContext(request({ sessionId: id, sessionEpoch: 3, forgotten: [{ topic: 'a', topicId: ZERO_UUID, partition: 1 }] }), 3);
  ({ read, response } = respond(cache, context, 3, [outcome({ errorCode: ErrorCode.NOT_LEADER_OR_FOLLOWER, highWatermark: -1, logStartOffset: -1 }), outcome()]));
  assert.deepEqual(read.map((p) => [p.topic, p.partition]), [['a', 0], ['b', 0]]);
  assert.deepEqual(response.included, [true, false]);
  // The error reset the cached HW: the partition is answered again once the error is gone.
  context = cache.newContext(request({ sessionId: id, sessionEpoch: 4 }), 4);
  ({ response } = respond(cache, context, 4));
  assert.deepEqual(response.included, [true, false]);
});

test('session errors: unknown id, wrong epoch, topic-id kind mismatch', () => {
  const cache = newCache();
  const id = createSession(cache, [partition('a', 0)], 0);
  assert.deepEqual(cache.newContext(request({ sessionId: id + 1, sessionEpoch: 1 }), 1), { kind: 'error', errorCode: ErrorCode.FETCH_SESSION_ID_NOT_FOUND });
  assert.deepEqual(cache.newContext(request({ sessionId: id, sessionEpoch: 5 }), 1), { kind: 'error', errorCode: ErrorCode.INVALID_FETCH_SESSION_EPOCH });
  assert.deepEqual(cache.newContext(request({ version: 13, sessionId: id, sessionEpoch: 1 }), 1), { kind: 'error', errorCode: ErrorCode.FETCH_SESSION_TOPIC_ID_ERROR });
  const errorContext = cache.newContext(request({ sessionId: id, sessionEpoch: 5 }), 1);
  const { response } = respond(cache, errorContext, 1);
  assert.equal(response.errorCode, ErrorCode.INVALID_FETCH_SESSION_EPOCH);
  assert.equal(response.sessionId, INVALID_SESSION_ID);
  assert.deepEqual(response.included, []);
  // The errors changed nothing: epoch 1 still works.
  assert.equal(cache.newContext(request({ sessionId: id, sessionEpoch: 1 }), 1).kind, 'incremental');
});

test('a request of the same session completing first makes a parked one INVALID_FETCH_SESSION_EPOCH', () => {
  const cache = newCache();
  const id = createSession(cache, [partition('a', 0)], 0);
  const parked = cache.newContext(request({ sessionId: id, sessionEpoch: 1 }), 1);
  const parkedRead = cache.partitionsToRead(parked);
  const other = cache.newContext(request({ sessionId: id, sessionEpoch: 2 }), 2);
  assert.equal(other.kind, 'incremental');
  const response = cache.respond(parked, parkedRead, [outcome({ recordsBytes: 5 })], 3);
  assert.equal(response.errorCode, ErrorCode.INVALID_FETCH_SESSION_EPOCH);
  assert.equal(response.sessionId, id);
  assert.deepEqual(response.included, [false]);
});

test('forgetting every partition closes the session and answers sessionless', () => {
  const cache = newCache();
  const id = createSession(cache, [partition('a', 0)], 0);
  const context = cache.newContext(request({ sessionId: id, sessionEpoch: 1, forgotten: [{ topic: 'a', topicId: ZERO_UUID, partition: 0 }] }), 1);
  assert.equal(context.kind, 'sessionless');
  assert.equal(cache.size, 0);
  assert.equal(cache.totalPartitions, 0);
});

test('topic-id sessions key partitions by id, not by (unknown) name', () => {
  const cache = newCache();
  const topicId = '11111111-2222-3333-4444-555555555555';
  const id = createSession(cache, [idPartition(topicId, 0, 3)], 0, { version: 13 });
  const context = cache.newContext(request({ version: 13, sessionId: id, sessionEpoch: 1, partitions: [idPartition(topicId, 0, 8)] }), 1);
  assert.equal(context.kind, 'incremental');
  const read = cache.partitionsToRead(context);
  assert.deepEqual(read.map((p) => [p.topicId, p.fetchOffset]), [[topicId, 8]]);
  assert.equal(cache.newContext(request({ version: 12, sessionId: id, sessionEpoch: 2 }), 2).kind, 'error');
});

test('a full cache evicts a stale session, else the smallest non-privileged one for a larger one', () => {
  const cache = newCache({ slotsMax: 2, evictionMs: 1000 });
  const small = createSession(cache, [partition('a', 0)], 0);
  const big = createSession(cache, [partition('a', 0), partition('a', 1), partition('a', 2)], 0);
  // Both are young: only a privileged (follower) session may evict, and only a non-privileged one.
  assert.equal(createSession(cache, [partition('b', 0), partition('b', 1)], 10), INVALID_SESSION_ID);
  const follower = createSession(cache, [partition('b', 0)], 10, { isFollower: true });
  assert.notEqual(follower, INVALID_SESSION_ID);
  assert.equal(cache.get(small), undefined, 'the smallest evictable session went');
  assert.ok(cache.get(big));
  // Past evictionMs since its last use, the least recently used session is stale and goes first.
  const later = createSession(cache, [partition('c', 0)], 2000);
  assert.notEqual(later, INVALID_SESSION_ID);
  assert.equal(cache.get(big), undefined);
  assert.ok(cache.get(follower));
  assert.equal(cache.size, 2);
  assert.equal(cache.evictions, 2);
});

test('old sessions are evictable by a larger new one, not by a smaller one', () => {
  const cache = newCache({ slotsMax: 1, evictionMs: 1000 });
  const id = createSession(cache, [partition('a', 0), partition('a', 1)], 0);
  // Touched at 1500: not stale at 2000, but older than evictionMs since creation.
  assert.equal(cache.newContext(request({ sessionId: id, sessionEpoch: 1 }), 1500).kind, 'incremental');
  assert.equal(createSession(cache, [partition('b', 0)], 2000), INVALID_SESSION_ID);
  const larger = createSession(cache, [partition('b', 0), partition('b', 1), partition('b', 2)], 2000);
  assert.notEqual(larger, INVALID_SESSION_ID);
  assert.equal(cache.get(id), undefined);
});

test('partition bounds: a full fetch too large gets no session; outgrowing one closes it', () => {
  const cache = newCache({ partitionsPerSessionMax: 2 });
  assert.equal(createSession(cache, [partition('a', 0), partition('a', 1), partition('a', 2)], 0), INVALID_SESSION_ID);
  const id = createSession(cache, [partition('a', 0)], 0);
  assert.equal(cache.newContext(request({ sessionId: id, sessionEpoch: 1, partitions: [partition('a', 1)] }), 1).kind, 'incremental');
  assert.deepEqual(
    cache.newContext(request({ sessionId: id, sessionEpoch: 2, partitions: [partition('a', 2)] }), 2),
    { kind: 'error', errorCode: ErrorCode.FETCH_SESSION_ID_NOT_FOUND },
  );
  assert.equal(cache.get(id), undefined);
  assert.equal(cache.totalPartitions, 0);
  const total = newCache({ cachedPartitionsMax: 3 });
  assert.notEqual(createSession(total, [partition('a', 0), partition('a', 1)], 0), INVALID_SESSION_ID);
  assert.equal(createSession(total, [partition('b', 0), partition('b', 1)], 0), INVALID_SESSION_ID);
  assert.equal(total.totalPartitions, 2);
});

test('seeded churn keeps the cache within its bounds and its accounting exact', () => {
  const seed = 20240601;
  const prng = new Prng(seed);
  const cache = newCache({ slotsMax: 8, evictionMs: 50, partitionsPerSessionMax: 6, cachedPartitionsMax: 30 });
  const live: { id: number; epoch: number }[] = [];
  let nowMs = 0;
  for (let step = 0; step < 5000; step++) {
    nowMs += prng.nextUint32() % 5;
    const pick = prng.nextUint32() % 3;
    if (pick === 0 || live.length === 0) {
      const count = 1 + (prng.nextUint32() % 5);
      const parts = Array.from({ length: count }, (_, i) => partition(`t${prng.nextUint32() % 3}`, i));
      const id = createSession(cache, parts, nowMs, { isFollower: prng.nextUint32() % 4 === 0 });
      if (id !== INVALID_SESSION_ID) live.push({ id, epoch: 1 });
    } else {
      const index = prng.nextUint32() % live.length;
      const entry = live[index] as { id: number; epoch: number };
      const add = prng.nextUint32() % 2 === 0 ? [partition('x', prng.nextUint32() % 8)] : [];
      const context = cache.newContext(request({ sessionId: entry.id, sessionEpoch: entry.epoch, partitions: add }), nowMs);
      if (context.kind === 'incremental') {
        entry.epoch = nextEpoch(entry.epoch);
        respond(cache, context, nowMs);
      } else {
        live.splice(index, 1);
      }
    }
    assert.ok(cache.size <= 8, `seed ${seed} step ${step}: ${cache.size} sessions`);
    assert.ok(cache.totalPartitions <= 30, `seed ${seed} step ${step}: ${cache.totalPartitions} partitions`);
  }
  let sum = 0;
  for (const entry of live) sum += cache.get(entry.id)?.size ?? 0;
  assert.equal(cache.totalPartitions, sum, `seed ${seed}`);
});
