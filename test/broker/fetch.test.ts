import { test } from 'node:test';
import { connect } from 'node:net';
import { once } from 'node:events';
import assert from 'node:assert/strict';
import { ApiKey } from '../../src/protocol/generated/index.js';
import { ErrorCode } from '../../src/protocol/errors.js';
import { ZERO_UUID } from '../../src/protocol/codec-support.js';
import type { FetchRequest, FetchResponse } from '../../src/protocol/generated/fetch.js';
import { RawClient } from '../network/raw-client.js';
import { decodeResponseFrame, requestFrame } from './kafka-test-client.js';
import { createTopic, produce, startHarness, type Harness } from './standalone-harness.js';
import { simpleBatch } from '../replication/batches.js';
import { simpleBatch as sizedBatch } from '../storage/batch-builder.js';

type FetchTopic = FetchRequest['topics'][number];
type FetchPartitionRequest = FetchTopic['partitions'][number];
type ResponsePartition = FetchResponse['responses'][number]['partitions'][number];

async function withHarness(body: (h: Harness) => Promise<void>, properties: Record<string, string> = {}): Promise<void> {
  const h = await startHarness(properties);
  try {
    await body(h);
  } finally {
    await h.close();
  }
}

let correlationId = 1;

/** One Fetch round trip on `client`, waiting up to `timeoutMs` for the answer. */
async function fetch(client: RawClient, version: number, request: Partial<FetchRequest>, timeoutMs = 15_000): Promise<FetchResponse> {
  const body: FetchRequest = {
    clusterId: null, replicaId: -1, replicaState: { replicaId: -1, replicaEpoch: -1n },
    maxWaitMs: 0, minBytes: 1, maxBytes: 50 << 20, isolationLevel: 0, sessionId: 0, sessionEpoch: -1,
    topics: [], forgottenTopicsData: [], rackId: '', ...request,
  };
  const id = correlationId++;
  const index = client.frames.length;
  client.write(requestFrame(ApiKey.Fetch, version, id, body));
  const frames = await client.waitFrames(index + 1, timeoutMs);
  const response = decodeResponseFrame(ApiKey.Fetch, version, frames[index] as Buffer);
  assert.equal(response.correlationId, id);
  assert.equal(response.trailingBytes, 0);
  return response.body;
}

function part(partition: number, fetchOffset: number, overrides: Partial<FetchPartitionRequest> = {}): FetchPartitionRequest {
  return {
    partition, currentLeaderEpoch: -1, fetchOffset: BigInt(fetchOffset), lastFetchedEpoch: -1, logStartOffset: -1n,
    partitionMaxBytes: 1 << 20, replicaDirectoryId: ZERO_UUID, highWatermark: 0x7fffffffffffffffn, ...overrides,
  };
}

function topic(name: string, partitions: FetchPartitionRequest[], topicId = ZERO_UUID): FetchTopic {
  return { topic: name, topicId, partitions };
}

function only(response: FetchResponse): ResponsePartition {
  assert.equal(response.errorCode, ErrorCode.NONE);
  assert.equal(response.responses.length, 1);
  const p = response.responses[0]?.partitions[0];
  assert.ok(p);
  return p;
}

/** The stored form of a produced batch: baseOffset and partitionLeaderEpoch patched, the rest as sent. */
function assertSameBatch(stored: Buffer, produced: Buffer, baseOffset: bigint): void {
  assert.equal(stored.length, produced.length);
  assert.equal(stored.readBigInt64BE(0), baseOffset);
  assert.deepEqual(stored.subarray(8, 12), produced.subarray(8, 12));
  assert.deepEqual(stored.subarray(16), produced.subarray(16));
}

async function producedTopic(h: Harness, name: string, batches: Buffer[], partitions = 1): Promise<string> {
  const topicId = await createTopic(h, name, partitions);
  for (const batch of batches) assert.equal((await produce(h, name, 0, batch)).errorCode, ErrorCode.NONE);
  return topicId;
}

