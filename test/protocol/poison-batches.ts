/**
 * Poison batches (issue 26, defect 1): batches whose CRC-32C is right but whose records are not, so
 * nothing but a record walk can refuse them. Shared by the produce regression test and the unit tests.
 */
import { compress, encodeRecord, frameBatch, varint } from '../replication/batches.js';

export interface PoisonCase {
  readonly name: string;
  readonly batch: Buffer;
}

const CODECS: ReadonlyArray<[string, number]> = [['none', 0], ['gzip', 1], ['snappy', 2], ['lz4', 3], ['zstd', 4]];

function records(count: number): Buffer[] {
  return Array.from({ length: count }, (_, i) => encodeRecord({ key: Buffer.from(`k${i}`), value: Buffer.from(`value-${i}`) }, i));
}

/** A record whose body is given as is, behind a length prefix of `length` (default: the body's). */
function rawRecord(body: number[], length = body.length): Buffer {
  return Buffer.from([...varint(length), ...body]);
}

/** The body of a well-formed record at index 1 (key and value "1", no headers). */
const SECOND_RECORD_BODY = [0, 0, 2, 2, 0x31, 2, 0x31, 0];

/** Each malformation, uncompressed and (where it is about records, not the codec) under every codec. */
export function poisonBatches(): PoisonCase[] {
  const good = records(3);
  const sections: Array<[string, Buffer, number]> = [
    ['negative record length', Buffer.concat([good[0] as Buffer, rawRecord(SECOND_RECORD_BODY, -5)]), 2],
    ['record length past the end of the records', Buffer.concat([good[0] as Buffer, rawRecord(SECOND_RECORD_BODY, 90)]), 2],
    ['record length shorter than its fields', Buffer.concat([good[0] as Buffer, rawRecord(SECOND_RECORD_BODY, 5), Buffer.alloc(3)]), 2],
    ['records count larger than the records', Buffer.concat(good), 4],
    ['records count smaller than the records (trailing record)', Buffer.concat(good), 2],
    ['trailing bytes after the last record', Buffer.concat([...good, Buffer.from([0xde, 0xad])]), 3],
    ['key length past the record', Buffer.concat([rawRecord([0, 0, 0, ...varint(40), 0x31, 1, 0x31, 0])]), 1],
    ['key length below -1', Buffer.concat([rawRecord([0, 0, 0, ...varint(-3), ...varint(1), 0x31, 0])]), 1],
    ['negative header count', Buffer.concat([rawRecord([0, 0, 0, 2, 0x31, 2, 0x31, ...varint(-2)])]), 1],
    ['negative header key length', Buffer.concat([rawRecord([0, 0, 0, 2, 0x31, 2, 0x31, 2, ...varint(-1), 0])]), 1],
    ['varint longer than 5 bytes', Buffer.concat([rawRecord([0, 0, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01, 2, 0x31, 2, 0x31, 0])]), 1],
    ['offsetDelta out of sequence', Buffer.concat([good[0] as Buffer, good[2] as Buffer, good[1] as Buffer]), 3],
    ['records section of zeros', Buffer.alloc(64), 3],
  ];
  const cases: PoisonCase[] = [];
  for (const [codecName, codec] of CODECS) {
    for (const [name, section, count] of sections) {
      cases.push({ name: `${name} (${codecName})`, batch: frameBatch(compress(codec, section, false), count) });
    }
  }
  // Attributes that claim a codec over a payload that is not in it (the records are fine, uncompressed).
  for (const [codecName, codec] of CODECS.slice(1)) {
    cases.push({ name: `attributes claim ${codecName} over uncompressed records`, batch: frameBatch(Buffer.concat(good), 3, { compression: codec }) });
    const compressed = compress(codec, Buffer.concat(good), false);
    const truncated = compressed.subarray(0, Math.max(1, compressed.length - 6));
    cases.push({ name: `${codecName} payload truncated`, batch: frameBatch(truncated, 3, { compression: codec }) });
  }
  return cases;
}
