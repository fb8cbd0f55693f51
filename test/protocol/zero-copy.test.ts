// DESIGN.md §2: a partition's records stay a slice of the request frame and reach the socket uncopied.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Reader } from '../../src/protocol/reader.js';
import { Writer } from '../../src/protocol/writer.js';
import { decodeProduceRequest, encodeProduceRequest, type ProduceRequest } from '../../src/protocol/generated/produce.js';
import { decodeFetchResponse, encodeFetchResponse } from '../../src/protocol/generated/fetch.js';
import { decodeRequestHeader, encodeRequestHeader } from '../../src/protocol/headers.js';

function produce(records: Buffer): ProduceRequest {
  return {
    transactionalId: null,
    acks: -1,
    timeoutMs: 30000,
    topicData: [{ name: 'orders', topicId: '00000000-0000-0000-0000-000000000000', partitionData: [{ index: 0, records }] }],
  };
}

describe('zero copy', () => {
  for (const version of [3, 8, 9, 11]) {
    it(`ProduceRequest v${version}: decoded records share the frame's memory`, () => {
      const records = Buffer.alloc(64 * 1024, 0xab);
      const w = new Writer();
      encodeRequestHeader(w, { requestApiKey: 0, requestApiVersion: version, correlationId: 7, clientId: 'c' });
      encodeProduceRequest(w, version, produce(records));
      const frame = w.finishBuffer();
      const r = new Reader(frame);
      decodeRequestHeader(r);
      const decoded = decodeProduceRequest(r, version).topicData[0].partitionData[0].records;
      assert.ok(decoded !== null);
      assert.equal(decoded.buffer, frame.buffer, 'same ArrayBuffer');
      assert.ok(decoded.byteOffset >= frame.byteOffset && decoded.byteOffset + decoded.length <= frame.byteOffset + frame.length);
      frame[decoded.byteOffset - frame.byteOffset] = 0x01;
      assert.equal(decoded[0], 0x01, 'a write to the frame shows through');
    });

    it(`ProduceRequest v${version}: Writer.finish() hands back the records Buffer itself`, () => {
      const records = Buffer.alloc(64 * 1024, 0xcd);
      const w = new Writer();
      encodeProduceRequest(w, version, produce(records));
      const chunks = w.finish();
      assert.ok(chunks.some((c) => c === records));
    });
  }

  it('FetchResponse v16 records go out by reference too', () => {
    const records = Buffer.alloc(8192, 1);
    const w = new Writer();
    encodeFetchResponse(w, 16, {
      throttleTimeMs: 0,
      errorCode: 0,
      sessionId: 0,
      responses: [{
        topic: '',
        topicId: '6f1c3a0e-2b7d-4e58-9a41-0c2d5e7f8a9b',
        partitions: [{
          partitionIndex: 0, errorCode: 0, highWatermark: 10n, lastStableOffset: 10n, logStartOffset: 0n,
          divergingEpoch: { epoch: -1, endOffset: -1n }, currentLeader: { leaderId: -1, leaderEpoch: -1 },
          snapshotId: { endOffset: -1n, epoch: -1 }, abortedTransactions: null, preferredReadReplica: -1, records,
        }],
      }],
      nodeEndpoints: [],
    });
    const chunks = w.finish();
    assert.ok(chunks.includes(records));
    const decoded = decodeFetchResponse(new Reader(Buffer.concat(chunks)), 16);
    assert.deepEqual(decoded.responses[0].partitions[0].records, records);
  });
});
