/**
 * The byte-identity checker (issue #22, "done when"): every replica's segment bytes equal the leader's
 * up to the high watermark. It reads the segment files of each replica's data directory
 * (`<dataDir>/wal/<topic>/<partition>/*.log`, in base-offset order), walks the batches from the first
 * one, and compares the bytes of every batch whose last offset is below the high watermark. Works on
 * live nodes (only bytes below the HW are compared, and those are never rewritten) and stopped ones.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';

export interface ReplicaDir {
  readonly nodeId: number;
  readonly dataDir: string;
}

export interface IdentityReport {
  readonly topic: string;
  readonly partition: number;
  readonly highWatermark: number;
  /** Bytes compared per replica (the leader's prefix below the HW). */
  readonly comparedBytes: number;
  readonly mismatches: readonly string[];
}

/** The concatenated bytes of the partition's batches whose last offset is below upTo, and the offset reached. */
export async function committedPrefix(dataDir: string, topic: string, partition: number, upTo: number): Promise<{ bytes: Buffer; endOffset: number; firstOffset: number }> {
  const dir = join(dataDir, 'wal', topic, String(partition));
  const names = (await readdir(dir)).filter((n) => n.endsWith('.log')).sort();
  const parts: Buffer[] = [];
  let endOffset = -1;
  let firstOffset = -1;
  for (const name of names) {
    const file = await readFile(join(dir, name));
    let position = 0;
    while (position + 61 <= file.length) {
      const baseOffset = Number(file.readBigInt64BE(position));
      const size = 12 + file.readInt32BE(position + 8);
      if (size < 61 || position + size > file.length) break;
      const lastOffset = baseOffset + file.readInt32BE(position + 23);
      if (lastOffset >= upTo) return { bytes: Buffer.concat(parts), endOffset, firstOffset };
      if (firstOffset < 0) firstOffset = baseOffset;
      parts.push(file.subarray(position, position + size));
      endOffset = lastOffset + 1;
      position += size;
    }
  }
  return { bytes: Buffer.concat(parts), endOffset, firstOffset };
}

/**
 * Compares every replica with the leader's bytes below highWatermark. A replica must hold the whole
 * committed prefix (it is in the ISR) unless `allowShort` names it (a replica out of the ISR may lag;
 * its shorter prefix must still match).
 */
export async function checkByteIdentity(
  topic: string, partition: number, highWatermark: number, leader: ReplicaDir, followers: readonly ReplicaDir[], allowShort: ReadonlySet<number> = new Set(),
): Promise<IdentityReport> {
  const reference = await committedPrefix(leader.dataDir, topic, partition, highWatermark);
  const mismatches: string[] = [];
  if (highWatermark > 0 && reference.endOffset !== highWatermark) {
    mismatches.push(`leader ${leader.nodeId}: committed prefix ends at ${reference.endOffset}, HW ${highWatermark}`);
  }
  for (const follower of followers) {
    const prefix = await committedPrefix(follower.dataDir, topic, partition, highWatermark);
    if (prefix.bytes.equals(reference.bytes)) continue;
    if (allowShort.has(follower.nodeId) && reference.bytes.subarray(0, prefix.bytes.length).equals(prefix.bytes)) continue;
    let at = 0;
    while (at < Math.min(prefix.bytes.length, reference.bytes.length) && prefix.bytes[at] === reference.bytes[at]) at++;
    mismatches.push(`replica ${follower.nodeId}: ${prefix.bytes.length} bytes (offsets to ${prefix.endOffset}) vs leader ${reference.bytes.length}; first difference at byte ${at}`);
  }
  return { topic, partition, highWatermark, comparedBytes: reference.bytes.length, mismatches };
}
