/**
 * Durable metadata log of a standalone node: `{dataDir}/metadata/metadata.log`, a sequence of frames
 * `[length u32][crc32c u32][JSON batch]`. Appends are serialised and fdatasync'd before they count as
 * committed (metadata changes are rare; each is worth an fsync). On open, a torn or corrupt tail — a
 * crash mid-append — is cut, like the partition log's recovery (DESIGN §4).
 *
 * Compaction (the standalone stand-in for KRaft's metadata snapshots): once the bytes appended after the
 * last compaction reach max(compactAfterBytes, the size of that compacted file) — Kafka's
 * metadata.log.max.record.bytes.between.snapshots, with the floor that keeps rewriting amortised — the
 * file is replaced, atomically and durably, by the records that rebuild the current image
 * (`compactWith`'s source, e.g. imageRecords). So a client looping CreateTopics/DeleteTopics or
 * AlterConfigs grows the file to at most the live metadata plus max(that setting, the live metadata),
 * not without end. Batch offsets stay strictly increasing within a process; a reopened log
 * numbers its batches from 0 again (nothing durable refers to them).
 */
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { crc32c } from '@node-rs/crc32';
import { writeFileAtomic } from '../storage/fs-util.js';
import { decodeMetadataRecords, encodeMetadataRecordBatches, encodeMetadataRecords, type MetadataRecord } from './records.js';
import type { CommittedBatch, MetadataLog } from './metadata-log.js';

const FRAME_HEADER_BYTES = 8;
/** A metadata batch is small; anything larger on disk is corruption, not data. */
const BATCH_BYTES_MAX = 64 * 1024 * 1024;
/** A compacted log is written as frames of about this many bytes, far below BATCH_BYTES_MAX. */
const COMPACT_FRAME_BYTES = 1024 * 1024;
const DEFAULT_COMPACT_AFTER_BYTES = 20 * 1024 * 1024;
const LOG_FILE = 'metadata.log';

export interface LocalMetadataLogOptions {
  /** Bytes appended after the last compaction before the next (default 20 MiB, as Kafka's setting). */
  compactAfterBytes?: number;
}

export class LocalMetadataLog implements MetadataLog {
  /** Batches read at open, held only until the first listener has replayed them (then released). */
  private recovered: CommittedBatch[] = [];
  private readonly listeners: ((batch: CommittedBatch) => void)[] = [];
  private tail: Promise<unknown> = Promise.resolve();
  private closed = false;
  private snapshot: (() => readonly MetadataRecord[]) | undefined;
  private failure: Error | undefined;
  /** File size after the last compaction (0 before the first). */
  private baseBytes = 0;

  private constructor(
    private readonly path: string,
    private file: fs.FileHandle,
    private nextOffset: number,
    private bytes: number,
    private readonly compactAfterBytes: number,
  ) {}

  static async open(dataDir: string, options: LocalMetadataLogOptions = {}): Promise<LocalMetadataLog> {
    const dir = join(dataDir, 'metadata');
    await fs.mkdir(dir, { recursive: true });
    // A compaction that crashed before its rename leaves a temporary file; the log itself is intact.
    for (const name of await fs.readdir(dir)) {
      if (name.startsWith(`${LOG_FILE}.`) && name.endsWith('.tmp')) await fs.rm(join(dir, name), { force: true });
    }
    const path = join(dir, LOG_FILE);
    const file = await fs.open(path, 'a+');
    const contents = await fs.readFile(path);
    const { batches, validBytes } = scanFrames(contents);
    if (validBytes < contents.length) {
      await file.truncate(validBytes);
      await file.datasync();
    }
    const log = new LocalMetadataLog(path, file, batches.length, validBytes, options.compactAfterBytes ?? DEFAULT_COMPACT_AFTER_BYTES);
    batches.forEach((records, offset) => log.recovered.push({ offset, records }));
    return log;
  }

