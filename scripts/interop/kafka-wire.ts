// A deliberately tiny Kafka wire client for readiness checks and the benchmark's
// "time from process start to first successful produce": ApiVersions v0, Metadata v1 and Produce v3
// (one record batch, magic 2, CRC-32C). Independent of src/protocol on purpose: it measures Runnel
// from the outside, the way a client would.
import { Socket, connect, createServer } from 'node:net';
import { crc32c } from '@node-rs/crc32';

function header(apiKey: number, version: number, correlationId: number, clientId: string): Buffer {
  const id = Buffer.from(clientId);
  const b = Buffer.alloc(10 + id.length);
  b.writeInt16BE(apiKey, 0);
  b.writeInt16BE(version, 2);
  b.writeInt32BE(correlationId, 4);
  b.writeInt16BE(id.length, 8);
  id.copy(b, 10);
  return b;
}

function str(s: string): Buffer {
  const b = Buffer.from(s);
  const l = Buffer.alloc(2);
  l.writeInt16BE(b.length);
  return Buffer.concat([l, b]);
}

function i32(n: number): Buffer { const b = Buffer.alloc(4); b.writeInt32BE(n); return b; }
function i16(n: number): Buffer { const b = Buffer.alloc(2); b.writeInt16BE(n); return b; }

function zigzagVarint(n: number): Buffer {
  let v = BigInt(n);
  v = v >= 0n ? v << 1n : ((-v) << 1n) - 1n;
  const out: number[] = [];
  while (v >= 0x80n) { out.push(Number((v & 0x7fn) | 0x80n)); v >>= 7n; }
  out.push(Number(v));
  return Buffer.from(out);
}

/** One record batch (magic 2) holding one record with the given value, no key, no headers. */
export function recordBatch(value: Buffer, timestampMs: number): Buffer {
  const body = Buffer.concat([
    Buffer.from([0]), // record attributes
    zigzagVarint(0), // timestampDelta
    zigzagVarint(0), // offsetDelta
    zigzagVarint(-1), // key length (null)
    zigzagVarint(value.length), value,
    zigzagVarint(0), // headers count
  ]);
  const record = Buffer.concat([zigzagVarint(body.length), body]);
  const afterCrc = Buffer.alloc(2 + 4 + 8 + 8 + 8 + 2 + 4 + 4);
  let o = 0;
  afterCrc.writeInt16BE(0, o); o += 2; // attributes
  afterCrc.writeInt32BE(0, o); o += 4; // lastOffsetDelta
  afterCrc.writeBigInt64BE(BigInt(timestampMs), o); o += 8; // baseTimestamp
  afterCrc.writeBigInt64BE(BigInt(timestampMs), o); o += 8; // maxTimestamp
  afterCrc.writeBigInt64BE(-1n, o); o += 8; // producerId
  afterCrc.writeInt16BE(-1, o); o += 2; // producerEpoch
  afterCrc.writeInt32BE(-1, o); o += 4; // baseSequence
  afterCrc.writeInt32BE(1, o); // records count
  const crcInput = Buffer.concat([afterCrc, record]);
  const head = Buffer.alloc(8 + 4 + 4 + 1 + 4);
  head.writeBigInt64BE(0n, 0); // baseOffset
  head.writeInt32BE(4 + 1 + 4 + crcInput.length, 8); // batchLength: from partitionLeaderEpoch to the end
  head.writeInt32BE(-1, 12); // partitionLeaderEpoch
  head.writeInt8(2, 16); // magic
  head.writeUInt32BE(crc32c(crcInput) >>> 0, 17);
  return Buffer.concat([head, crcInput]);
}

/** One request/response exchange on a fresh connection. Resolves with the response body after the correlation id. */
export function exchange(address: string, apiKey: number, version: number, body: Buffer, timeoutMs = 5000, expectResponse = true): Promise<Buffer> {
  const [host, portStr] = splitHostPort(address);
  return new Promise((resolve, reject) => {
    const sock: Socket = connect({ host, port: Number(portStr) });
    const timer = setTimeout(() => { sock.destroy(); reject(new Error(`timeout ${apiKey}v${version} to ${address}`)); }, timeoutMs);
    let acc = Buffer.alloc(0);
    const done = (err: Error | null, value?: Buffer): void => {
      clearTimeout(timer);
      sock.destroy();
      if (err) reject(err); else resolve(value!);
    };
    sock.on('error', (e) => done(e));
    sock.on('connect', () => {
      const payload = Buffer.concat([header(apiKey, version, 7, 'runnel-probe'), body]);
      sock.write(Buffer.concat([i32(payload.length), payload]));
      if (!expectResponse) setTimeout(() => done(null, Buffer.alloc(0)), 50);
    });
    sock.on('data', (d) => {
      acc = Buffer.concat([acc, d]);
      if (acc.length >= 4) {
        const size = acc.readInt32BE(0);
        if (acc.length >= 4 + size) done(null, acc.subarray(8, 4 + size));
      }
    });
    sock.on('close', () => done(new Error(`connection closed by ${address}`)));
  });
}

