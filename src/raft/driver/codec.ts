/**
 * Binary encoding of Raft messages, entries and snapshots for the TCP transport and the disk. Big-endian,
 * lengths first; a malformed input raises one error type (CodecError), never a half-built object
 * (STYLE.md 6).
 */
import type { ConfState, Entry, EntryType, Message, Snapshot } from '../core/types.js';

export class CodecError extends Error {
  override name = 'CodecError';
}

/** Limits on what a decoder accepts from the network or a damaged file. */
export const bytesFieldMax = 64 * 1024 * 1024;
export const entriesPerMessageMax = 65_536;
export const idsPerConfMax = 1024;

export class Writer {
  private buffer = Buffer.allocUnsafe(256);
  private length = 0;

  private reserve(bytes: number): void {
    if (this.length + bytes <= this.buffer.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.buffer.length * 2, this.length + bytes));
    this.buffer.copy(next, 0, 0, this.length);
    this.buffer = next;
  }

  u8(value: number): this {
    this.reserve(1);
    this.buffer.writeUInt8(value, this.length);
    this.length += 1;
    return this;
  }

  u32(value: number): this {
    this.reserve(4);
    this.buffer.writeUInt32BE(value, this.length);
    this.length += 4;
    return this;
  }

  /** Terms and indices: non-negative safe integers, 8 bytes on the wire. */
  u64(value: number): this {
    this.reserve(8);
    this.buffer.writeBigUInt64BE(BigInt(value), this.length);
    this.length += 8;
    return this;
  }

  bytes(value: Uint8Array): this {
    this.u32(value.length);
    this.reserve(value.length);
    this.buffer.set(value, this.length);
    this.length += value.length;
    return this;
  }

  string(value: string): this {
    return this.bytes(Buffer.from(value, 'utf8'));
  }

  finish(): Buffer {
    return this.buffer.subarray(0, this.length);
  }
}

export class Reader {
  private offset = 0;
  constructor(private readonly buffer: Buffer) {}

  private need(bytes: number): void {
    if (this.offset + bytes > this.buffer.length) throw new CodecError(`truncated input: need ${bytes} bytes at ${this.offset}`);
  }

  u8(): number {
    this.need(1);
    return this.buffer.readUInt8(this.offset++);
  }

  u32(): number {
    this.need(4);
    const value = this.buffer.readUInt32BE(this.offset);
    this.offset += 4;
    return value;
  }

  u64(): number {
    this.need(8);
    const value = this.buffer.readBigUInt64BE(this.offset);
    this.offset += 8;
    if (value > BigInt(Number.MAX_SAFE_INTEGER)) throw new CodecError(`integer ${value} beyond 2^53`);
    return Number(value);
  }

  bytes(): Uint8Array {
    const length = this.u32();
    if (length > bytesFieldMax) throw new CodecError(`bytes field of ${length} exceeds ${bytesFieldMax}`);
    this.need(length);
    const value = new Uint8Array(this.buffer.subarray(this.offset, this.offset + length));
    this.offset += length;
    return value;
  }

  string(): string {
    return Buffer.from(this.bytes()).toString('utf8');
  }

  count(max: number, what: string): number {
    const value = this.u32();
    if (value > max) throw new CodecError(`${what} count ${value} exceeds ${max}`);
    return value;
  }

  end(): void {
    if (this.offset !== this.buffer.length) throw new CodecError(`${this.buffer.length - this.offset} trailing bytes`);
  }
}

const messageTypes = [
  'pre-vote', 'vote', 'vote-response', 'pre-vote-response', 'append', 'append-response', 'heartbeat',
  'heartbeat-response', 'snapshot', 'timeout-now', 'read-index', 'read-index-response',
] as const satisfies readonly Message['type'][];

export function writeEntry(w: Writer, entry: Entry): void {
  w.u64(entry.index).u64(entry.term).u8(entry.type === 'conf-change' ? 1 : 0).bytes(entry.data);
}

export function readEntry(r: Reader): Entry {
  const index = r.u64();
  const term = r.u64();
  const code = r.u8();
  if (code > 1) throw new CodecError(`unknown entry type ${code}`);
  const type: EntryType = code === 1 ? 'conf-change' : 'normal';
  return { index, term, type, data: r.bytes() };
}