test('fetch after produce returns the exact bytes produced, v4 through v17', async () => {
  await withHarness(async (h) => {
    const batches = [simpleBatch(3), simpleBatch(2)];
    const topicId = await producedTopic(h, 'exact', batches);
    for (const version of [4, 5, 7, 9, 11, 12, 13, 15, 16, 17]) {
      const t = version >= 13 ? topic('', [part(0, 0)], topicId) : topic('exact', [part(0, 0)]);
      const response = await fetch(h.client, version, { topics: [t] });
      if (version >= 13) assert.equal(response.responses[0]?.topicId, topicId);
      else assert.equal(response.responses[0]?.topic, 'exact');
      const p = only(response);
      assert.equal(p.errorCode, ErrorCode.NONE, `v${version}`);
      assert.equal(p.highWatermark, 5n);
      if (version >= 4) assert.equal(p.lastStableOffset, 5n);
      if (version >= 5) assert.equal(p.logStartOffset, 0n);
      assert.equal(p.abortedTransactions, null);
      assert.equal(p.preferredReadReplica, -1);
      const records = p.records as Buffer;
      const first = batches[0] as Buffer;
      assertSameBatch(records.subarray(0, first.length), first, 0n);
      assertSameBatch(records.subarray(first.length), batches[1] as Buffer, 3n);
    }
    const committed = only(await fetch(h.client, 11, { isolationLevel: 1, topics: [topic('exact', [part(0, 3)])] }));
    assert.deepEqual(committed.abortedTransactions, []);
    assertSameBatch(committed.records as Buffer, batches[1] as Buffer, 3n);
  });
});

test('several large batches go out whole and in order (one writev chunk each)', async () => {
  await withHarness(async (h) => {
    const batches = [sizedBatch(4, 3000), sizedBatch(1, 5000), sizedBatch(2, 1500)];
    await producedTopic(h, 'large', batches);
    const p = only(await fetch(h.client, 12, { topics: [topic('large', [part(0, 0)])] }));
    const records = p.records as Buffer;
    assert.equal(records.length, batches.reduce((n, b) => n + b.length, 0));
    let position = 0;
    let offset = 0n;
    for (const batch of batches) {
      assertSameBatch(records.subarray(position, position + batch.length), batch, offset);
      position += batch.length;
      offset += BigInt(batch.readInt32BE(57));
    }
  });
});

test('max_bytes, partition_max_bytes and KIP-74: a first batch larger than both still comes whole', async () => {
  await withHarness(async (h) => {
    await createTopic(h, 'limits', 2);
    const big = sizedBatch(1, 4000);
    const small = sizedBatch(1, 10);
    assert.equal((await produce(h, 'limits', 0, big)).errorCode, ErrorCode.NONE);
    assert.equal((await produce(h, 'limits', 0, big)).errorCode, ErrorCode.NONE);
    assert.equal((await produce(h, 'limits', 1, small)).errorCode, ErrorCode.NONE);
    const response = await fetch(h.client, 11, {
      maxBytes: 100,
      topics: [topic('limits', [part(0, 0, { partitionMaxBytes: 50 }), part(1, 0)])],
    });
    const [p0, p1] = response.responses[0]?.partitions ?? [];
    assert.equal(p0?.records?.length, big.length, 'exactly one whole batch');
    assert.equal(p1?.errorCode, ErrorCode.NONE);
    assert.equal(p1?.records?.length, 0, 'max_bytes used up');
    assert.equal(p1?.highWatermark, 1n);
    // Request order is read order: the small partition first, then the big one limited by what is left.
    const reordered = await fetch(h.client, 11, {
      maxBytes: small.length + big.length + 100,
      topics: [topic('limits', [part(1, 0), part(0, 0)])],
    });
    const [r1, r0] = reordered.responses[0]?.partitions ?? [];
    assert.equal(r1?.partitionIndex, 1);
    assert.equal(r1?.records?.length, small.length);
    assert.equal(r0?.records?.length, big.length);
  });
});

test('fetch.max.bytes caps what a Fetch asks for (KafkaApis caps max_bytes with it)', async () => {
  await withHarness(async (h) => {
    const batch = sizedBatch(1, 1500);
    await producedTopic(h, 'capped', [batch, batch, batch]);
    const response = await fetch(h.client, 12, { maxBytes: 50 << 20, topics: [topic('capped', [part(0, 0, { partitionMaxBytes: 50 << 20 })])] });
    assert.equal(only(response).records?.length, 2 * batch.length, '2 whole batches fit in 4,000 bytes, 3 do not');
  }, { 'fetch.max.bytes': '4000' });
});

test('no broker-wide memory bound: a Fetch reads no more than the response memory it was granted', async () => {
  await withHarness(async (h) => {
    const batch = sizedBatch(1, 300_000);
    await producedTopic(h, 'granted', [batch, batch, batch, batch]);
    // 1 MiB of response memory in all: the answer holds 3 batches (~900 KB) though max_bytes asks for 50 MB.
    const response = await fetch(h.client, 12, { maxBytes: 50 << 20, topics: [topic('granted', [part(0, 0, { partitionMaxBytes: 50 << 20 })])] });
    assert.equal(only(response).records?.length, 3 * batch.length);
  }, { 'queued.max.response.bytes': String(1 << 20), 'message.max.bytes': '400000' });
});

