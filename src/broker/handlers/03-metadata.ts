/**
 * Metadata (API 3), versions 0-13.
 *
 * Brokers, cluster id (v2+), controller id (v1+) and topics come from the broker's `MetadataView`.
 * - Which topics: v0 with an empty list and v1+ with a null list mean every topic; otherwise the
 *   listed ones, by name, or by topic id when the name is null (v10+). Duplicates are answered once.
 * - A listed topic that does not exist gets UNKNOWN_TOPIC_OR_PARTITION (by name) or UNKNOWN_TOPIC_ID
 *   (by id, v12: its name is null).
 * - v10/v11 can carry a null name or a topic id but cannot answer one (the response name is not
 *   nullable before v12): like Kafka's KafkaApis, every listed topic then gets INVALID_REQUEST, a null
 *   name answered as "".
 * - v13 (KIP-1102) adds a top-level error code for a broker to ask the client to rebootstrap. Kafka 4.4's
 *   broker never sets it (KafkaApis sends REBOOTSTRAP_REQUIRED only in ApiVersions v5, for a wrong
 *   cluster or node id), and neither does Runnel: it is always NONE.
 * - Authorized operations (KIP-430, v8+): without an authorizer every operation is allowed; the
 *   fields carry INT32_MIN ("omitted") unless requested. ClusterAuthorizedOperations exists in v8-10.
 * - Auto-creation (KafkaApis.getTopicMetadata, AutoTopicCreationManager): an unknown topic listed by
 *   name, when auto.create.topics.enable and the request allows it (v4+ allow_auto_topic_creation; always
 *   before v4), is created with num.partitions / default.replication.factor and answered
 *   LEADER_NOT_AVAILABLE, as Kafka answers a topic it has just asked the controller to create; the
 *   client retries and finds it. An illegal name is INVALID_TOPIC_EXCEPTION; without auto-creation an
 *   unknown legal name is UNKNOWN_TOPIC_OR_PARTITION. The answer waits for the creation to commit.
 * Not implemented: auto-creating internal topics (__consumer_offsets, __transaction_state: their owners
 * create them with their own settings); ACLs.
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
import type { ApiHandler, BrokerServices, RequestContext } from '../api-handler.js';
import { isInternalTopic, topicNameProblem } from '../../controller/topic-records.js';
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
  maxVersion: 13,
  decode: decodeMetadataRequest,
  encode: encodeMetadataResponse,
  handle: handleMetadata,
};

function handleMetadata(context: RequestContext<MetadataRequest>): MetadataResponse | Promise<MetadataResponse> {
  const { request, apiVersion } = context;
  const view = context.services.metadata;
  const topicOperations = apiVersion >= 8 && request.includeTopicAuthorizedOperations
    ? topicAuthorizedOperationsAll
    : authorizedOperationsOmitted;
  const allTopics = request.topics === null || (apiVersion === 0 && request.topics.length === 0);
  const requested = request.topics ?? [];
  if (allTopics) return metadataResponse(context, [...view.topics()].map((topic) => responseTopic(topic, topicOperations)));
  if (apiVersion < 12 && requested.some(usesTopicId)) {
    return metadataResponse(context, requested.map((t) => errorTopic(ErrorCode.INVALID_REQUEST, t.name ?? '', t.topicId)));
  }
  const topics = requestedTopics(view, requested, topicOperations);
  const toCreate = autoCreateAllowed(context) ? topics.filter(isCreatable) : [];
  if (toCreate.length === 0) return metadataResponse(context, topics);
  return createTopics(context.services, toCreate).then(() => metadataResponse(context, topics));
}

function metadataResponse(context: RequestContext<MetadataRequest>, topics: ResponseTopic[]): MetadataResponse {
  const { request, apiVersion } = context;
  const view = context.services.metadata;
  return {
    throttleTimeMs: 0,
    errorCode: ErrorCode.NONE,
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

/** v0-3 have no allow_auto_topic_creation field: those clients always allowed it. */
function autoCreateAllowed(context: RequestContext<MetadataRequest>): boolean {
  const requestAllows = context.apiVersion < 4 || context.request.allowAutoTopicCreation;
  return requestAllows && context.services.config['auto.create.topics.enable'];
}

function isCreatable(topic: ResponseTopic): boolean {
  return topic.errorCode === ErrorCode.UNKNOWN_TOPIC_OR_PARTITION && topic.name !== null && !isInternalTopic(topic.name);
}

/** Creates each topic (marking it LEADER_NOT_AVAILABLE); a failed creation keeps its error visible. */
async function createTopics(services: BrokerServices, topics: ResponseTopic[]): Promise<void> {
  await Promise.all(topics.map(async (topic) => {
    topic.errorCode = ErrorCode.LEADER_NOT_AVAILABLE;
    const result = await services.topicCreator.create({
      name: topic.name as string,
      numPartitions: services.config['num.partitions'],
      replicationFactor: services.config['default.replication.factor'],
    });
    if (result.errorCode !== ErrorCode.NONE && result.errorCode !== ErrorCode.TOPIC_ALREADY_EXISTS) {
      services.logger.warn({ topic: topic.name, errorCode: result.errorCode, reason: result.errorMessage }, 'topic auto-creation failed');
    }
  }));
}

function usesTopicId(topic: RequestTopic): boolean {
  return topic.name === null || topic.topicId !== ZERO_UUID;
}

function requestedTopics(view: MetadataView, requested: readonly RequestTopic[], operations: number): ResponseTopic[] {
  const seen = new Set<string>();
  const out: ResponseTopic[] = [];
  for (const entry of requested) {
    const key = entry.topicId !== ZERO_UUID ? `id:${entry.topicId}` : `name:${entry.name}`;
    if (seen.has(key)) continue;
    seen.add(key);
    const answer = answerTopic(view, entry, operations);
    if (answer !== null) out.push(answer);
  }
  return out;
}

function answerTopic(view: MetadataView, entry: RequestTopic, operations: number): ResponseTopic | null {
  // A topic id wins over the name: the Java client asks by id with the name left at its default ""
  // (MetadataRequest.Builder.forTopicIds, used by KIP-848 consumers with a broker-side regex), and
  // Kafka answers by id whenever one is given (KafkaApis.handleTopicMetadataRequest).
  if (entry.topicId !== ZERO_UUID) {
    const topic = view.topicById(entry.topicId);
    if (topic !== undefined) return responseTopic(topic, operations);
    return errorTopic(ErrorCode.UNKNOWN_TOPIC_ID, null, entry.topicId);
  }
  if (entry.name !== null) {
    const topic = view.topicByName(entry.name);
    if (topic !== undefined) return responseTopic(topic, operations);
    const errorCode = topicNameProblem(entry.name) === null ? ErrorCode.UNKNOWN_TOPIC_OR_PARTITION : ErrorCode.INVALID_TOPIC_EXCEPTION;
    return errorTopic(errorCode, entry.name, ZERO_UUID);
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
