/**
 * The checks a client's produce records get before the partition log's own (which covers lengths,
 * CRC-32C, recordsCount vs lastOffsetDelta, max.message.bytes, segment.bytes and timestamps):
 *
 * - ProduceRequest.validateRecords (v3+): exactly one magic-2 batch per partition, else INVALID_RECORD;
 *   zstd before Produce v7 is UNSUPPORTED_COMPRESSION_TYPE (KIP-110). An unknown codec id (5-7) gets
 *   UNSUPPORTED_COMPRESSION_TYPE too (Kafka fails the whole request with UNKNOWN_SERVER_ERROR there).
 * - LogValidator.validateBatch for client appends: control batches and a producer id with a negative
 *   base sequence are INVALID_RECORD.
 * - LogValidator.validateRecord: a compacted topic (cleanup.policy contains compact) needs a key on every
 *   record, else INVALID_RECORD with one record error per keyless record. This is the only place the
 *   broker looks inside records, so only compacted topics pay for it; compressed batches are then
 *   decompressed (gzip, snappy raw or xerial-framed, lz4 frame, zstd) into a bounded buffer, never kept:
 *   the stored batch is the producer's bytes.
 */
import { gunzipSync } from 'node:zlib';
import { createRequire } from 'node:module';
import { uncompressSync as snappyUncompress } from 'snappy';
import { decompressFrameSync as lz4DecompressFrame } from 'lz4-napi';
import { ErrorCode } from '../protocol/errors.js';
import {
  CURRENT_MAGIC, MAGIC_OFFSET, RECORDS_OFFSET, RECORD_BATCH_OVERHEAD, isBatchCrcValid, probeBatch, readBatchHeader,
  PROBE_BAD_MAGIC, PROBE_SHORT, type RecordBatchHeader,
} from '../protocol/record-batch.js';

interface DCtx {
  decompressStream(dstBuf: Uint8Array, srcBuf: Uint8Array): [number, number, number];
}
const zstdBinding = createRequire(import.meta.url)('zstd-napi/binding') as { DCtx: new () => DCtx };

export const COMPRESSION_NONE = 0;
export const COMPRESSION_GZIP = 1;
export const COMPRESSION_SNAPPY = 2;
export const COMPRESSION_LZ4 = 3;
export const COMPRESSION_ZSTD = 4;

/** Decompressed records of one batch, when the broker must look at them (compacted topics). */
export const DECOMPRESSED_BYTES_MAX = 64 * 1024 * 1024;
/** Record errors reported per partition (Kafka reports all; the response must stay bounded). */
const RECORD_ERRORS_MAX = 100;

export interface RecordError {
  readonly batchIndex: number;
  readonly message: string;
}

export type ProduceRecordsCheck =
  | { readonly ok: true; readonly header: RecordBatchHeader }
  | { readonly ok: false; readonly errorCode: number; readonly message: string; readonly recordErrors?: readonly RecordError[] };

function fail(errorCode: number, message: string, recordErrors?: readonly RecordError[]): ProduceRecordsCheck {
  return { ok: false, errorCode, message, recordErrors };
}

