/**
 * Durable metadata log of a standalone node: `{dataDir}/metadata/metadata.log`, a sequence of frames
 * `[length u32][crc32c u32][JSON batch]`. Appends are serialised and fdatasync'd before they count as
 * committed (metadata changes are rare; each is worth an fsync). On open, a torn or corrupt tail — a
 * crash mid-append — is cut, like the partition log's recovery (DESIGN §4).
 */
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { crc32c } from '@node-rs/crc32';
import { decodeMetadataRecords, encodeMetadataRecords, type MetadataRecord } from './records.js';
import type { CommittedBatch, MetadataLog } from './metadata-log.js';

const FRAME_HEADER_BYTES = 8;
/** A metadata batch is small; anything larger on disk is corruption, not data. */
const BATCH_BYTES_MAX = 64 * 1024 * 1024;

export class LocalMetadataLog implements MetadataLog {
  /** Batches read at open, held only until the first listener has replayed them (then released). */
  private recovered: CommittedBatch[] = [];
  private readonly listeners: ((batch: CommittedBatch) => void)[] = [];
  private tail: Promise<unknown> = Promise.resolve();
  private closed = false;

  private constructor(private readonly file: fs.FileHandle, private nextOffset: number) {}

  static async open(dataDir: string): Promise<LocalMetadataLog> {
    const dir = join(dataDir, 'metadata');
    await fs.mkdir(dir, { recursive: true });
    const path = join(dir, 'metadata.log');
    const file = await fs.open(path, 'a+');
    const contents = await fs.readFile(path);
    const { batches, validBytes } = scanFrames(contents);
    if (validBytes < contents.length) {
      await file.truncate(validBytes);
      await file.datasync();
    }
    const log = new LocalMetadataLog(file, batches.length);
    batches.forEach((records, offset) => log.recovered.push({ offset, records }));
    return log;
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
    const body = encodeMetadataRecords(records);
    const header = Buffer.alloc(FRAME_HEADER_BYTES);
    header.writeUInt32BE(body.length, 0);
    header.writeUInt32BE(crc32c(body) >>> 0, 4);
    await this.file.writev([header, body]);
    await this.file.datasync();
    const batch: CommittedBatch = { offset: this.nextOffset++, records: [...records] };
    for (const listener of this.listeners) listener(batch);
    return batch.offset;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.tail;
    await this.file.close();
  }
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
