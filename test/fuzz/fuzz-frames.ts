/**
 * Seeded generator of hostile request frames for the network fuzz test: random bytes, valid ApiVersions /
 * Metadata / DescribeCluster / DescribeLogDirs / DescribeProducers / Fetch requests with mutations (bit flips, truncation, huge array counts, invalid
 * UTF-8, random versions and keys), bad size prefixes, and size prefixes that declare up to 100 MB and
 * send a few bytes. Every byte comes from one Prng seed.
 */
import { Prng } from '../../src/common/prng.js';
import { Writer } from '../../src/protocol/writer.js';
import { encodeRequestHeader } from '../../src/protocol/headers.js';
import { ApiKey, encodeRequest } from '../../src/protocol/generated/index.js';

const zeroUuid = '00000000-0000-0000-0000-000000000000';

export type FrameKind =
  | 'random'
  | 'valid'
  | 'mutated'
  | 'truncated'
  | 'huge-count'
  | 'invalid-utf8'
  | 'random-version'
  | 'bad-size'
  | 'lying-size';

export interface FuzzFrame {
  readonly kind: FrameKind;
  /** Size prefix included (possibly a lying one). */
  readonly bytes: Buffer;
}

function prefixed(body: Buffer, size = body.length): Buffer {
  const out = Buffer.allocUnsafe(4 + body.length);
  out.writeInt32BE(size, 0);
  body.copy(out, 4);
  return out;
}

function randomBytes(prng: Prng, length: number): Buffer {
  const out = Buffer.allocUnsafe(length);
  for (let i = 0; i < length; i++) out[i] = prng.int(0, 255);
  return out;
}

function randomName(prng: Prng): string {
  const alphabet = ['a', 'b', 'Z', '0', '.', '_', '-', ' ', 'é', '日', '\u0000', '🚀'];
  let name = '';
  const length = prng.int(0, 40);
  for (let i = 0; i < length; i++) name += prng.pick(alphabet);
  return name;
}

/** A well-formed request body (no size prefix) for one of the served APIs, at a served version. */
export function validRequest(prng: Prng, correlationId: number): Buffer {
  const w = new Writer();
  const which = prng.int(0, 5);
  const clientId = prng.chance(0.1) ? null : randomName(prng);
  if (which === 0) {
    const version = prng.int(0, 4);
    encodeRequestHeader(w, { requestApiKey: ApiKey.ApiVersions, requestApiVersion: version, correlationId, clientId });
    encodeRequest(ApiKey.ApiVersions, version, w, {
      clientSoftwareName: version >= 3 ? prng.pick(['kcat', 'java', randomName(prng)]) : '',
      clientSoftwareVersion: version >= 3 ? prng.pick(['1.0', '2.0.2', randomName(prng)]) : '',
      clusterId: null, nodeId: -1,
    });
  } else if (which === 1) {
    const version = prng.int(0, 12);
    encodeRequestHeader(w, { requestApiKey: ApiKey.Metadata, requestApiVersion: version, correlationId, clientId });
    const count = prng.int(0, 6);
    const topics = version >= 1 && prng.chance(0.3)
      ? null
      : Array.from({ length: count }, () => ({ topicId: zeroUuid, name: prng.chance(0.2) ? prng.pick(FETCH_TOPICS) : randomName(prng) }));
    encodeRequest(ApiKey.Metadata, version, w, {
      topics,
      allowAutoTopicCreation: version >= 4 ? prng.chance(0.5) : true,
      includeClusterAuthorizedOperations: version >= 8 && version <= 10 ? prng.chance(0.5) : false,
      includeTopicAuthorizedOperations: version >= 8 ? prng.chance(0.5) : false,
    });
  } else if (which === 3) {
    const version = prng.int(0, 4);
    encodeRequestHeader(w, { requestApiKey: ApiKey.DescribeLogDirs, requestApiVersion: version, correlationId, clientId });
    const topics = prng.chance(0.3)
      ? null
      : Array.from({ length: prng.int(0, 4) }, () => ({ topic: randomName(prng), partitions: Array.from({ length: prng.int(0, 4) }, () => prng.int(-2, 5)) }));
    encodeRequest(ApiKey.DescribeLogDirs, version, w, { topics });
  } else if (which === 4) {
    encodeRequestHeader(w, { requestApiKey: ApiKey.DescribeProducers, requestApiVersion: 0, correlationId, clientId });
    encodeRequest(ApiKey.DescribeProducers, 0, w, {
      topics: Array.from({ length: prng.int(0, 4) }, () => ({ name: randomName(prng), partitionIndexes: Array.from({ length: prng.int(0, 4) }, () => prng.int(-2, 5)) })),
    });
  } else if (which === 5) {
    fetchRequest(prng, w, correlationId, clientId);
  } else {
    const version = prng.int(0, 1);
    encodeRequestHeader(w, { requestApiKey: ApiKey.DescribeCluster, requestApiVersion: version, correlationId, clientId });
    encodeRequest(ApiKey.DescribeCluster, version, w, {
      includeClusterAuthorizedOperations: prng.chance(0.5),
      endpointType: version >= 1 ? prng.int(0, 3) : 1,
      includeFencedBrokers: false,
    });
  }
  return w.finishBuffer();
}