/** ProduceRequest.validateRecords plus LogValidator's client-batch checks (see the header). */
export function checkProduceRecords(apiVersion: number, records: Buffer | null): ProduceRecordsCheck {
  const exactlyOne = `Produce requests with version ${apiVersion} are only allowed to contain exactly one record batch per partition`;
  if (records === null || records.length === 0) {
    return fail(ErrorCode.INVALID_RECORD, `Produce requests with version ${apiVersion} must have at least one record batch per partition`);
  }
  const size = probeBatch(records, 0, records.length, Number.MAX_SAFE_INTEGER);
  if (size === PROBE_SHORT || (size > 0 && size > records.length)) {
    return fail(ErrorCode.INVALID_RECORD, `Produce requests with version ${apiVersion} must have at least one record batch per partition`);
  }
  if (size === PROBE_BAD_MAGIC || records.readInt8(MAGIC_OFFSET) !== CURRENT_MAGIC) {
    return fail(ErrorCode.INVALID_RECORD, `Produce requests with version ${apiVersion} are only allowed to contain record batches with magic version 2`);
  }
  if (size < 0) return fail(ErrorCode.CORRUPT_MESSAGE, 'record batch length is smaller than a batch header');
  const header = readBatchHeader(records, 0);
  if (header.compression > COMPRESSION_ZSTD) {
    return fail(ErrorCode.UNSUPPORTED_COMPRESSION_TYPE, `unknown compression type id ${header.compression}`);
  }
  if (apiVersion < 7 && header.compression === COMPRESSION_ZSTD) {
    return fail(ErrorCode.UNSUPPORTED_COMPRESSION_TYPE, `Produce requests with version ${apiVersion} are not allowed to use ZStandard compression`);
  }
  if (size !== records.length) return fail(ErrorCode.INVALID_RECORD, exactlyOne);
  if (header.isControl) return fail(ErrorCode.INVALID_RECORD, 'Clients are not allowed to write control records');
  if (header.producerId >= 0 && header.baseSequence < 0) {
    return fail(ErrorCode.INVALID_RECORD, `Invalid sequence number ${header.baseSequence} in record batch with producerId ${header.producerId}`);
  }
  return { ok: true, header };
}

/**
 * Compacted topics: every record must have a key (LogValidator.validateKey). `batch` is one whole
 * batch that passed checkProduceRecords. Structure errors found while walking are CORRUPT_MESSAGE.
 */
export function checkCompactedKeys(batch: Buffer, header: RecordBatchHeader, topicPartition: string): ProduceRecordsCheck {
  if (!isBatchCrcValid(batch, 0, batch.length)) return fail(ErrorCode.CORRUPT_MESSAGE, 'record batch CRC does not match its contents');
  let body: Buffer;
  try {
    body = header.compression === COMPRESSION_NONE
      ? batch.subarray(RECORDS_OFFSET)
      : decompress(header.compression, batch.subarray(RECORD_BATCH_OVERHEAD));
  } catch (err) {
    return fail(ErrorCode.CORRUPT_MESSAGE, `records cannot be decompressed: ${(err as Error).message}`);
  }
  const keyless = keylessRecords(body, header.recordsCount);
  if (keyless === null) return fail(ErrorCode.CORRUPT_MESSAGE, 'records do not match the batch header');
  if (keyless.length === 0) return { ok: true, header };
  const message = `Compacted topic cannot accept message without key in topic partition ${topicPartition}.`;
  return fail(ErrorCode.INVALID_RECORD, message, keyless.slice(0, RECORD_ERRORS_MAX).map((batchIndex) => ({ batchIndex, message })));
}

/** Indexes of records with a null key, or null when the records are malformed. */
function keylessRecords(body: Buffer, recordsCount: number): number[] | null {
  const keyless: number[] = [];
  const cursor = { pos: 0 };
  for (let index = 0; index < recordsCount; index++) {
    const length = readVarint(body, cursor);
    if (length === null || length < 0) return null;
    const end = cursor.pos + length;
    if (end > body.length) return null;
    cursor.pos += 1; // attributes
    if (readVarint(body, cursor) === null || readVarint(body, cursor) === null) return null; // timestampDelta, offsetDelta
    const keyLength = readVarint(body, cursor);
    if (keyLength === null || cursor.pos > end) return null;
    if (keyLength < 0) keyless.push(index);
    cursor.pos = end;
  }
  return cursor.pos === body.length ? keyless : null;
}

/** Zig-zag varint (up to 10 bytes, varlong), as a number; null when truncated or too long. */
function readVarint(buf: Buffer, cursor: { pos: number }): number | null {
  let value = 0;
  let multiplier = 1;
  for (let i = 0; i < 10; i++) {
    if (cursor.pos >= buf.length) return null;
    const byte = buf[cursor.pos++] as number;
    value += (byte & 0x7f) * multiplier;
    if ((byte & 0x80) === 0) return value % 2 === 0 ? value / 2 : -(value + 1) / 2;
    multiplier *= 128;
  }
  return null;
}

