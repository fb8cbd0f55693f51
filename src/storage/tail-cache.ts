/**
 * A partition log's tail cache (DESIGN §4: "a bounded in-memory tail cache serves tailing consumers and
 * followers without a disk read"): the most recent batches in offset order, as the views the log appended.
 *
 * - Every batch not yet written to its segment file stays (the log's invariant: every offset in
 *   [startOffset, logEndOffset) is here, every offset below it is on disk); written ones are evicted from
 *   the front once the cache holds more than its limit.
 * - Evicted slots are emptied at once: an entry's buf is a slice of a whole request frame, and a log of
 *   1 MB batches evicts few entries, so waiting for the array's compaction kept ~1 GB per partition.
 */
import { invariant } from '../common/assert.js';
import type { LogSegment } from './segment.js';

export interface Deferred {
  resolve(): void;
  reject(err: Error): void;
}

/** One appended batch: where it goes in its segment and whether it is written / durable yet. */
export interface TailEntry {
  baseOffset: number;
  lastOffset: number;
  buf: Buffer;
  segment: LogSegment;
  position: number;
  written: boolean;
  durable: Deferred | undefined;
}

/** The array is compacted once this many slots at its front are empty (and they are half of it). */
const COMPACT_HEAD_SLOTS = 1024;

export class TailCache {
  /** Slots below head are evicted and emptied (undefined) so their buffers can be collected. */
  private entries: (TailEntry | undefined)[] = [];
  private head = 0;
  private bytes = 0;

  push(entry: TailEntry, limitBytes: number): void {
    this.entries.push(entry);
    this.bytes += entry.buf.length;
    this.evict(limitBytes);
  }

  /** Drops written entries from the front while the cache holds more than limitBytes. */
  evict(limitBytes: number): void {
    while (this.bytes > limitBytes && this.head < this.entries.length) {
      const first = this.entries[this.head] as TailEntry;
      if (!first.written) break;
      this.bytes -= first.buf.length;
      this.entries[this.head] = undefined;
      this.head++;
    }
    if (this.head > COMPACT_HEAD_SLOTS && this.head * 2 > this.entries.length) {
      this.entries = this.entries.slice(this.head);
      this.head = 0;
    }
  }

  /** The first cached offset, or logEndOffset when the cache is empty. */
  startOffset(logEndOffset: number): number {
    const first = this.entries[this.head];
    return first === undefined ? logEndOffset : first.baseOffset;
  }

  clear(): void {
    this.entries = [];
    this.head = 0;
    this.bytes = 0;
  }

  /** Drops cached entries at or above endOffset (all written: callers drained the IO chain). */
  truncate(endOffset: number): void {
    while (this.entries.length > this.head && (this.entries[this.entries.length - 1] as TailEntry).lastOffset >= endOffset) {
      const entry = this.entries.pop() as TailEntry;
      invariant(entry.written, 'truncating an unwritten tail entry');
      this.bytes -= entry.buf.length;
    }
  }

  /**
   * Whole batches from the one holding offset, below bound, up to maxBytes (at least one when
   * minOneBatch), as the cached views.
   */
  read(offset: number, maxBytes: number, bound: number, minOneBatch: boolean): Buffer[] {
    let lo = this.head;
    let hi = this.entries.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((this.entries[mid] as TailEntry).lastOffset < offset) lo = mid + 1; else hi = mid;
    }
    const out: Buffer[] = [];
    let total = 0;
    for (let i = lo; i < this.entries.length; i++) {
      const entry = this.entries[i] as TailEntry;
      if (entry.lastOffset >= bound) break;
      const fits = total + entry.buf.length <= maxBytes || (out.length === 0 && minOneBatch);
      if (!fits) break;
      out.push(entry.buf);
      total += entry.buf.length;
    }
    return out;
  }

  /** Calls fn with every cached entry of segment, in offset order. */
  forEachOf(segment: LogSegment, fn: (entry: TailEntry) => void): void {
    for (let i = this.head; i < this.entries.length; i++) {
      const entry = this.entries[i] as TailEntry;
      if (entry.segment === segment) fn(entry);
    }
  }
}