test('OFFSET_OUT_OF_RANGE outside [logStartOffset, logEndOffset]; unknown partitions and topic ids', async () => {
  await withHarness(async (h) => {
    const topicId = await producedTopic(h, 'range', [simpleBatch(2)]);
    const past = only(await fetch(h.client, 12, { topics: [topic('range', [part(0, 3)])] }));
    assert.equal(past.errorCode, ErrorCode.OFFSET_OUT_OF_RANGE);
    assert.equal(past.highWatermark, -1n);
    assert.equal(past.records?.length ?? 0, 0);
    const atEnd = only(await fetch(h.client, 12, { topics: [topic('range', [part(0, 2)])] }));
    assert.equal(atEnd.errorCode, ErrorCode.NONE);
    assert.equal(atEnd.highWatermark, 2n);
    const unknown = only(await fetch(h.client, 12, { topics: [topic('nope', [part(0, 0)])] }));
    assert.equal(unknown.errorCode, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
    const noPartition = only(await fetch(h.client, 12, { topics: [topic('range', [part(5, 0)])] }));
    assert.equal(noPartition.errorCode, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
    const badId = only(await fetch(h.client, 13, { topics: [topic('', [part(0, 0)], '0a0a0a0a-0000-4000-8000-00000000000f')] }));
    assert.equal(badId.errorCode, ErrorCode.UNKNOWN_TOPIC_ID);
    assert.deepEqual(badId.abortedTransactions, []);
    const good = only(await fetch(h.client, 13, { topics: [topic('', [part(0, 0)], topicId)] }));
    assert.equal(good.errorCode, ErrorCode.NONE);
  });
});

test('leader epoch fencing (KIP-320) and KIP-951 current leader; follower fetches are refused', async () => {
  await withHarness(async (h) => {
    const topicId = await producedTopic(h, 'epochs', [simpleBatch(1)]);
    const log = h.node.metadataLog!;
    await log.append([{ type: 'PartitionChange', topicId, partitionId: 0, leader: -1 }]);
    await log.append([{ type: 'PartitionChange', topicId, partitionId: 0, leader: h.broker.nodeId }]);
    await h.broker.services.replicaManager.whenIdle();
    assert.equal(h.broker.services.replicaManager.partition('epochs', 0)?.leaderEpoch, 2);
    const code = async (version: number, overrides: Partial<FetchPartitionRequest>) =>
      only(await fetch(h.client, version, { topics: [topic('epochs', [part(0, 0, overrides)])] }));
    assert.equal((await code(12, { currentLeaderEpoch: 1 })).errorCode, ErrorCode.FENCED_LEADER_EPOCH);
    assert.equal((await code(12, { currentLeaderEpoch: 3 })).errorCode, ErrorCode.UNKNOWN_LEADER_EPOCH);
    assert.equal((await code(12, { currentLeaderEpoch: 2 })).errorCode, ErrorCode.NONE);
    const v16 = await fetch(h.client, 16, { topics: [topic('', [part(0, 0, { currentLeaderEpoch: 1 })], topicId)] });
    const fenced = only(v16);
    assert.equal(fenced.errorCode, ErrorCode.FENCED_LEADER_EPOCH);
    assert.deepEqual(fenced.currentLeader, { leaderId: h.broker.nodeId, leaderEpoch: 2 });
    assert.deepEqual(v16.nodeEndpoints.map((n) => [n.nodeId, n.port]), [[h.broker.nodeId, h.broker.port]]);
    // A follower this broker does not know as a replica (KIP-903 ReplicaState in v15+, replica_id before).
    const follower15 = await fetch(h.client, 15, {
      replicaState: { replicaId: 7, replicaEpoch: 1n }, topics: [topic('', [part(0, 0, { currentLeaderEpoch: 2 })], topicId)],
    });
    assert.equal(only(follower15).errorCode, ErrorCode.UNKNOWN_LEADER_EPOCH);
    const follower11 = await fetch(h.client, 11, { replicaId: 7, topics: [topic('epochs', [part(0, 0)])] });
    assert.equal(only(follower11).errorCode, ErrorCode.NOT_LEADER_OR_FOLLOWER);
  });
});

test('long poll: a produce wakes a parked fetch well before max_wait_ms', async () => {
  await withHarness(async (h) => {
    await createTopic(h, 'poll');
    const consumer = await RawClient.connect(h.broker.port);
    try {
      const startedMs = performance.now();
      const pending = fetch(consumer, 12, { maxWaitMs: 10_000, minBytes: 1, topics: [topic('poll', [part(0, 0)])] });
      await new Promise((resolve) => setTimeout(resolve, 100));
      assert.equal(consumer.frames.length, 0, 'parked');
      const batch = simpleBatch(2);
      assert.equal((await produce(h, 'poll', 0, batch, { acks: 1 })).errorCode, ErrorCode.NONE);
      const p = only(await pending);
      assert.ok(performance.now() - startedMs < 5000, 'woken by the produce, not by max_wait_ms');
      assertSameBatch(p.records as Buffer, batch, 0n);
      assert.equal(p.highWatermark, 2n);
    } finally {
      consumer.destroy();
    }
  });
});

test('long poll: with nothing produced the fetch waits max_wait_ms, then answers empty', async () => {
  await withHarness(async (h) => {
    await createTopic(h, 'idle');
    const startedMs = performance.now();
    const p = only(await fetch(h.client, 12, { maxWaitMs: 400, minBytes: 1, topics: [topic('idle', [part(0, 0)])] }));
    assert.ok(performance.now() - startedMs >= 390, 'waited for max_wait_ms');
    assert.equal(p.errorCode, ErrorCode.NONE);
    assert.equal(p.records?.length ?? 0, 0);
  });
});

test('long poll: min_bytes is waited for across several produces; a leadership change ends the wait', async () => {
  await withHarness(async (h) => {
    const topicId = await createTopic(h, 'minbytes');
    const consumer = await RawClient.connect(h.broker.port);
    try {
      const batch = sizedBatch(1, 200);
      const pending = fetch(consumer, 12, { maxWaitMs: 10_000, minBytes: batch.length * 3, topics: [topic('minbytes', [part(0, 0)])] });
      for (let i = 0; i < 2; i++) assert.equal((await produce(h, 'minbytes', 0, batch, { acks: 1 })).errorCode, ErrorCode.NONE);
      await new Promise((resolve) => setTimeout(resolve, 100));
      assert.equal(consumer.frames.length, 0, 'two batches are below min_bytes');
      assert.equal((await produce(h, 'minbytes', 0, batch, { acks: 1 })).errorCode, ErrorCode.NONE);
      assert.equal(only(await pending).records?.length, batch.length * 3);
      const startedMs = performance.now();
      const parked = fetch(consumer, 12, { maxWaitMs: 10_000, minBytes: 1, topics: [topic('minbytes', [part(0, 3)])] });
      await new Promise((resolve) => setTimeout(resolve, 50));
      await h.node.metadataLog!.append([{ type: 'PartitionChange', topicId, partitionId: 0, leader: -1 }]);
      const moved = only(await parked);
      assert.equal(moved.errorCode, ErrorCode.NOT_LEADER_OR_FOLLOWER);
      assert.ok(performance.now() - startedMs < 5000);
    } finally {
      consumer.destroy();
    }
  });
});

test('incremental session: create, omit unchanged partitions, add, forget, then session errors', async () => {
  await withHarness(async (h) => {
    await createTopic(h, 's', 2);
    const batch = simpleBatch(1);
    await produce(h, 's', 0, batch);
    const full = await fetch(h.client, 12, { sessionId: 0, sessionEpoch: 0, topics: [topic('s', [part(0, 0), part(1, 0)])] });
    assert.equal(full.errorCode, ErrorCode.NONE);
    assert.notEqual(full.sessionId, 0);
    assert.equal(full.responses[0]?.partitions.length, 2);
    const sessionId = full.sessionId;
    // Epoch 1: p0 moves past its data; nothing changed → nothing answered.
    const quiet = await fetch(h.client, 12, { sessionId, sessionEpoch: 1, topics: [topic('s', [part(0, 1)])] });
    assert.equal(quiet.errorCode, ErrorCode.NONE);
    assert.equal(quiet.sessionId, sessionId);
    assert.deepEqual(quiet.responses, []);
    // Epoch 2: new data on p1 only.
    await produce(h, 's', 1, batch);
    const p1 = await fetch(h.client, 12, { sessionId, sessionEpoch: 2 });
    assert.deepEqual(p1.responses.map((t) => [t.topic, t.partitions.map((p) => p.partitionIndex)]), [['s', [1]]]);
    assertSameBatch(p1.responses[0]?.partitions[0]?.records as Buffer, batch, 0n);
    // Epoch 3: forget p1; new data on both: only p0 comes back.
    await produce(h, 's', 0, batch);
    await produce(h, 's', 1, batch);
    const forgot = await fetch(h.client, 12, { sessionId, sessionEpoch: 3, forgottenTopicsData: [{ topic: 's', topicId: ZERO_UUID, partitions: [1] }] });
    assert.deepEqual(forgot.responses.map((t) => t.partitions.map((p) => p.partitionIndex)), [[0]]);
    // Wrong epoch, unknown id, topic-id mismatch: top-level errors, no partitions.
    const badEpoch = await fetch(h.client, 12, { sessionId, sessionEpoch: 9 });
    assert.equal(badEpoch.errorCode, ErrorCode.INVALID_FETCH_SESSION_EPOCH);
    assert.equal(badEpoch.sessionId, 0);
    assert.deepEqual(badEpoch.responses, []);
    const badId = await fetch(h.client, 12, { sessionId: sessionId ^ 1, sessionEpoch: 1 });
    assert.equal(badId.errorCode, ErrorCode.FETCH_SESSION_ID_NOT_FOUND);
    const topicIdKind = await fetch(h.client, 13, { sessionId, sessionEpoch: 4 });
    assert.equal(topicIdKind.errorCode, ErrorCode.FETCH_SESSION_TOPIC_ID_ERROR);
    // The session survives its errors; epoch -1 closes it.
    assert.equal((await fetch(h.client, 12, { sessionId, sessionEpoch: 4 })).errorCode, ErrorCode.NONE);
    const closed = await fetch(h.client, 12, { sessionId, sessionEpoch: -1, topics: [topic('s', [part(0, 0)])] });
    assert.equal(closed.sessionId, 0);
    assert.equal((await fetch(h.client, 12, { sessionId, sessionEpoch: 5 })).errorCode, ErrorCode.FETCH_SESSION_ID_NOT_FOUND);
  });
});

test('a topic-id session (v13+) parks on its cached partitions and answers the produce', async () => {
  await withHarness(async (h) => {
    const topicId = await createTopic(h, 'ids');
    const full = await fetch(h.client, 17, { sessionId: 0, sessionEpoch: 0, topics: [topic('', [part(0, 0)], topicId)] });
    assert.notEqual(full.sessionId, 0);
    const consumer = await RawClient.connect(h.broker.port);
    try {
      const pending = fetch(consumer, 17, { sessionId: full.sessionId, sessionEpoch: 1, maxWaitMs: 10_000 });
      await new Promise((resolve) => setTimeout(resolve, 50));
      const batch = simpleBatch(3);
      await produce(h, 'ids', 0, batch, { acks: 1 });
      const response = await pending;
      assert.equal(response.responses[0]?.topicId, topicId);
      assertSameBatch(response.responses[0]?.partitions[0]?.records as Buffer, batch, 0n);
    } finally {
      consumer.destroy();
    }
  });
});

test('closing a connection releases its parked fetch; shutdown answers parked fetches at once', async () => {
  const h = await startHarness();
  try {
    await createTopic(h, 'release');
    const purgatory = h.broker.services.delayedFetch;
    // A raw socket reset (RST): the server sees the connection die, not a half-close it could still answer.
    const socket = connect({ port: h.broker.port, host: '127.0.0.1' });
    await once(socket, 'connect');
    socket.write(requestFrame(ApiKey.Fetch, 12, 1, {
      clusterId: null, replicaId: -1, replicaState: { replicaId: -1, replicaEpoch: -1n },
      maxWaitMs: 60_000, minBytes: 1, maxBytes: 1 << 20, isolationLevel: 0, sessionId: 0, sessionEpoch: -1,
      topics: [topic('release', [part(0, 0)])], forgottenTopicsData: [], rackId: '',
    }));
    for (let i = 0; i < 200 && purgatory.size === 0; i++) await new Promise((resolve) => setTimeout(resolve, 5));
    assert.equal(purgatory.size, 1);
    socket.resetAndDestroy();
    for (let i = 0; i < 200 && purgatory.size > 0; i++) await new Promise((resolve) => setTimeout(resolve, 5));
    assert.equal(purgatory.size, 0, 'released by the close');
    const pending = fetch(h.client, 12, { maxWaitMs: 60_000, topics: [topic('release', [part(0, 0)])] });
    for (let i = 0; i < 200 && purgatory.size === 0; i++) await new Promise((resolve) => setTimeout(resolve, 5));
    assert.equal(purgatory.size, 1);
    const startedMs = performance.now();
    const closing = h.broker.close();
    const p = only(await pending);
    // The controlled shutdown moves the leadership first (a single node's partitions become leaderless).
    assert.ok(p.errorCode === ErrorCode.NONE || p.errorCode === ErrorCode.NOT_LEADER_OR_FOLLOWER, `error ${p.errorCode}`);
    await closing;
    assert.ok(performance.now() - startedMs < 10_000, 'shutdown did not wait for max_wait_ms');
  } finally {
    await h.close();
  }
});
