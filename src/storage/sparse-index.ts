/**
 * The two sparse per-segment indexes, held in memory and written whole (Kafka's on-disk formats):
 * - OffsetIndex `.index`: 8-byte entries (relativeOffset int32, position int32), Kafka's OffsetIndex;
 * - TimeIndex `.timeindex`: 12-byte entries (timestamp int64, relativeOffset int32), Kafka's TimeIndex.
 * Both are rebuildable from the `.log`, so a damaged file is detected on load and rebuilt, never trusted.
 */
import { readInt64, writeInt64 } from '../protocol/record-batch.js';
import { invariant } from '../common/assert.js';

/** Floor-lookup table of (key, value) pairs with strictly increasing keys. */
class SparseTable {
  keys = new Float64Array(16);
  values = new Float64Array(16);
  count = 0;

  push(key: number, value: number): void {
    if (this.count === this.keys.length) this.grow();
    this.keys[this.count] = key;
    this.values[this.count] = value;
    this.count++;
  }

  /** Index of the last entry with key ≤ target, or -1. */
  floor(target: number): number {
    let lo = 0;
    let hi = this.count - 1;
    let found = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      if ((this.keys[mid] as number) <= target) {
        found = mid;
        lo = mid + 1;
      } else {
        hi = mid - 1;
      }
    }
    return found;
  }

  /** Keeps the first n entries. */
  truncate(n: number): void {
    this.count = Math.min(this.count, n);
  }

  private grow(): void {
    const keys = new Float64Array(this.keys.length * 2);
    const values = new Float64Array(this.values.length * 2);
    keys.set(this.keys);
    values.set(this.values);
    this.keys = keys;
    this.values = values;
  }
}

export interface OffsetPosition {
  offset: number;
  position: number;
}

export class OffsetIndex {
  private readonly table = new SparseTable();

  constructor(readonly baseOffset: number, readonly maxEntries: number) {}

  get entries(): number {
    return this.table.count;
  }

  isFull(): boolean {
    return this.table.count >= this.maxEntries;
  }

  lastOffset(): number {
    return this.table.count === 0 ? this.baseOffset : (this.table.keys[this.table.count - 1] as number);
  }

  append(offset: number, position: number): void {
    invariant(offset > this.lastOffset() || this.table.count === 0, 'offset index must increase');
    if (this.isFull()) return;
    this.table.push(offset, position);
  }

  /** The greatest indexed offset ≤ target and its position; (baseOffset, 0) when there is none. */
  lookup(target: number): OffsetPosition {
    const i = this.table.floor(target);
    if (i < 0) return { offset: this.baseOffset, position: 0 };
    return { offset: this.table.keys[i] as number, position: this.table.values[i] as number };
  }

  /** Drops entries at or above offset (the log is cut there). */
  truncateTo(offset: number): void {
    this.table.truncate(this.table.floor(offset - 1) + 1);
  }

  serialize(): Buffer {
    const buf = Buffer.allocUnsafe(this.table.count * 8);
    for (let i = 0; i < this.table.count; i++) {
      buf.writeInt32BE((this.table.keys[i] as number) - this.baseOffset, i * 8);
      buf.writeInt32BE(this.table.values[i] as number, i * 8 + 4);
    }
    return buf;
  }

  /** Undefined when the file cannot be the index of a segment of segmentSize bytes. */
  static parse(buf: Buffer, baseOffset: number, maxEntries: number, segmentSize: number): OffsetIndex | undefined {
    if (buf.length % 8 !== 0) return undefined;
    const index = new OffsetIndex(baseOffset, Math.max(maxEntries, buf.length / 8));
    let lastPosition = -1;
    for (let at = 0; at < buf.length; at += 8) {
      const relative = buf.readInt32BE(at);
      const position = buf.readInt32BE(at + 4);
      const offset = baseOffset + relative;
      if (relative < 0 || position <= lastPosition || position >= segmentSize) return undefined;
      if (index.entries > 0 && offset <= index.lastOffset()) return undefined;
      index.table.push(offset, position);
      lastPosition = position;
    }
    return index;
  }
}

export interface TimestampOffset {
  timestamp: number;
  offset: number;
}

export class TimeIndex {
  private readonly table = new SparseTable();

  constructor(readonly baseOffset: number, readonly maxEntries: number) {}

  get entries(): number {
    return this.table.count;
  }

  isFull(): boolean {
    return this.table.count >= this.maxEntries;
  }

  lastEntry(): TimestampOffset | undefined {
    if (this.table.count === 0) return undefined;
    return { timestamp: this.table.keys[this.table.count - 1] as number, offset: this.table.values[this.table.count - 1] as number };
  }

  /** Kafka's TimeIndex.maybeAppend: only a strictly larger timestamp makes a new entry. */
  maybeAppend(timestamp: number, offset: number): void {
    const last = this.lastEntry();
    if (last !== undefined && (timestamp <= last.timestamp || offset < last.offset)) return;
    if (this.isFull()) return;
    this.table.push(timestamp, offset);
  }

  /** The entry with the greatest timestamp ≤ target: where a timestamp search may start. */
  lookup(target: number): TimestampOffset | undefined {
    const i = this.table.floor(target);
    if (i < 0) return undefined;
    return { timestamp: this.table.keys[i] as number, offset: this.table.values[i] as number };
  }

  /** Drops entries whose offset is at or above offset. */
  truncateTo(offset: number): void {
    let n = this.table.count;
    while (n > 0 && (this.table.values[n - 1] as number) >= offset) n--;
    this.table.truncate(n);
  }

  serialize(): Buffer {
    const buf = Buffer.allocUnsafe(this.table.count * 12);
    for (let i = 0; i < this.table.count; i++) {
      writeInt64(buf, i * 12, this.table.keys[i] as number);
      buf.writeInt32BE((this.table.values[i] as number) - this.baseOffset, i * 12 + 8);
    }
    return buf;
  }

  static parse(buf: Buffer, baseOffset: number, maxEntries: number, nextOffset: number): TimeIndex | undefined {
    if (buf.length % 12 !== 0) return undefined;
    const index = new TimeIndex(baseOffset, Math.max(maxEntries, buf.length / 12));
    for (let at = 0; at < buf.length; at += 12) {
      const timestamp = readInt64(buf, at);
      const offset = baseOffset + buf.readInt32BE(at + 8);
      const last = index.lastEntry();
      if (offset < baseOffset || offset >= nextOffset) return undefined;
      if (last !== undefined && (timestamp <= last.timestamp || offset < last.offset)) return undefined;
      index.table.push(timestamp, offset);
    }
    return index;
  }
}
