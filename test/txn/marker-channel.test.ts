/**
 * The transaction marker channel (src/txn/marker-channel.ts) with fake leaders: routing by the current
 * metadata, one WriteTxnMarkers request per broker batching its partitions, re-routing after
 * NOT_LEADER_OR_FOLLOWER and a lost connection, skipping deleted topics, refusal and the retry window.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ErrorCode } from '../../src/protocol/errors.js';
import type { WriteTxnMarkersRequest, WriteTxnMarkersResponse } from '../../src/protocol/generated/write-txn-markers.js';
import type { EndTransactionMarker } from '../../src/protocol/control-batch.js';
import { TxnMarkerChannel, RETRY_WINDOW_MS, type MarkerRoute } from '../../src/txn/marker-channel.js';
import type { TopicPartitionRef } from '../../src/txn/coordinator.js';

const SELF = 1;
const MARKER: EndTransactionMarker = { producerId: 42, producerEpoch: 3, coordinatorEpoch: 5, commit: true };

class FakeCluster {
  /** topic-partition → leader ('gone': deleted). */
  readonly leaders = new Map<string, MarkerRoute>();
  readonly requests: { brokerId: number; request: WriteTxnMarkersRequest }[] = [];
  readonly local: string[] = [];
  /** Per broker, how it answers each partition (default NONE); 'disconnect' rejects the request. */
  answer: (brokerId: number, tp: string) => number | 'disconnect' = () => ErrorCode.NONE;
  nowMs = 0;

  channel(): TxnMarkerChannel {
    return new TxnMarkerChannel({
      nodeId: SELF,
      route: (tp) => this.leaders.get(key(tp)) ?? -1,
      writeLocal: (tp) => {
        this.local.push(key(tp));
        return Promise.resolve(ErrorCode.NONE);
      },
      send: (brokerId, request) => this.send(brokerId, request),
      monotonicMs: () => this.nowMs,
    });
  }

  private send(brokerId: number, request: WriteTxnMarkersRequest): Promise<WriteTxnMarkersResponse> {
    this.requests.push({ brokerId, request });
    let disconnect = false;
    const response: WriteTxnMarkersResponse = {
      markers: request.markers.map((m) => ({
        producerId: m.producerId,
        topics: m.topics.map((t) => ({
          name: t.name,
          partitions: t.partitionIndexes.map((partitionIndex) => {
            const a = this.answer(brokerId, `${t.name}-${partitionIndex}`);
            if (a === 'disconnect') disconnect = true;
            return { partitionIndex, errorCode: a === 'disconnect' ? ErrorCode.NONE : a };
          }),
        })),
      })),
    };
    return disconnect ? Promise.reject(new Error('connection closed')) : Promise.resolve(response);
  }
}

function key(tp: TopicPartitionRef): string {
  return `${tp.topic}-${tp.partition}`;
}

function sentPartitions(request: WriteTxnMarkersRequest): string[] {
  return request.markers.flatMap((m) => m.topics.flatMap((t) => t.partitionIndexes.map((p) => `${t.name}-${p}`))).sort();
}

test('one WriteTxnMarkers request per leader broker batches its partitions; partitions led here are written locally', async () => {
  const cluster = new FakeCluster();
  const tps = [0, 1, 2, 3, 4, 5].map((partition) => ({ topic: 'out', partition }));
  for (const tp of tps) cluster.leaders.set(key(tp), [SELF, 2, 3][tp.partition % 3] as number);
  const ok = await cluster.channel().write(MARKER, tps, () => true);
  assert.equal(ok, true);
  assert.deepEqual(cluster.local.sort(), ['out-0', 'out-3']);
  assert.equal(cluster.requests.length, 2);
  const byBroker = new Map(cluster.requests.map((r) => [r.brokerId, r.request]));
  assert.deepEqual(sentPartitions(byBroker.get(2) as WriteTxnMarkersRequest), ['out-1', 'out-4']);
  assert.deepEqual(sentPartitions(byBroker.get(3) as WriteTxnMarkersRequest), ['out-2', 'out-5']);
  const marker = (byBroker.get(2) as WriteTxnMarkersRequest).markers[0];
  assert.deepEqual({ producerId: marker?.producerId, producerEpoch: marker?.producerEpoch, commit: marker?.transactionResult, coordinatorEpoch: marker?.coordinatorEpoch },
    { producerId: 42n, producerEpoch: 3, commit: true, coordinatorEpoch: 5 });
});

