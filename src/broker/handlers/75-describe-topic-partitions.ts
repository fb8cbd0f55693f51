/**
 * DescribeTopicPartitions (API 75, KIP-966), version 0: the paginated describe Kafka 3.8+ tools use
 * (`kafka-topics --describe`) instead of Metadata. Topics by name (every topic, in name order, when the
 * list is empty), answered from the same MetadataView as Metadata: leader (-1 while none is live),
 * leader epoch, replicas, ISR, offline replicas. Pagination as Kafka's handler: at most
 * min(response_partition_limit, 2000) partitions; the cursor names the topic and partition to start at;
 * next_cursor says where the next page starts (null when this page ends the list). A named topic that
 * does not exist answers UNKNOWN_TOPIC_OR_PARTITION. No ELR (KIP-966's eligible leader replicas are not
 * kept): eligible_leader_replicas and last_known_elr are empty.
 */
import {
  decodeDescribeTopicPartitionsRequest,
  encodeDescribeTopicPartitionsResponse,
  type DescribeTopicPartitionsRequest,
  type DescribeTopicPartitionsResponse,
} from '../../protocol/generated/describe-topic-partitions.js';
import { ApiKey } from '../../protocol/generated/index.js';
import { ErrorCode } from '../../protocol/errors.js';
import { ZERO_UUID } from '../../protocol/codec-support.js';
import type { ApiHandler, RequestContext } from '../api-handler.js';
import { topicAuthorizedOperationsAll } from './acl-operations.js';

/** Kafka's max.request.partition.size.limit default. */
const PARTITIONS_PER_RESPONSE_MAX = 2000;

export const describeTopicPartitionsHandler: ApiHandler<DescribeTopicPartitionsRequest, DescribeTopicPartitionsResponse> = {
  apiKey: ApiKey.DescribeTopicPartitions,
  name: 'DescribeTopicPartitions',
  minVersion: 0,
  maxVersion: 0,
  decode: decodeDescribeTopicPartitionsRequest,
  encode: encodeDescribeTopicPartitionsResponse,
  handle: handleDescribeTopicPartitions,
};

function handleDescribeTopicPartitions(context: RequestContext<DescribeTopicPartitionsRequest>): DescribeTopicPartitionsResponse {
  const { request } = context;
  const view = context.services.metadata;
  const names = request.topics.length === 0
    ? [...view.topics()].map((t) => t.name)
    : [...new Set(request.topics.map((t) => t.name))];
  names.sort();
  const cursor = request.cursor;
  let remaining = Math.max(1, Math.min(request.responsePartitionLimit > 0 ? request.responsePartitionLimit : PARTITIONS_PER_RESPONSE_MAX, PARTITIONS_PER_RESPONSE_MAX));
  const topics: DescribeTopicPartitionsResponse['topics'] = [];
  let nextCursor: DescribeTopicPartitionsResponse['nextCursor'] = null;
  for (const name of names) {
    if (cursor !== null && name < cursor.topicName) continue;
    const topic = view.topicByName(name);
    if (topic === undefined) {
      topics.push({
        errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, name, topicId: ZERO_UUID, isInternal: false, partitions: [],
        topicAuthorizedOperations: topicAuthorizedOperationsAll,
      });
      continue;
    }
    const start = cursor !== null && name === cursor.topicName ? Math.max(0, cursor.partitionIndex) : 0;
    if (remaining === 0) {
      nextCursor = { topicName: name, partitionIndex: start };
      break;
    }
    const partitions = topic.partitions.slice(start, start + remaining);
    remaining -= partitions.length;
    topics.push({
      errorCode: ErrorCode.NONE, name, topicId: topic.topicId, isInternal: topic.isInternal,
      partitions: partitions.map((p) => ({
        errorCode: p.errorCode, partitionIndex: p.partitionIndex, leaderId: p.leaderId, leaderEpoch: p.leaderEpoch,
        replicaNodes: [...p.replicaNodes], isrNodes: [...p.isrNodes], eligibleLeaderReplicas: [], lastKnownElr: [],
        offlineReplicas: [...p.offlineReplicas],
      })),
      topicAuthorizedOperations: topicAuthorizedOperationsAll,
    });
    if (start + partitions.length < topic.partitions.length) {
      nextCursor = { topicName: name, partitionIndex: start + partitions.length };
      break;
    }
  }
  return { throttleTimeMs: 0, topics, nextCursor };
}