/** Topics the Metadata requests above may auto-create, so some Fetches find a partition. */
const FETCH_TOPICS = ['fuzz-a', 'fuzz-b'];

/**
 * A Consumer Fetch (issue #26: it reserves response memory before it reads) with hostile sizes:
 * max_bytes and partition_max_bytes from 0 to 2^31-1, any offset, a short max_wait_ms (a parked fetch
 * must not outlive the fuzz connection's close timeout), sessions that do not exist.
 */
function fetchRequest(prng: Prng, w: Writer, correlationId: number, clientId: string | null): void {
  const version = prng.int(4, 17);
  encodeRequestHeader(w, { requestApiKey: ApiKey.Fetch, requestApiVersion: version, correlationId, clientId });
  const size = (): number => prng.pick([0, 1, 1024, 1 << 20, 57_671_680, 0x7fffffff, prng.int(0, 0x7fffffff)]);
  const topicId = (): string => (version >= 13 && prng.chance(0.8) ? randomUuid(prng) : zeroUuid);
  encodeRequest(ApiKey.Fetch, version, w, {
    clusterId: null,
    replicaId: -1,
    replicaState: { replicaId: -1, replicaEpoch: -1n },
    maxWaitMs: prng.pick([0, 1, 10, 50]),
    minBytes: size(),
    maxBytes: size(),
    isolationLevel: prng.int(0, 1),
    sessionId: prng.chance(0.8) ? 0 : prng.int(0, 0x7fffffff),
    sessionEpoch: prng.pick([-1, 0, 1, prng.int(-5, 100)]),
    topics: Array.from({ length: prng.int(0, 3) }, () => ({
      topic: prng.chance(0.7) ? prng.pick(FETCH_TOPICS) : randomName(prng),
      topicId: topicId(),
      partitions: Array.from({ length: prng.int(0, 3) }, () => ({
        partition: prng.int(-1, 2),
        currentLeaderEpoch: prng.pick([-1, 0, prng.int(-5, 5)]),
        fetchOffset: BigInt(prng.pick([0, 1, -1, prng.int(0, 1_000_000)])),
        lastFetchedEpoch: -1,
        logStartOffset: -1n,
        partitionMaxBytes: size(),
        replicaDirectoryId: zeroUuid,
        highWatermark: -1n,
      })),
    })),
    forgottenTopicsData: [],
    rackId: '',
  });
}

function randomUuid(prng: Prng): string {
  const hex = randomBytes(prng, 16).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

function mutate(prng: Prng, body: Buffer): Buffer {
  const out = Buffer.from(body);
  const edits = prng.int(1, 4);
  for (let i = 0; i < edits && out.length > 0; i++) {
    const at = prng.int(0, out.length - 1);
    if (prng.chance(0.5)) out[at] = (out[at] ?? 0) ^ (1 << prng.int(0, 7));
    else out[at] = prng.pick([0x00, 0x7f, 0x80, 0xff]);
  }
  return out;
}

/** Overwrites 4 (or 5, varint) bytes after the header with a huge array/string count. */
function hugeCount(prng: Prng, body: Buffer): Buffer {
  const at = Math.min(body.length, prng.int(8, Math.max(8, body.length)));
  const count = prng.pick([
    Buffer.from([0x7f, 0xff, 0xff, 0xff]),
    Buffer.from([0xff, 0xff, 0xff, 0xfe]),
    Buffer.from([0xff, 0xff, 0xff, 0xff, 0x0f]),
    Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0x01]),
    Buffer.from([0x00, 0x10, 0x00, 0x00]),
  ]);
  return Buffer.concat([body.subarray(0, at), count, body.subarray(at)]);
}

