/**
 * Errors the storage layer reports to the world carry the Kafka error code the handler puts in its
 * response (STYLE.md 9/10); broken invariants use invariant() instead.
 */
export const StorageErrorCode = {
  OFFSET_OUT_OF_RANGE: 1,
  CORRUPT_MESSAGE: 2,
  MESSAGE_TOO_LARGE: 10,
  INVALID_TOPIC_EXCEPTION: 17,
  RECORD_LIST_TOO_LARGE: 18,
  INVALID_TIMESTAMP: 32,
  INVALID_CONFIG: 40,
  KAFKA_STORAGE_ERROR: 56,
  INVALID_RECORD: 87,
} as const;

export class StorageError extends Error {
  override name = 'StorageError';
  constructor(readonly errorCode: number, message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

export function offsetOutOfRange(offset: number, logStartOffset: number, logEndOffset: number): StorageError {
  return new StorageError(
    StorageErrorCode.OFFSET_OUT_OF_RANGE,
    `offset ${offset} is outside [logStartOffset ${logStartOffset}, logEndOffset ${logEndOffset}]`,
  );
}
