/**
 * TxnOffsetCommit (API 28), versions 0-4 (KIP-98; v3 adds generation, member and instance ids for
 * KIP-447's group-metadata fencing). Sent by a transactional producer to the group coordinator after
 * AddOffsetsToTxn: the offsets are written in a transactional batch of the producer and become the
 * group's committed offsets when the transaction commits (src/group/coordinator.ts txnOffsetCommit).
 * Per partition errors as OffsetCommit (NOT_COORDINATOR, COORDINATOR_LOAD_IN_PROGRESS, ILLEGAL_GENERATION,
 * UNKNOWN_MEMBER_ID, FENCED_INSTANCE_ID, UNKNOWN_TOPIC_OR_PARTITION, OFFSET_METADATA_TOO_LARGE).
 * Not implemented: KIP-890 part 2 verification (v5), ACLs.
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

export const txnOffsetCommitHandler: ApiHandler<TxnOffsetCommitRequest, TxnOffsetCommitResponse> = {
  apiKey: ApiKey.TxnOffsetCommit,
  name: 'TxnOffsetCommit',
  minVersion: 0,
  maxVersion: 4,
  decode: decodeTxnOffsetCommitRequest,
  encode: encodeTxnOffsetCommitResponse,
  handle: handleTxnOffsetCommit,
};

async function handleTxnOffsetCommit(context: RequestContext<TxnOffsetCommitRequest>): Promise<TxnOffsetCommitResponse> {
  const { request, apiVersion, services } = context;
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
