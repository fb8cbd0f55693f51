/**
 * One segment's aborted-transaction index, `<baseOffset>.txnindex` (Kafka's TransactionIndex and
 * AbortedTxn, KIP-98): one 34-byte entry per transaction whose ABORT marker lies in the segment —
 * version i16 (0), producerId i64, firstOffset i64, lastOffset i64 (the marker's offset),
 * lastStableOffset i64 (the partition's LSO once that transaction closed) — in marker order, so
 * lastOffset increases strictly through the file. A read_committed fetch reads the entries overlapping
 * what it returns (`collect`); nothing of a segment's index stays in memory except the entries appended
 * but not yet written (`pending`, bounded by what one flush window appends) and two numbers.
 *
 * Like Kafka, the file exists only once an entry is written, and an entry is appended without a sync;
 * the partition log syncs the file when the segment is finalised, before a producer snapshot and at
 * close, and `recover` cuts a torn or stale tail after a crash (storage/partition-log.ts explains which
 * segments that covers). The index is derived and local: replicas hold the same `.log` bytes, not
 * necessarily the same `.txnindex` files.
 */
import { promises as fsp } from 'node:fs';
import { invariant } from '../common/assert.js';
import { readInt64, writeInt64 } from '../protocol/record-batch.js';
import type { FilePool } from './file-pool.js';
import { dirname } from 'node:path';
import { ftruncateFd, fdatasyncFd, fsyncDirectory, preadFull, pwritevFull, unlinkIfExists } from './fs-util.js';

/** AbortedTxn.TOTAL_SIZE. */
export const ABORTED_TXN_BYTES = 34;
/** AbortedTxn.CURRENT_VERSION. */
export const ABORTED_TXN_VERSION = 0;
/** Entries read per pread while scanning forward (about 64 KiB). */
const SCAN_CHUNK_ENTRIES = 1927;

/** An aborted transaction as the index stores it (Kafka's AbortedTxn). */
export interface AbortedTxn {
  readonly producerId: number;
  readonly firstOffset: number;
  /** Offset of the ABORT marker. */
  readonly lastOffset: number;
  /** The last stable offset when the transaction closed: no later entry overlaps offsets below it. */
  readonly lastStableOffset: number;
}

/** TxnIndexSearchResult: `complete` when no later segment can hold an entry overlapping the range. */
export interface TxnIndexSearchResult {
  readonly abortedTransactions: AbortedTxn[];
  readonly complete: boolean;
}

export function encodeAbortedTxns(txns: readonly AbortedTxn[]): Buffer {
  const buf = Buffer.allocUnsafe(txns.length * ABORTED_TXN_BYTES);
  let pos = 0;
  for (const txn of txns) {
    buf.writeInt16BE(ABORTED_TXN_VERSION, pos);
    writeInt64(buf, pos + 2, txn.producerId);
    writeInt64(buf, pos + 10, txn.firstOffset);
    writeInt64(buf, pos + 18, txn.lastOffset);
    writeInt64(buf, pos + 26, txn.lastStableOffset);
    pos += ABORTED_TXN_BYTES;
  }
  return buf;
}

export function decodeAbortedTxn(buf: Buffer, pos: number): AbortedTxn {
  return {
    producerId: readInt64(buf, pos + 2),
    firstOffset: readInt64(buf, pos + 10),
    lastOffset: readInt64(buf, pos + 18),
    lastStableOffset: readInt64(buf, pos + 26),
  };
}

/**
 * Bytes of buf that are whole, sane entries for a segment holding offsets [baseOffset, endOffset):
 * version 0, a marker inside the segment after the previous entry's, a first offset before the marker
 * (an aborted transaction holds at least one record). Stops at the first entry that is not — a torn
 * append, a page of zeros a crash left, or an entry whose marker recovery cut from the log.
 */
export function validEntriesBytes(buf: Buffer, baseOffset: number, endOffset: number): number {
  let previous = -1;
  let pos = 0;
  for (; pos + ABORTED_TXN_BYTES <= buf.length; pos += ABORTED_TXN_BYTES) {
    if (buf.readInt16BE(pos) !== ABORTED_TXN_VERSION) break;
    const txn = decodeAbortedTxn(buf, pos);
    const sane = txn.lastOffset >= baseOffset && txn.lastOffset < endOffset && txn.lastOffset > previous
      && txn.firstOffset >= 0 && txn.firstOffset < txn.lastOffset && txn.producerId >= 0;
    if (!sane) break;
    previous = txn.lastOffset;
  }
  return pos;
}

/** TransactionIndex.collectAbortedTxns' test for one entry, and whether the search may stop there. */
function visit(txn: AbortedTxn, fetchOffset: number, upperBoundOffset: number, out: AbortedTxn[]): boolean {
  if (txn.lastOffset >= fetchOffset && txn.firstOffset < upperBoundOffset) out.push(txn);
  return txn.lastStableOffset >= upperBoundOffset;
}

