/**
 * Per-partition `<offset>.snapshot` files for the idempotent-producer state (Kafka's
 * ProducerStateManager snapshots). The content belongs to the producer-state owner; this layer adds a
 * CRC-32C in front so a damaged file is skipped (and removed) instead of being trusted, and writes
 * atomically. Offset = the log end offset the snapshot covers.
 */
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { crc32c } from '@node-rs/crc32';
import { offsetFileName, parseOffsetFileName, SNAPSHOT_SUFFIX } from './segment.js';
import { readFileIfExists, unlinkIfExists, writeFileAtomic } from './fs-util.js';

export interface ProducerSnapshot {
  offset: number;
  data: Buffer;
}

export async function listSnapshotOffsets(dir: string): Promise<number[]> {
  const names = await fsp.readdir(dir);
  const offsets: number[] = [];
  for (const name of names) {
    const offset = parseOffsetFileName(name, SNAPSHOT_SUFFIX);
    if (offset !== undefined) offsets.push(offset);
  }
  return offsets.sort((a, b) => a - b);
}

export async function writeSnapshot(dir: string, offset: number, data: Buffer): Promise<void> {
  const framed = Buffer.allocUnsafe(4 + data.length);
  framed.writeUInt32BE(crc32c(data), 0);
  data.copy(framed, 4);
  await writeFileAtomic(join(dir, offsetFileName(offset, SNAPSHOT_SUFFIX)), framed);
}

/** Latest intact snapshot with offset ≤ maxOffset; damaged ones are deleted on the way. */
export async function readLatestSnapshot(dir: string, maxOffset: number): Promise<ProducerSnapshot | undefined> {
  const offsets = (await listSnapshotOffsets(dir)).filter((o) => o <= maxOffset).reverse();
  for (const offset of offsets) {
    const path = join(dir, offsetFileName(offset, SNAPSHOT_SUFFIX));
    const framed = await readFileIfExists(path);
    if (framed !== undefined && framed.length >= 4 && crc32c(framed.subarray(4)) === framed.readUInt32BE(0)) {
      return { offset, data: framed.subarray(4) };
    }
    await unlinkIfExists(path);
  }
  return undefined;
}

/** Deletes snapshots outside [minOffset, maxOffset]. */
export async function deleteSnapshotsOutside(dir: string, minOffset: number, maxOffset: number): Promise<void> {
  for (const offset of await listSnapshotOffsets(dir)) {
    if (offset < minOffset || offset > maxOffset) await unlinkIfExists(join(dir, offsetFileName(offset, SNAPSHOT_SUFFIX)));
  }
}
