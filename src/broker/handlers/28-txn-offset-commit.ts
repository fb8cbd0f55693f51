/**
 * TxnOffsetCommit (API 28), versions 0-5 (KIP-98; v3 adds generation, member and instance ids for
 * KIP-447's group-metadata fencing). Sent by a transactional producer to the group coordinator after
 * AddOffsetsToTxn: the offsets are written in a transactional batch of the producer and become the
 * group's committed offsets when the transaction commits (src/group/coordinator.ts txnOffsetCommit).
 * Per partition errors as OffsetCommit (NOT_COORDINATOR, COORDINATOR_LOAD_IN_PROGRESS, ILLEGAL_GENERATION,
 * UNKNOWN_MEMBER_ID, FENCED_INSTANCE_ID, UNKNOWN_TOPIC_OR_PARTITION, OFFSET_METADATA_TOO_LARGE).
 * v5 is transactions v2 (KIP-890 part 2): the producer sends no AddOffsetsToTxn, so while the cluster's
 * finalized transaction.version is 2 the group's `__consumer_offsets` partition is first added to the producer's
 * transaction here (GroupCoordinatorService.commitTransactionalOffsets → AddPartitionsToTxnManager with
 * addPartition), through the transaction coordinator (local or remote). If that fails every partition
 * gets its error: a coordinator that is busy finishing the previous transaction, moving or loading as
 * COORDINATOR_NOT_AVAILABLE (the producer rediscovers and retries), PRODUCER_FENCED,
 * INVALID_PRODUCER_ID_MAPPING, TRANSACTION_ABORTABLE and the rest as the coordinator answered.
 * Not implemented: v6 (topic ids, KIP-1319), ACLs.
 */
import {
  decodeTxnOffsetCommitRequest,
  encodeTxnOffsetCommitResponse,
  type TxnOffsetCommitRequest,
  type TxnOffsetCommitResponse,
} from '../../protocol/generated/txn-offset-commit.js';
import { ApiKey } from '../../protocol/generated/index.js';
import { ZERO_UUID } from '../../protocol/codec-support.js';
import type { ApiHandler, RequestContext } from '../api-handler.js';
import { ErrorCode } from '../../protocol/errors.js';
import { partitionForGroup } from '../../group/group-hash.js';
import { GROUP_METADATA_TOPIC, TRANSACTION_VERSION_2 } from '../../txn/coordinator.js';
import { finalizedTransactionVersion } from '../../metadata/features.js';

export const txnOffsetCommitHandler: ApiHandler<TxnOffsetCommitRequest, TxnOffsetCommitResponse> = {
  apiKey: ApiKey.TxnOffsetCommit,
  name: 'TxnOffsetCommit',
  minVersion: 0,
  maxVersion: 5,
  decode: decodeTxnOffsetCommitRequest,
  encode: encodeTxnOffsetCommitResponse,
  handle: handleTxnOffsetCommit,
};

/** TxnOffsetCommit v5+ carries AddOffsetsToTxn's job for a transactions v2 producer. */
const IMPLICIT_ADD_VERSION = 5;
/** Bounds the retries whatever add.partitions.to.txn.retry.backoff.* say. */
const ADD_ATTEMPTS_MAX = 100;

async function handleTxnOffsetCommit(context: RequestContext<TxnOffsetCommitRequest>): Promise<TxnOffsetCommitResponse> {
  const { request, apiVersion, services } = context;
  if (apiVersion >= IMPLICIT_ADD_VERSION && finalizedTransactionVersion(services.metadataLoader.image) >= TRANSACTION_VERSION_2) {
    const errorCode = await addOffsetsPartition(context);
    if (errorCode !== ErrorCode.NONE) return failAll(request, errorCode);
  }
  const body = await services.groupCoordinator.txnOffsetCommit({
    transactionalId: request.transactionalId,
    producerId: Number(request.producerId),
    producerEpoch: request.producerEpoch,
    groupId: request.groupId,
    generationId: apiVersion >= 3 ? request.generationIdOrMemberEpoch : -1,
    memberId: apiVersion >= 3 ? request.memberId : '',
    groupInstanceId: apiVersion >= 3 ? request.groupInstanceId : null,
    topics: request.topics.map((t) => ({
      name: t.name,
      partitions: t.partitions.map((p) => ({
        partitionIndex: p.partitionIndex,
        committedOffset: p.committedOffset,
        committedLeaderEpoch: apiVersion >= 2 ? p.committedLeaderEpoch : -1,
        committedMetadata: p.committedMetadata,
      })),
    })),
  });
  return { throttleTimeMs: 0, topics: body.topics.map((t) => ({ ...t, topicId: ZERO_UUID })) };
}

async function addOffsetsPartition(context: RequestContext<TxnOffsetCommitRequest>): Promise<number> {
  const { request, services } = context;
  const identity = { transactionalId: request.transactionalId, producerId: Number(request.producerId), producerEpoch: request.producerEpoch };
  const partition = { topic: GROUP_METADATA_TOPIC, partition: partitionForGroup(request.groupId, services.groupCoordinator.numPartitions) };
  // The produce path's retry (add.partitions.to.txn.retry.backoff.ms / .max.ms).
  const backoffMs = services.config['add.partitions.to.txn.retry.backoff.ms'];
  const backoffMaxMs = services.config['add.partitions.to.txn.retry.backoff.max.ms'];
  const startMs = services.clock.monotonicMs();
  let errorCode: number = ErrorCode.COORDINATOR_NOT_AVAILABLE;
  for (let attempt = 0; attempt < ADD_ATTEMPTS_MAX; attempt++) {
    [errorCode = ErrorCode.COORDINATOR_NOT_AVAILABLE] = await services.txnCoordinator.addImplicitly(identity, [partition]);
    if (errorCode !== ErrorCode.CONCURRENT_TRANSACTIONS || services.clock.monotonicMs() - startMs + backoffMs > backoffMaxMs) break;
    await new Promise((resolve) => setTimeout(resolve, backoffMs));
  }
  switch (errorCode) {
    case ErrorCode.CONCURRENT_TRANSACTIONS:
    case ErrorCode.NOT_COORDINATOR:
    case ErrorCode.COORDINATOR_LOAD_IN_PROGRESS:
      return ErrorCode.COORDINATOR_NOT_AVAILABLE;
    default:
      return errorCode;
  }
}

function failAll(request: TxnOffsetCommitRequest, errorCode: number): TxnOffsetCommitResponse {
  return {
    throttleTimeMs: 0,
    topics: request.topics.map((t) => ({
      name: t.name, topicId: ZERO_UUID, partitions: t.partitions.map((p) => ({ partitionIndex: p.partitionIndex, errorCode })),
    })),
  };
}
