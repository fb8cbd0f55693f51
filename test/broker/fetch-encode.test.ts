// DESIGN.md §2/§3: the bytes sent are the bytes on disk — a partition's batches reach the socket as the
// log's own Buffers, one writev chunk each, never concatenated.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Reader } from '../../src/protocol/reader.js';
import { Writer } from '../../src/protocol/writer.js';
import { ZERO_UUID } from '../../src/protocol/codec-support.js';
import { decodeFetchResponse, type FetchResponse } from '../../src/protocol/generated/fetch.js';
import { fetchHandler, type FetchResponseOut } from '../../src/broker/handlers/01-fetch.js';

type Partition = FetchResponse['responses'][number]['partitions'][number];

function partition(index: number, records: Buffer | null): Partition {
  return {
    partitionIndex: index, errorCode: 0, highWatermark: 10n, lastStableOffset: 10n, logStartOffset: 0n,
    divergingEpoch: { epoch: -1, endOffset: -1n }, currentLeader: { leaderId: -1, leaderEpoch: -1 },
    snapshotId: { endOffset: -1n, epoch: -1 }, abortedTransactions: null, preferredReadReplica: -1, records,
  };
}

for (const version of [4, 11, 12, 13, 17]) {
  test(`Fetch v${version}: several batches go out as the log's Buffers and decode as one records blob`, () => {
    const batches = [Buffer.alloc(4096, 1), Buffer.alloc(2048, 2), Buffer.alloc(100, 3), Buffer.alloc(1500, 4)];
    const single = Buffer.alloc(8192, 5);
    const out: FetchResponseOut = {
      body: {
        throttleTimeMs: 0, errorCode: 0, sessionId: 0, nodeEndpoints: [],
        responses: [{
          topic: version >= 13 ? '' : 't', topicId: version >= 13 ? '0a0a0a0a-0000-4000-8000-000000000001' : ZERO_UUID,
          partitions: [partition(0, batches[0] as Buffer), partition(1, single), partition(2, Buffer.alloc(0))],
        }],
      },
      chunks: new Map([[batches[0] as Buffer, batches]]),
    };
    const writer = new Writer();
    fetchHandler.encode(writer, version, out);
    const chunks = writer.finish();
    for (const batch of [...batches, single]) {
      if (batch.length >= 1024) assert.ok(chunks.includes(batch), `a ${batch.length}-byte batch is its own chunk, by reference`);
    }
    const decoded = decodeFetchResponse(new Reader(Buffer.concat(chunks)), version);
    const [p0, p1, p2] = decoded.responses[0]?.partitions ?? [];
    assert.deepEqual(p0?.records, Buffer.concat(batches));
    assert.deepEqual(p1?.records, single);
    assert.equal(p2?.records?.length, 0);
  });
}