/** ApiVersions v3 (compact strings) or Metadata v1 (classic strings) with a name that is not UTF-8. */
function invalidUtf8(prng: Prng, correlationId: number): Buffer {
  const bad = prng.pick([[0xc3, 0x28], [0xff], [0xed, 0xa0, 0x80], [0xe2, 0x82], [0xf0, 0x28, 0x8c, 0x28]]);
  const w = new Writer();
  if (prng.chance(0.5)) {
    encodeRequestHeader(w, { requestApiKey: ApiKey.ApiVersions, requestApiVersion: 3, correlationId, clientId: 'x' });
    w.writeUVarint(bad.length + 1);
    w.writeRaw(Buffer.from(bad));
    w.writeCompactString('1.0');
    w.writeUVarint(0);
  } else {
    encodeRequestHeader(w, { requestApiKey: ApiKey.Metadata, requestApiVersion: 1, correlationId, clientId: 'x' });
    w.writeInt32(1);
    w.writeInt16(bad.length);
    w.writeRaw(Buffer.from(bad));
  }
  return w.finishBuffer();
}

function randomVersion(prng: Prng, body: Buffer): Buffer {
  const out = Buffer.from(body);
  if (out.length < 4) return out;
  if (prng.chance(0.3)) out.writeInt16BE(prng.int(-32768, 32767), 0);
  out.writeInt16BE(prng.pick([-1, 5, 13, 2, 127, 32767, prng.int(-32768, 32767)]), 2);
  return out;
}

/**
 * A size prefix that declares far more than follows (up to socket.request.max.bytes): the broker must
 * charge the declared size to queued.max.request.bytes before reading, and give it back when the peer
 * goes away mid-frame (issue #26).
 */
function lyingSize(prng: Prng, body: Buffer): Buffer {
  // Mostly ≤ 16 MB, now and then 100 MB: 24 connections declaring 100 MB each would keep the 256 MiB
  // pool full and the run would measure waiting, not frames.
  const size = prng.chance(0.05) ? 104_857_600 : prng.pick([64 << 10, 1 << 20, 4 << 20, 16 << 20, prng.int(body.length + 1, 16 << 20)]);
  return prefixed(body, size);
}

function badSize(prng: Prng, body: Buffer): Buffer {
  const size = prng.pick([-1, -2147483648, 104857601, 2147483647, body.length + prng.int(1, 1000), Math.max(0, body.length - prng.int(1, 8))]);
  return prefixed(body, size);
}

export function fuzzFrame(prng: Prng, correlationId: number): FuzzFrame {
  const roll = prng.int(0, 99);
  if (roll < 8) return { kind: 'random', bytes: prefixed(randomBytes(prng, prng.int(0, 64))) };
  if (roll < 30) return { kind: 'valid', bytes: prefixed(validRequest(prng, correlationId)) };
  const body = validRequest(prng, correlationId);
  if (roll < 60) return { kind: 'mutated', bytes: prefixed(mutate(prng, body)) };
  if (roll < 70) return { kind: 'truncated', bytes: prefixed(body.subarray(0, prng.int(0, body.length - 1))) };
  if (roll < 78) return { kind: 'huge-count', bytes: prefixed(hugeCount(prng, body)) };
  if (roll < 84) return { kind: 'invalid-utf8', bytes: prefixed(invalidUtf8(prng, correlationId)) };
  if (roll < 93) return { kind: 'random-version', bytes: prefixed(randomVersion(prng, body)) };
  if (roll < 97) return { kind: 'bad-size', bytes: badSize(prng, body) };
  return { kind: 'lying-size', bytes: lyingSize(prng, body) };
}