test('NOT_LEADER_OR_FOLLOWER is retried at the leader the metadata names then', async () => {
  const cluster = new FakeCluster();
  cluster.leaders.set('out-0', 2);
  cluster.answer = (brokerId) => {
    if (brokerId === 2) {
      cluster.leaders.set('out-0', 3); // the leadership moved
      return ErrorCode.NOT_LEADER_OR_FOLLOWER;
    }
    return ErrorCode.NONE;
  };
  assert.equal(await cluster.channel().write(MARKER, [{ topic: 'out', partition: 0 }], () => true), true);
  assert.deepEqual(cluster.requests.map((r) => r.brokerId), [2, 3]);
});

test('a lost connection sends the request again; a partition with no leader waits for one', async () => {
  const cluster = new FakeCluster();
  cluster.leaders.set('out-0', 2);
  let failures = 1;
  cluster.answer = () => (failures-- > 0 ? 'disconnect' : ErrorCode.NONE);
  const pending = cluster.channel().write(MARKER, [{ topic: 'out', partition: 0 }, { topic: 'out', partition: 1 }], () => true);
  // out-1 has no leader (-1) until a moment later.
  setTimeout(() => cluster.leaders.set('out-1', 3), 250);
  assert.equal(await pending, true);
  assert.deepEqual(cluster.requests.map((r) => r.brokerId), [2, 2, 3]);
});

test('a deleted topic is skipped; epoch-fenced answers count as written (a newer marker is there)', async () => {
  const cluster = new FakeCluster();
  cluster.leaders.set('gone-0', 'gone');
  cluster.leaders.set('out-0', 2);
  cluster.leaders.set('out-1', 2);
  cluster.answer = (_b, tp) => (tp === 'out-0' ? ErrorCode.INVALID_PRODUCER_EPOCH : ErrorCode.TRANSACTION_COORDINATOR_FENCED);
  const ok = await cluster.channel().write(MARKER, [{ topic: 'gone', partition: 0 }, { topic: 'out', partition: 0 }, { topic: 'out', partition: 1 }], () => true);
  assert.equal(ok, true);
  assert.deepEqual(cluster.requests.map((r) => sentPartitions(r.request)), [['out-0', 'out-1']]);
});

test('a non-retriable answer, a write that stops being current, and the retry window each fail the write', async () => {
  const refused = new FakeCluster();
  refused.leaders.set('out-0', 2);
  refused.answer = () => ErrorCode.CORRUPT_MESSAGE;
  assert.equal(await refused.channel().write(MARKER, [{ topic: 'out', partition: 0 }], () => true), false);

  const stale = new FakeCluster();
  stale.leaders.set('out-0', 2);
  stale.answer = () => ErrorCode.NOT_LEADER_OR_FOLLOWER;
  let current = true;
  const pending = stale.channel().write(MARKER, [{ topic: 'out', partition: 0 }], () => current);
  setTimeout(() => { current = false; }, 150);
  assert.equal(await pending, false);

  const timedOut = new FakeCluster();
  timedOut.leaders.set('out-0', 2);
  timedOut.answer = () => {
    timedOut.nowMs += RETRY_WINDOW_MS;
    return ErrorCode.NOT_ENOUGH_REPLICAS;
  };
  assert.equal(await timedOut.channel().write(MARKER, [{ topic: 'out', partition: 0 }], () => true), false);
  assert.equal(timedOut.requests.length, 1);
});

test('two transactions of one producer never share a request (leaders answer per producer id)', async () => {
  const cluster = new FakeCluster();
  cluster.leaders.set('a-0', 2);
  cluster.leaders.set('b-0', 2);
  let release: (() => void) | undefined;
  const channel = new TxnMarkerChannel({
    nodeId: SELF,
    route: (tp) => cluster.leaders.get(key(tp)) ?? -1,
    writeLocal: () => Promise.resolve(ErrorCode.NONE),
    send: async (brokerId, request) => {
      cluster.requests.push({ brokerId, request });
      if (cluster.requests.length === 1) await new Promise<void>((r) => { release = r; });
      return { markers: request.markers.map((m) => ({ producerId: m.producerId, topics: m.topics.map((t) => ({ name: t.name, partitions: t.partitionIndexes.map((p) => ({ partitionIndex: p, errorCode: 0 })) })) })) };
    },
    monotonicMs: () => 0,
  });
  const first = channel.write(MARKER, [{ topic: 'a', partition: 0 }], () => true);
  const second = channel.write({ ...MARKER, producerEpoch: 4 }, [{ topic: 'b', partition: 0 }], () => true);
  const third = channel.write({ ...MARKER, producerEpoch: 5 }, [{ topic: 'b', partition: 0 }], () => true);
  await new Promise((r) => setTimeout(r, 10));
  release?.();
  assert.deepEqual(await Promise.all([first, second, third]), [true, true, true]);
  assert.deepEqual(cluster.requests.map((r) => r.request.markers.map((m) => m.producerEpoch)), [[3], [4], [5]]);
});
