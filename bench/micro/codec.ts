/**
 * Codec micro-benchmark: `npm run bench:codec`.
 * - ProduceRequest (latest version) carrying 1 MiB of records: decode and encode ns/op, with proof that
 *   neither copies the records (DESIGN.md §2).
 * - MetadataResponse (latest version) with 100 topics × 10 partitions: encode (and decode) ns/op.
 * Prints the machine so numbers are comparable (STYLE.md 15). No assertion on timing.
 */
import { cpus, platform, release } from 'node:os';
import { performance } from 'node:perf_hooks';
import assert from 'node:assert/strict';
import { isDeepStrictEqual } from 'node:util';
import { Reader } from '../../src/protocol/reader.js';
import { Writer } from '../../src/protocol/writer.js';
import { decodeRequestHeader, encodeRequestHeader } from '../../src/protocol/headers.js';
import { API_MESSAGE_SPECS, ApiKey } from '../../src/protocol/generated/index.js';
import { decodeProduceRequest, encodeProduceRequest, type ProduceRequest } from '../../src/protocol/generated/produce.js';
import {
  decodeMetadataResponse, encodeMetadataResponse, type MetadataResponse,
} from '../../src/protocol/generated/metadata.js';

const recordsBytes = 1024 * 1024;
const warmupMs = 300;
const measureMs = 1500;

function latest(apiKey: number): number {
  const spec = API_MESSAGE_SPECS.find((s) => s.apiKey === apiKey);
  assert.ok(spec);
  return spec.maxVersion;
}

/** Runs fn in batches until measureMs has passed; returns ns per call. */
function measure(fn: () => void): { nsPerOp: number; ops: number } {
  const deadline = (ms: number) => performance.now() + ms;
  for (const end = deadline(warmupMs); performance.now() < end;) fn();
  let ops = 0;
  const start = performance.now();
  const end = start + measureMs;
  for (let batch = 0; batch < 1e7 && performance.now() < end; batch++) {
    for (let i = 0; i < 100; i++) fn();
    ops += 100;
  }
  return { nsPerOp: ((performance.now() - start) * 1e6) / ops, ops };
}

function produceRequest(records: Buffer): ProduceRequest {
  return {
    transactionalId: null,
    acks: -1,
    timeoutMs: 30000,
    topicData: [{ name: 'bench-topic', topicId: '00000000-0000-0000-0000-000000000000', partitionData: [{ index: 0, records }] }],
  };
}

function metadataResponse(topics: number, partitions: number): MetadataResponse {
  return {
    throttleTimeMs: 0,
    brokers: [0, 1, 2].map((nodeId) => ({ nodeId, host: `broker-${nodeId}.local`, port: 9092, rack: null })),
    errorCode: 0,
    clusterId: 'runnel-bench-cluster',
    controllerId: 0,
    topics: Array.from({ length: topics }, (_, t) => ({
      errorCode: 0,
      name: `topic-${t}`,
      topicId: `00000000-0000-4000-8000-${t.toString(16).padStart(12, '0')}`,
      isInternal: false,
      partitions: Array.from({ length: partitions }, (_, p) => ({
        errorCode: 0,
        partitionIndex: p,
        leaderId: p % 3,
        leaderEpoch: 5,
        replicaNodes: [0, 1, 2],
        isrNodes: [0, 1, 2],
        offlineReplicas: [],
      })),
      topicAuthorizedOperations: -2147483648,
    })),
    clusterAuthorizedOperations: -2147483648,
  };
}

function benchProduce(): void {
  const version = latest(ApiKey.Produce);
  const records = Buffer.alloc(recordsBytes, 0x5a);
  const message = produceRequest(records);
  const header = { requestApiKey: ApiKey.Produce, requestApiVersion: version, correlationId: 1, clientId: 'bench' };

  const w = new Writer();
  encodeRequestHeader(w, header);
  encodeProduceRequest(w, version, message);
  assert.ok(w.finish().includes(records), 'encoded chunk list holds the records Buffer itself');
  const frame = w.finishBuffer();

  const r = new Reader(frame);
  decodeRequestHeader(r);
  const decoded = decodeProduceRequest(r, version).topicData[0].partitionData[0].records;
  assert.ok(decoded !== null && decoded.buffer === frame.buffer && decoded.length === recordsBytes,
    'decoded records share the frame\'s ArrayBuffer');

  const decode = measure(() => {
    const reader = new Reader(frame);
    decodeRequestHeader(reader);
    decodeProduceRequest(reader, version);
  });
  const encode = measure(() => {
    const writer = new Writer();
    encodeRequestHeader(writer, header);
    encodeProduceRequest(writer, version, message);
    writer.finish();
  });
  report(`ProduceRequest v${version} + header, 1 MiB records, decode`, decode, frame.length);
  report(`ProduceRequest v${version} + header, 1 MiB records, encode (finish → chunks)`, encode, frame.length);
  process.stdout.write('  zero copy: decoded records share the frame ArrayBuffer; encode chunk list holds the same Buffer\n');
}

function benchMetadata(): void {
  const version = latest(ApiKey.Metadata);
  const message = metadataResponse(100, 10);
  const w = new Writer();
  encodeMetadataResponse(w, version, message);
  const frame = w.finishBuffer();
  assert.ok(isDeepStrictEqual(decodeMetadataResponse(new Reader(frame), version), message), 'metadata round trip');
  const encode = measure(() => {
    const writer = new Writer(frame.length);
    encodeMetadataResponse(writer, version, message);
    writer.finishBuffer();
  });
  const decode = measure(() => decodeMetadataResponse(new Reader(frame), version));
  report(`MetadataResponse v${version}, 100 topics × 10 partitions, encode`, encode, frame.length);
  report(`MetadataResponse v${version}, 100 topics × 10 partitions, decode`, decode, frame.length);
}

function report(name: string, m: { nsPerOp: number; ops: number }, frameBytes: number): void {
  process.stdout.write(`${name}: ${m.nsPerOp.toFixed(0)} ns/op (${m.ops} ops, frame ${frameBytes} bytes)\n`);
}

process.stdout.write(`machine: ${cpus()[0]?.model ?? 'unknown CPU'} × ${cpus().length}, ${platform()} ${release()}, node ${process.version}\n`);
benchProduce();
benchMetadata();
