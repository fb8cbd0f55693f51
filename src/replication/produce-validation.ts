/**
 * The checks a client's produce records get before the partition log's own (which covers lengths,
 * CRC-32C, recordsCount vs lastOffsetDelta, max.message.bytes, segment.bytes, timestamps, and the record
 * walk of protocol/records.ts: records parse, keys on compacted topics):
 *
 * - ProduceRequest.validateRecords (v3+): exactly one magic-2 batch per partition, else INVALID_RECORD;
 *   zstd before Produce v7 is UNSUPPORTED_COMPRESSION_TYPE (KIP-110). An unknown codec id (5-7) gets
 *   UNSUPPORTED_COMPRESSION_TYPE too (Kafka fails the whole request with UNKNOWN_SERVER_ERROR there).
 * - LogValidator.validateBatch for client appends: control batches and a producer id with a negative
 *   base sequence are INVALID_RECORD.
 */
import { ErrorCode } from '../protocol/errors.js';
import { COMPRESSION_ZSTD } from '../protocol/compression.js';
import {
  CURRENT_MAGIC, MAGIC_OFFSET, probeBatch, readBatchHeader, PROBE_BAD_MAGIC, PROBE_SHORT, type RecordBatchHeader,
  type RecordError,
} from '../protocol/record-batch.js';

export type { RecordError } from '../protocol/record-batch.js';

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