export function splitHostPort(address: string): [string, string] {
  const i = address.lastIndexOf(':');
  return [address.slice(0, i), address.slice(i + 1)];
}

export async function apiVersionsOk(address: string, timeoutMs = 3000): Promise<boolean> {
  try {
    const r = await exchange(address, 18, 0, Buffer.alloc(0), timeoutMs);
    return r.length >= 2 && r.readInt16BE(0) === 0;
  } catch {
    return false;
  }
}

/** Metadata v1 (all topics when `topics` is undefined; v1 auto-creates listed topics where the broker allows). */
export async function metadataBrokerCount(address: string, topics?: string[], timeoutMs = 3000): Promise<number> {
  const body = topics ? Buffer.concat([i32(topics.length), ...topics.map(str)]) : i32(-1);
  const r = await exchange(address, 3, 1, body, timeoutMs);
  return r.readInt32BE(0);
}

/**
 * Metadata v1 for one topic: the address of partition 0's leader, or undefined while there is none
 * (v1 asks brokers that allow it to auto-create the topic).
 */
export async function partitionLeader(address: string, topic: string, timeoutMs = 3000): Promise<string | undefined> {
  const r = await exchange(address, 3, 1, Buffer.concat([i32(1), str(topic)]), timeoutMs);
  let o = 0;
  const brokers = new Map<number, string>();
  const nBrokers = r.readInt32BE(o); o += 4;
  for (let b = 0; b < nBrokers; b++) {
    const id = r.readInt32BE(o); o += 4;
    const hl = r.readInt16BE(o); o += 2;
    const host = r.subarray(o, o + hl).toString(); o += hl;
    const port = r.readInt32BE(o); o += 4;
    const rl = r.readInt16BE(o); o += 2 + Math.max(0, rl);
    brokers.set(id, `${host}:${port}`);
  }
  o += 4; // controller_id
  const nTopics = r.readInt32BE(o); o += 4;
  for (let t = 0; t < nTopics; t++) {
    const err = r.readInt16BE(o); o += 2;
    const nl = r.readInt16BE(o); o += 2 + nl;
    o += 1; // is_internal
    const nParts = r.readInt32BE(o); o += 4;
    for (let p = 0; p < nParts; p++) {
      const perr = r.readInt16BE(o); o += 2;
      const index = r.readInt32BE(o); o += 4;
      const leader = r.readInt32BE(o); o += 4;
      const nr = r.readInt32BE(o); o += 4 + 4 * nr;
      const ni = r.readInt32BE(o); o += 4 + 4 * ni;
      if (err === 0 && perr === 0 && index === 0 && leader >= 0) return brokers.get(leader);
    }
  }
  return undefined;
}

/** Waits until the broker at `address` answers Metadata listing at least `brokers` brokers. */
export async function waitForBrokers(address: string, brokers: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = 'no answer';
  for (let attempt = 0; attempt < 100_000 && Date.now() < deadline; attempt++) {
    try {
      const n = await metadataBrokerCount(address, undefined, 2000);
      if (n >= brokers) return;
      last = `${n} brokers`;
    } catch (e) {
      last = (e as Error).message;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`broker at ${address} not ready after ${timeoutMs} ms (${last})`);
}

/** Produce v3, acks=1, one record to partition 0. Returns the Kafka error code (0 = success). */
export async function produceOne(address: string, topic: string, value: Buffer, timeoutMs = 3000): Promise<number> {
  const batch = recordBatch(value, Date.now());
  const body = Buffer.concat([
    i16(-1), // transactional_id null
    i16(1), // acks
    i32(timeoutMs),
    i32(1), str(topic),
    i32(1), i32(0), i32(batch.length), batch,
  ]);
  const r = await exchange(address, 0, 3, body, timeoutMs + 1000);
  // topics[1] name partitions[1] index error_code ...
  let o = 4;
  const nameLen = r.readInt16BE(o); o += 2 + nameLen;
  o += 4; // partitions count
  o += 4; // partition index
  return r.readInt16BE(o);
}

/**
 * Loops Metadata(topic) + Produce to partition 0's leader until one produce succeeds; returns the ms it took.
 * Used for "time from process start to first successful produce".
 */
export async function produceUntilSuccess(address: string, topic: string, timeoutMs: number): Promise<number> {
  const start = Date.now();
  let last = '';
  for (let attempt = 0; attempt < 100_000 && Date.now() - start < timeoutMs; attempt++) {
    try {
      const leader = await partitionLeader(address, topic, 1000);
      if (!leader) { last = 'no leader yet'; await new Promise((r) => setTimeout(r, 20)); continue; }
      const code = await produceOne(leader, topic, Buffer.from('first'), 1000);
      if (code === 0) return Date.now() - start;
      last = `error code ${code}`;
    } catch (e) {
      last = (e as Error).message;
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`no successful produce within ${timeoutMs} ms (${last})`);
}

/**
 * A loopback TCP port that was free a moment ago (bind to port 0, read it, close). The machine is
 * shared: fixed ports collide with other runs of the same scripts.
 */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const a = srv.address();
      const port = typeof a === 'object' && a ? a.port : 0;
      srv.close(() => resolve(port));
    });
  });
}
