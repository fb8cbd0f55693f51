/**
 * Kafka's error codes come from the one registry (STYLE.md 10), src/protocol/errors.ts, which has no
 * dependencies of its own; this file only adds how the coordinator maps append failures.
 */
import { ErrorCode } from '../protocol/errors.js';

export { ErrorCode };

/**
 * What a failed append of group metadata means to the client, as Kafka's GroupMetadataManager.storeGroup
 * maps it: the client must rediscover the coordinator or rejoin, never see a storage error.
 */
export function groupAppendError(appendError: number): number {
  switch (appendError) {
    case ErrorCode.UNKNOWN_TOPIC_OR_PARTITION:
    case ErrorCode.NOT_ENOUGH_REPLICAS:
    case ErrorCode.NOT_ENOUGH_REPLICAS_AFTER_APPEND:
      return ErrorCode.COORDINATOR_NOT_AVAILABLE;
    case ErrorCode.NOT_LEADER_OR_FOLLOWER:
    case ErrorCode.KAFKA_STORAGE_ERROR:
      return ErrorCode.NOT_COORDINATOR;
    case ErrorCode.REQUEST_TIMED_OUT:
      return ErrorCode.REBALANCE_IN_PROGRESS;
    case ErrorCode.MESSAGE_TOO_LARGE:
    case ErrorCode.RECORD_LIST_TOO_LARGE:
    case ErrorCode.INVALID_FETCH_SIZE:
      return ErrorCode.UNKNOWN_SERVER_ERROR;
    default:
      return appendError;
  }
}

/** The same mapping for offset commits, where an oversized batch is INVALID_COMMIT_OFFSET_SIZE. */
export function offsetAppendError(appendError: number): number {
  switch (appendError) {
    case ErrorCode.MESSAGE_TOO_LARGE:
    case ErrorCode.RECORD_LIST_TOO_LARGE:
    case ErrorCode.INVALID_FETCH_SIZE:
      return ErrorCode.INVALID_COMMIT_OFFSET_SIZE;
    default:
      return groupAppendError(appendError);
  }
}