  /**
   * Enables compaction. `snapshot` is called inside the append chain, after every earlier batch has been
   * written and heard by the listeners, so the records it returns cover exactly the batches in the file.
   */
  compactWith(snapshot: () => readonly MetadataRecord[]): void {
    this.snapshot = snapshot;
  }

  /** Current size of the log file in bytes (for tests and metrics). */
  get sizeBytes(): number {
    return this.bytes;
  }

  /**
   * The first listener replays every batch recovered at open, then hears new ones; later listeners hear
   * only new batches. Holding every batch for late listeners would grow memory with each metadata
   * change (a client looping AlterConfigs) while the image already holds the state: consumers other than
   * the MetadataLoader subscribe to the loader, not to the log.
   */
  onCommit(listener: (batch: CommittedBatch) => void): void {
    const recovered = this.recovered;
    this.recovered = [];
    for (const batch of recovered) listener(batch);
    this.listeners.push(listener);
  }

  append(records: readonly MetadataRecord[]): Promise<number> {
    if (this.closed) return Promise.reject(new Error('metadata log is closed'));
    const result = this.tail.then(() => this.write(records));
    this.tail = result.catch(() => undefined);
    return result;
  }

  private async write(records: readonly MetadataRecord[]): Promise<number> {
    if (this.failure !== undefined) throw this.failure;
    const body = encodeMetadataRecords(records);
    const header = frameHeader(body);
    await this.file.writev([header, body]);
    await this.file.datasync();
    this.bytes += header.length + body.length;
    const batch: CommittedBatch = { offset: this.nextOffset++, records: [...records] };
    for (const listener of this.listeners) listener(batch);
    if (this.snapshot !== undefined && this.bytes - this.baseBytes >= Math.max(this.compactAfterBytes, this.baseBytes)) {
      await this.compact(this.snapshot());
    }
    return batch.offset;
  }

  /** Replaces the file by frames holding `records` (write temp, fsync, rename, fsync directory). */
  private async compact(records: readonly MetadataRecord[]): Promise<void> {
    const frames = encodeMetadataRecordBatches(records, COMPACT_FRAME_BYTES).flatMap((body) => [frameHeader(body), body]);
    const contents = Buffer.concat(frames);
    try {
      await writeFileAtomic(this.path, contents);
    } catch {
      // The old file is intact (the rename did not happen; a leftover temporary file goes at the next
      // open): keep appending to it and retry after another max(compactAfterBytes, its size) bytes.
      this.baseBytes = this.bytes;
      return;
    }
    try {
      const file = await fs.open(this.path, 'a+');
      await this.file.close().catch(() => undefined);
      this.file = file;
    } catch (err) {
      // The handle is on the replaced file: appending there would be lost. Refuse every later append.
      this.failure = err as Error;
      return;
    }
    this.bytes = contents.length;
    this.baseBytes = contents.length;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.tail;
    await this.file.close();
  }
}

function frameHeader(body: Buffer): Buffer {
  const header = Buffer.alloc(FRAME_HEADER_BYTES);
  header.writeUInt32BE(body.length, 0);
  header.writeUInt32BE(crc32c(body) >>> 0, 4);
  return header;
}

function scanFrames(contents: Buffer): { batches: MetadataRecord[][]; validBytes: number } {
  const batches: MetadataRecord[][] = [];
  let position = 0;
  while (position + FRAME_HEADER_BYTES <= contents.length) {
    const length = contents.readUInt32BE(position);
    const crc = contents.readUInt32BE(position + 4);
    const end = position + FRAME_HEADER_BYTES + length;
    if (length > BATCH_BYTES_MAX || end > contents.length) break;
    const body = contents.subarray(position + FRAME_HEADER_BYTES, end);
    if ((crc32c(body) >>> 0) !== crc) break;
    try {
      batches.push(decodeMetadataRecords(body));
    } catch {
      break;
    }
    position = end;
  }
  return { batches, validBytes: position };
}