export class TransactionIndex {
  /** Entries in the file; -1 until first needed (a file found at open is not read until then). */
  private fileEntries: number;
  /** Appended, not yet written; lastOffset increasing, all above the file's entries. */
  private pending: AbortedTxn[] = [];
  /** The file has writes no sync covered. */
  private unsynced = false;
  /** The file may have been created since the directory was last synced (its entry is not durable yet). */
  private created = false;
  /** lastOffset of the last entry appended (written or pending); -1 when none or not yet read. */
  private lastAppended = -1;

  constructor(readonly path: string, readonly baseOffset: number, fileExists = false) {
    this.fileEntries = fileExists ? -1 : 0;
  }

  get pendingCount(): number {
    return this.pending.length;
  }

  /** True when the index certainly holds nothing (no file, nothing pending): reads skip it. */
  isEmpty(): boolean {
    return this.fileEntries === 0 && this.pending.length === 0;
  }

  /** TransactionIndex.append: the entry is readable at once and reaches the file with `writePending`. */
  append(txn: AbortedTxn): void {
    invariant(txn.lastOffset > this.lastAppended, () => `${this.path}: aborted transaction at ${txn.lastOffset} not after ${this.lastAppended}`);
    invariant(txn.lastOffset >= this.baseOffset, () => `${this.path}: aborted transaction at ${txn.lastOffset} below the segment`);
    this.pending.push(txn);
    this.lastAppended = txn.lastOffset;
  }

  /** Writes the pending entries whose marker is below upToOffset (durable in the log), unsynced. */
  async writePending(pool: FilePool, upToOffset: number): Promise<void> {
    let count = 0;
    while (count < this.pending.length && (this.pending[count] as AbortedTxn).lastOffset < upToOffset) count++;
    if (count === 0) return;
    const entries = this.pending.slice(0, count);
    const fileEntries = await this.entriesOnFile();
    if (fileEntries === 0) this.created = true;
    await pool.withFile(this.path, true, (fd) => pwritevFull(fd, [encodeAbortedTxns(entries)], fileEntries * ABORTED_TXN_BYTES));
    this.fileEntries = fileEntries + count;
    this.unsynced = true;
    // Appends made during the write were pushed behind these: drop exactly the written ones.
    this.pending = this.pending.slice(count);
  }

  async sync(pool: FilePool): Promise<void> {
    if (!this.unsynced) return;
    await pool.withFile(this.path, false, fdatasyncFd);
    // A file created by the first write needs its directory entry made durable too.
    if (this.created) await fsyncDirectory(dirname(this.path));
    this.unsynced = false;
    this.created = false;
  }

  /**
   * TransactionIndex.collectAbortedTxns over the file, then the pending entries. Entries before the
   * first whose marker is at or after fetchOffset cannot overlap the range and are skipped by a binary
   * search (the file is sorted by lastOffset); the scan stops at the first entry whose last stable
   * offset reaches upperBoundOffset, as Kafka's does.
   */
  async collect(pool: FilePool, fetchOffset: number, upperBoundOffset: number): Promise<TxnIndexSearchResult> {
    const out: AbortedTxn[] = [];
    if (this.fileEntries < 0) await this.entriesOnFile();
    // Taken together: a write in flight moves entries from pending to the file in one step.
    const fileEntries = this.fileEntries;
    const pending = this.pending;
    if (fileEntries > 0) {
      const complete = await this.collectFromFile(pool, fileEntries, fetchOffset, upperBoundOffset, out);
      if (complete) return { abortedTransactions: out, complete };
    }
    for (const txn of pending) {
      if (visit(txn, fetchOffset, upperBoundOffset, out)) return { abortedTransactions: out, complete: true };
    }
    return { abortedTransactions: out, complete: false };
  }

  private async collectFromFile(pool: FilePool, fileEntries: number, fetchOffset: number, upperBoundOffset: number, out: AbortedTxn[]): Promise<boolean> {
    return pool.withFile(this.path, false, async (fd) => {
      const one = Buffer.allocUnsafe(ABORTED_TXN_BYTES);
      let low = 0;
      let high = fileEntries;
      // Invariant: entries below low end before fetchOffset; entries from high on end at or after it.
      // Narrowed to one chunk only: the forward read skips the rest (an entry ending before fetchOffset
      // is not reported, and if its LSO reaches the bound no later entry overlaps the range either).
      while (high - low > SCAN_CHUNK_ENTRIES) {
        const mid = (low + high) >>> 1;
        if (await preadFull(fd, one, ABORTED_TXN_BYTES, mid * ABORTED_TXN_BYTES) < ABORTED_TXN_BYTES) return false;
        if (decodeAbortedTxn(one, 0).lastOffset < fetchOffset) low = mid + 1;
        else high = mid;
      }
      const chunk = Buffer.allocUnsafe(Math.min(fileEntries - low, SCAN_CHUNK_ENTRIES) * ABORTED_TXN_BYTES);
      for (let at = low; at < fileEntries;) {
        const count = Math.min(fileEntries - at, SCAN_CHUNK_ENTRIES);
        const bytes = await preadFull(fd, chunk, count * ABORTED_TXN_BYTES, at * ABORTED_TXN_BYTES);
        // Shorter than known: a truncation ran meanwhile; what was read is all there is.
        const whole = Math.floor(bytes / ABORTED_TXN_BYTES);
        for (let i = 0; i < whole; i++) {
          if (visit(decodeAbortedTxn(chunk, i * ABORTED_TXN_BYTES), fetchOffset, upperBoundOffset, out)) return true;
        }
        if (whole < count) return false;
        at += count;
      }
      return false;
    }).catch((err: unknown) => {
      // Deleted with its segment (retention) while a fetch looked: nothing left to report there.
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
      throw err;
    });
  }