function writeIds(w: Writer, ids: readonly number[]): void {
  w.u32(ids.length);
  for (const id of ids) w.u32(id);
}

function readIds(r: Reader): number[] {
  return Array.from({ length: r.count(idsPerConfMax, 'node id') }, () => r.u32());
}

function writeConfState(w: Writer, conf: ConfState): void {
  writeIds(w, conf.voters);
  writeIds(w, conf.learners);
}

function readConfState(r: Reader): ConfState {
  return { voters: readIds(r), learners: readIds(r) };
}

export function writeSnapshot(w: Writer, snapshot: Snapshot): void {
  w.u64(snapshot.metadata.index).u64(snapshot.metadata.term);
  writeConfState(w, snapshot.metadata.confState);
  w.bytes(snapshot.data);
}

export function readSnapshot(r: Reader): Snapshot {
  const index = r.u64();
  const term = r.u64();
  const confState = readConfState(r);
  return { metadata: { index, term, confState }, data: r.bytes() };
}

export function encodeMessage(m: Message): Buffer {
  const w = new Writer().u8(messageTypes.indexOf(m.type)).u32(m.from).u32(m.to).u64(m.term);
  switch (m.type) {
    case 'pre-vote': w.u64(m.lastIndex).u64(m.lastTerm); break;
    case 'vote': w.u64(m.lastIndex).u64(m.lastTerm).u8(m.transfer ? 1 : 0); break;
    case 'vote-response':
    case 'pre-vote-response': w.u8(m.reject ? 1 : 0); break;
    case 'append':
      w.u64(m.prevIndex).u64(m.prevTerm).u64(m.commitIndex).u32(m.entries.length);
      for (const entry of m.entries) writeEntry(w, entry);
      break;
    case 'append-response': w.u64(m.index).u8(m.reject ? 1 : 0).u64(m.hintIndex).u64(m.hintTerm); break;
    case 'heartbeat': w.u64(m.commitIndex).string(m.context); break;
    case 'heartbeat-response': w.string(m.context); break;
    case 'snapshot': writeSnapshot(w, m.snapshot); break;
    case 'timeout-now': break;
    case 'read-index': w.string(m.context); break;
    case 'read-index-response': w.string(m.context).u64(m.index); break;
  }
  return w.finish();
}

export function decodeMessage(buffer: Buffer): Message {
  const r = new Reader(buffer);
  const type = messageTypes[r.u8()];
  if (type === undefined) throw new CodecError('unknown message type');
  const base = { from: r.u32(), to: r.u32(), term: r.u64() };
  const message = decodeBody(r, type, base);
  r.end();
  return message;
}

function decodeBody(r: Reader, type: Message['type'], base: { from: number; to: number; term: number }): Message {
  switch (type) {
    case 'pre-vote': return { type, ...base, lastIndex: r.u64(), lastTerm: r.u64() };
    case 'vote': return { type, ...base, lastIndex: r.u64(), lastTerm: r.u64(), transfer: r.u8() === 1 };
    case 'vote-response':
    case 'pre-vote-response': return { type, ...base, reject: r.u8() === 1 };
    case 'append': {
      const prevIndex = r.u64();
      const prevTerm = r.u64();
      const commitIndex = r.u64();
      const entries = Array.from({ length: r.count(entriesPerMessageMax, 'entry') }, () => readEntry(r));
      return { type, ...base, prevIndex, prevTerm, commitIndex, entries };
    }
    case 'append-response': return { type, ...base, index: r.u64(), reject: r.u8() === 1, hintIndex: r.u64(), hintTerm: r.u64() };
    case 'heartbeat': return { type, ...base, commitIndex: r.u64(), context: r.string() };
    case 'heartbeat-response': return { type, ...base, context: r.string() };
    case 'snapshot': return { type, ...base, snapshot: readSnapshot(r) };
    case 'timeout-now': return { type, ...base };
    case 'read-index': return { type, ...base, context: r.string() };
    case 'read-index-response': return { type, ...base, context: r.string(), index: r.u64() };
  }
}
