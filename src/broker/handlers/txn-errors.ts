/**
 * How transaction errors reach clients of older API versions (KafkaApis): PRODUCER_FENCED (KIP-588) is
 * INVALID_PRODUCER_EPOCH before the version that introduced it, so old clients see the error they know.
 */
import { ErrorCode } from '../../protocol/errors.js';

export function fencedForVersion(errorCode: number, version: number, firstFencedVersion: number): number {
  return errorCode === ErrorCode.PRODUCER_FENCED && version < firstFencedVersion ? ErrorCode.INVALID_PRODUCER_EPOCH : errorCode;
}