function decompress(codec: number, data: Buffer): Buffer {
  switch (codec) {
    case COMPRESSION_GZIP:
      return gunzipSync(data, { maxOutputLength: DECOMPRESSED_BYTES_MAX });
    case COMPRESSION_SNAPPY:
      return snappyDecompress(data);
    case COMPRESSION_LZ4:
      return bounded(lz4DecompressFrame(data));
    case COMPRESSION_ZSTD:
      return zstdDecompress(data);
    default:
      throw new Error(`compression type ${codec}`);
  }
}

function bounded(out: Buffer): Buffer {
  if (out.length > DECOMPRESSED_BYTES_MAX) throw new Error(`more than ${DECOMPRESSED_BYTES_MAX} bytes decompressed`);
  return out;
}

/** Java's snappy-java SnappyOutputStream writes the xerial framing; librdkafka may send raw snappy. */
const XERIAL_MAGIC = Buffer.from([0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0x00]);
const XERIAL_HEADER_BYTES = 16;

function snappyDecompress(data: Buffer): Buffer {
  if (data.length < XERIAL_HEADER_BYTES || !data.subarray(0, XERIAL_MAGIC.length).equals(XERIAL_MAGIC)) {
    return snappyBlock(data, DECOMPRESSED_BYTES_MAX);
  }
  const blocks: Buffer[] = [];
  let total = 0;
  let pos = XERIAL_HEADER_BYTES;
  while (pos < data.length) {
    if (pos + 4 > data.length) throw new Error('truncated xerial snappy block');
    const length = data.readInt32BE(pos);
    pos += 4;
    if (length < 0 || pos + length > data.length) throw new Error('truncated xerial snappy block');
    const block = snappyBlock(data.subarray(pos, pos + length), DECOMPRESSED_BYTES_MAX - total);
    blocks.push(block);
    total += block.length;
    pos += length;
  }
  return Buffer.concat(blocks, total);
}

/** A raw snappy block starts with its uncompressed length (varint): checked before inflating. */
function snappyBlock(block: Buffer, budgetBytes: number): Buffer {
  let length = 0;
  let multiplier = 1;
  for (let i = 0; ; i++) {
    if (i >= 5 || i >= block.length) throw new Error('bad snappy length preamble');
    const byte = block[i] as number;
    length += (byte & 0x7f) * multiplier;
    if ((byte & 0x80) === 0) break;
    multiplier *= 128;
  }
  if (length > budgetBytes) throw new Error(`more than ${DECOMPRESSED_BYTES_MAX} bytes decompressed`);
  return snappyUncompress(block, { asBuffer: true }) as Buffer;
}

/** Streaming decompression into a bounded output: frames need not carry their content size. */
function zstdDecompress(data: Buffer): Buffer {
  const context = new zstdBinding.DCtx();
  const chunks: Buffer[] = [];
  let total = 0;
  let input = data;
  for (let rounds = 0; rounds < 1_000_000; rounds++) {
    const out = Buffer.allocUnsafe(Math.min(128 * 1024, DECOMPRESSED_BYTES_MAX - total + 1));
    const [remaining, produced, consumed] = context.decompressStream(out, input);
    input = input.subarray(consumed);
    if (produced > 0) {
      chunks.push(out.subarray(0, produced));
      total += produced;
      if (total > DECOMPRESSED_BYTES_MAX) throw new Error(`more than ${DECOMPRESSED_BYTES_MAX} bytes decompressed`);
    }
    if (remaining === 0 && input.length === 0) return Buffer.concat(chunks, total);
    if (produced === 0 && consumed === 0) throw new Error('truncated zstd frame');
  }
  throw new Error('zstd decompression did not finish');
}
