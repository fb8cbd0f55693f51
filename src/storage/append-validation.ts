/**
 * What a partition log checks before it appends (Kafka's LogValidator and UnifiedLog.analyzeAndValidateRecords
 * as far as storage is concerned): nothing is written when one batch fails. Leader appends check every
 * field and walk the records; follower appends take what the leader accepted and check structure and offsets.
 */
import {
  batchBaseOffset, batchLastOffset, splitAndValidateBatches, readInt64, RecordBatchError,
  BASE_TIMESTAMP_OFFSET, MAX_TIMESTAMP_OFFSET, NO_TIMESTAMP, type BatchSpan,
} from '../protocol/record-batch.js';
import { validateBatchRecords, type RecordWalkOptions } from '../protocol/records.js';
import type { LogConfig } from './config.js';
import { StorageError, StorageErrorCode } from './errors.js';

/** Batches in one append (one partition of one Produce request, or of one follower fetch). */
export const APPEND_BATCHES_MAX = 100_000;
const CLIENT_WALK: RecordWalkOptions = Object.freeze({ origin: 'client' });

/**
 * Splits records into batches and checks them: structure and CRC always; for a leader append (checkFields)
 * also each batch's fields, max.message.bytes and its records (validateRecords). `keylessScratch` is reused
 * by the record walk of compacted topics. `partition` names the log in errors.
 */
export function validateAppendBatches(records: Buffer, checkFields: boolean, config: LogConfig, partition: string, keylessScratch: number[]): BatchSpan[] {
  const spans = splitAndValidateBatches(records, records.length, APPEND_BATCHES_MAX, checkFields);
  // A follower takes what its leader accepted even if max.message.bytes was lowered since
  // (UnifiedLog.appendAsFollower: ignoreRecordSize); the replica manager splits its appends by segment.bytes.
  for (const span of checkFields ? spans : []) {
    if (span.size > config.maxMessageBytes) {
      throw new StorageError(StorageErrorCode.MESSAGE_TOO_LARGE, `batch of ${span.size} bytes > max.message.bytes ${config.maxMessageBytes}`);
    }
  }
  if (records.length > config.segmentBytes) {
    throw new StorageError(StorageErrorCode.RECORD_LIST_TOO_LARGE, `${records.length} bytes > segment.bytes ${config.segmentBytes}`);
  }
  if (checkFields) validateRecords(records, spans, config, partition, keylessScratch);
  return spans;
}

/**
 * Leader appends: every batch's records must parse (LogValidator walks them; a batch that does not
 * would stop consumers at its offset for good) and, on compacted topics, carry keys.
 */
function validateRecords(records: Buffer, spans: BatchSpan[], config: LogConfig, partition: string, keylessScratch: number[]): void {
  const keyless = config.compact ? keylessScratch : undefined;
  for (const span of spans) {
    if (keyless !== undefined) keyless.length = 0;
    const problem = validateBatchRecords(records, span.position, span.size, keyless === undefined ? CLIENT_WALK : { origin: 'client', keyless });
    if (problem !== undefined) {
      throw new RecordBatchError(StorageErrorCode.INVALID_RECORD, `batch at byte ${span.position} of ${partition}: ${problem}`);
    }
    if (keyless !== undefined && keyless.length > 0) {
      const message = `Compacted topic cannot accept message without key in topic partition ${partition}.`;
      throw new RecordBatchError(StorageErrorCode.INVALID_RECORD, message, keyless.map((batchIndex) => ({ batchIndex, message })));
    }
  }
}

/** CreateTime bounds (KIP-937, LogValidator.validateTimestamp); -1 means "no timestamp" and passes. */
export function validateTimestamps(records: Buffer, spans: BatchSpan[], config: LogConfig, nowMs: number): void {
  if (config.messageTimestampType !== 'CreateTime') return;
  for (const span of spans) {
    for (const at of [BASE_TIMESTAMP_OFFSET, MAX_TIMESTAMP_OFFSET]) {
      const ts = readInt64(records, span.position + at);
      if (ts === NO_TIMESTAMP) continue;
      if (nowMs - ts > config.messageTimestampBeforeMaxMs || ts - nowMs > config.messageTimestampAfterMaxMs) {
        throw new RecordBatchError(StorageErrorCode.INVALID_TIMESTAMP, `timestamp ${ts} is out of range at ${nowMs}`);
      }
    }
  }
}

/** Follower appends keep the leader's offsets: each batch must start above the previous one's end. */
export function validateFollowerOffsets(records: Buffer, spans: BatchSpan[], logEndOffset: number): void {
  let previousLast = logEndOffset - 1;
  for (const span of spans) {
    const base = batchBaseOffset(records, span.position);
    const last = batchLastOffset(records, span.position);
    if (base <= previousLast || last < base || last > Number.MAX_SAFE_INTEGER) {
      const code = previousLast === logEndOffset - 1 ? StorageErrorCode.OFFSET_OUT_OF_RANGE : StorageErrorCode.CORRUPT_MESSAGE;
      throw new StorageError(code, `follower batch [${base}, ${last}] does not follow offset ${previousLast}`);
    }
    previousLast = last;
  }
}
