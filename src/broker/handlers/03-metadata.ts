/**
 * Metadata (API 3), versions 0-12.
 *
 * Brokers, cluster id (v2+), controller id (v1+) and topics come from the broker's `MetadataView`.
 * - Which topics: v0 with an empty list and v1+ with a null list mean every topic; otherwise the
 *   listed ones, by name, or by topic id when the name is null (v10+). Duplicates are answered once.
 * - A listed topic that does not exist gets UNKNOWN_TOPIC_OR_PARTITION (by name) or UNKNOWN_TOPIC_ID
 *   (by id, v12: its name is null).
 * - v10/v11 can carry a null name or a topic id but cannot answer one (the response name is not
 *   nullable before v12): like Kafka's KafkaApis, every listed topic then gets INVALID_REQUEST, a null
 *   name answered as "".
 * - Authorized operations (KIP-430, v8+): without an authorizer every operation is allowed; the
 *   fields carry INT32_MIN ("omitted") unless requested. ClusterAuthorizedOperations exists in v8-10.
 * Not implemented: topic auto-creation (allow_auto_topic_creation / auto.create.topics.enable) — an
 * unknown topic is reported as unknown until the controller can create topics; ACLs.
 */
import {
  decodeMetadataRequest,
  encodeMetadataResponse,
  type MetadataRequest,
  type MetadataResponse,
} from '../../protocol/generated/metadata.js';
import { ApiKey } from '../../protocol/generated/index.js';
import { ErrorCode } from '../../protocol/errors.js';
import { ZERO_UUID } from '../../protocol/codec-support.js';
import type { ApiHandler, RequestContext } from '../api-handler.js';
import type { MetadataView, TopicMetadata } from '../metadata-view.js';
import {
  authorizedOperationsOmitted,
  clusterAuthorizedOperationsAll,
  topicAuthorizedOperationsAll,
} from './acl-operations.js';

type ResponseTopic = MetadataResponse['topics'][number];
type RequestTopic = NonNullable<MetadataRequest['topics']>[number];

export const metadataHandler: ApiHandler<MetadataRequest, MetadataResponse> = {
  apiKey: ApiKey.Metadata,
  name: 'Metadata',
  minVersion: 0,
  maxVersion: 12,
  decode: decodeMetadataRequest,
  encode: encodeMetadataResponse,
  handle: handleMetadata,
};

function handleMetadata(context: RequestContext<MetadataRequest>): MetadataResponse {
  const { request, apiVersion } = context;
  const view = context.services.metadata;
  const topicOperations = apiVersion >= 8 && request.includeTopicAuthorizedOperations
    ? topicAuthorizedOperationsAll
    : authorizedOperationsOmitted;
  const allTopics = request.topics === null || (apiVersion === 0 && request.topics.length === 0);
  const requested = request.topics ?? [];
  const topics = allTopics
    ? [...view.topics()].map((topic) => responseTopic(topic, topicOperations))
    : apiVersion < 12 && requested.some(usesTopicId)
      ? requested.map((t) => errorTopic(ErrorCode.INVALID_REQUEST, t.name ?? '', t.topicId))
      : requestedTopics(view, requested, topicOperations);
  return {
    throttleTimeMs: 0,
    brokers: view.brokers().map((b) => ({ nodeId: b.nodeId, host: b.host, port: b.port, rack: b.rack })),
    clusterId: view.clusterId,
    controllerId: view.controllerId,
    topics,
    clusterAuthorizedOperations:
      apiVersion >= 8 && apiVersion <= 10 && request.includeClusterAuthorizedOperations
        ? clusterAuthorizedOperationsAll
        : authorizedOperationsOmitted,
  };
}

function usesTopicId(topic: RequestTopic): boolean {
  return topic.name === null || topic.topicId !== ZERO_UUID;
}

function requestedTopics(view: MetadataView, requested: readonly RequestTopic[], operations: number): ResponseTopic[] {
  const seen = new Set<string>();
  const out: ResponseTopic[] = [];
  for (const entry of requested) {
    const key = entry.name !== null ? `name:${entry.name}` : `id:${entry.topicId}`;
    if (seen.has(key)) continue;
    seen.add(key);
    const answer = answerTopic(view, entry, operations);
    if (answer !== null) out.push(answer);
  }
  return out;
}

function answerTopic(view: MetadataView, entry: RequestTopic, operations: number): ResponseTopic | null {
  if (entry.name !== null) {
    const topic = view.topicByName(entry.name);
    if (topic !== undefined) return responseTopic(topic, operations);
    return errorTopic(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, entry.name, ZERO_UUID);
  }
  if (entry.topicId === ZERO_UUID) return null;
  const topic = view.topicById(entry.topicId);
  if (topic !== undefined) return responseTopic(topic, operations);
  return errorTopic(ErrorCode.UNKNOWN_TOPIC_ID, null, entry.topicId);
}

function responseTopic(topic: TopicMetadata, operations: number): ResponseTopic {
  return {
    errorCode: ErrorCode.NONE,
    name: topic.name,
    topicId: topic.topicId,
    isInternal: topic.isInternal,
    partitions: topic.partitions.map((p) => ({
      errorCode: p.errorCode,
      partitionIndex: p.partitionIndex,
      leaderId: p.leaderId,
      leaderEpoch: p.leaderEpoch,
      replicaNodes: [...p.replicaNodes],
      isrNodes: [...p.isrNodes],
      offlineReplicas: [...p.offlineReplicas],
    })),
    topicAuthorizedOperations: operations,
  };
}

function errorTopic(errorCode: number, name: string | null, topicId: string): ResponseTopic {
  return {
    errorCode,
    name,
    topicId,
    isInternal: false,
    partitions: [],
    topicAuthorizedOperations: authorizedOperationsOmitted,
  };
}