  /** lastOffset of the last entry, -1 when none (recovery replays only markers after it). */
  async lastOffset(pool: FilePool): Promise<number> {
    if (this.pending.length > 0) return (this.pending[this.pending.length - 1] as AbortedTxn).lastOffset;
    const fileEntries = await this.entriesOnFile();
    if (fileEntries === 0) return -1;
    const one = Buffer.allocUnsafe(ABORTED_TXN_BYTES);
    await pool.withFile(this.path, false, (fd) => preadFull(fd, one, ABORTED_TXN_BYTES, (fileEntries - 1) * ABORTED_TXN_BYTES));
    const last = decodeAbortedTxn(one, 0).lastOffset;
    this.lastAppended = Math.max(this.lastAppended, last);
    return last;
  }

  /** TransactionIndex.truncateTo: drops every entry whose marker is at or after offset. */
  async truncateTo(pool: FilePool, offset: number): Promise<void> {
    this.pending = this.pending.filter((txn) => txn.lastOffset < offset);
    const fileEntries = await this.entriesOnFile();
    let keep = 0;
    let lastKept = -1;
    if (fileEntries > 0) {
      const data = await this.readFile(pool, fileEntries);
      const whole = Math.floor(data.length / ABORTED_TXN_BYTES);
      for (; keep < whole; keep++) {
        const lastOffset = decodeAbortedTxn(data, keep * ABORTED_TXN_BYTES).lastOffset;
        if (lastOffset >= offset) break;
        lastKept = lastOffset;
      }
      if (keep < fileEntries) await this.cutFile(pool, keep);
    }
    this.lastAppended = this.pending.length > 0 ? (this.pending[this.pending.length - 1] as AbortedTxn).lastOffset : lastKept;
  }

  /**
   * After a crash, for a segment holding [baseOffset, endOffset): keeps the longest prefix of sane
   * entries (validEntriesBytes) and cuts the rest from the file. Returns the bytes cut.
   */
  async recover(pool: FilePool, endOffset: number): Promise<number> {
    this.pending = [];
    const size = await this.fileSize();
    const fileEntries = Math.floor(size / ABORTED_TXN_BYTES);
    this.fileEntries = fileEntries;
    if (size === 0) return 0;
    const data = await this.readFile(pool, fileEntries);
    const keep = validEntriesBytes(data, this.baseOffset, endOffset) / ABORTED_TXN_BYTES;
    const cut = size - keep * ABORTED_TXN_BYTES;
    if (cut > 0) await this.cutFile(pool, keep);
    this.lastAppended = keep > 0 ? decodeAbortedTxn(data, (keep - 1) * ABORTED_TXN_BYTES).lastOffset : -1;
    return cut;
  }

  /** Forgets every entry and removes the file (segment deleted, or emptied to be reused). */
  async delete(pool: FilePool): Promise<void> {
    this.pending = [];
    this.fileEntries = 0;
    this.unsynced = false;
    this.created = false;
    this.lastAppended = -1;
    pool.retire(this.path);
    await unlinkIfExists(this.path);
  }

  private async cutFile(pool: FilePool, keepEntries: number): Promise<void> {
    await pool.withFile(this.path, false, async (fd) => {
      await ftruncateFd(fd, keepEntries * ABORTED_TXN_BYTES);
      await fdatasyncFd(fd);
    });
    this.fileEntries = keepEntries;
  }

  private async readFile(pool: FilePool, entries: number): Promise<Buffer> {
    const data = Buffer.allocUnsafe(entries * ABORTED_TXN_BYTES);
    const n = await pool.withFile(this.path, false, (fd) => preadFull(fd, data, data.length, 0));
    return data.subarray(0, n);
  }

  private async entriesOnFile(): Promise<number> {
    if (this.fileEntries < 0) this.fileEntries = Math.floor((await this.fileSize()) / ABORTED_TXN_BYTES);
    return this.fileEntries;
  }

  private async fileSize(): Promise<number> {
    try {
      return (await fsp.stat(this.path)).size;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 0;
      throw err;
    }
  }
}
