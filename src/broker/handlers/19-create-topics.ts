/**
 * CreateTopics (API 19), versions 2-7.
 *
 * Each topic is planned against the latest metadata image and written as one atomic metadata batch
 * (Topic + Partition + Config records, src/controller/admin.ts), serialised through the broker's admin
 * controller. Kafka's checks and codes: Topic.validate (INVALID_TOPIC_EXCEPTION), '.'/'_' collision with
 * an existing topic (INVALID_TOPIC_EXCEPTION), TOPIC_ALREADY_EXISTS, -1 partitions / replication factor
 * take num.partitions / default.replication.factor, INVALID_PARTITIONS, INVALID_REPLICATION_FACTOR (≤ 0
 * or more than the live brokers), manual assignments (INVALID_REQUEST when counts are not -1,
 * INVALID_REPLICA_ASSIGNMENT), configs (INVALID_CONFIG), a name given twice (INVALID_REQUEST for each),
 * more than 10,000 partitions in the whole request (POLICY_VIOLATION for every topic, Kafka's
 * MAX_PARTITIONS_PER_BATCH), a placement past max.broker.partitions on any broker (POLICY_VIOLATION).
 * validate_only plans and answers without writing. v5+ answers carry the partition count, replication
 * factor and every topic config with its source (KIP-525); v7+ the topic id (zero for validate_only).
 * timeout_ms bounds the wait (REQUEST_TIMED_OUT; the creation may still complete, as in Kafka).
 * Internal topic names are not refused: Kafka's controller does not refuse them either.
 * Not implemented: CreateTopicPolicy (create.topic.policy.class.name), controller mutation quotas (KIP-599).
 */
import {
  decodeCreateTopicsRequest,
  encodeCreateTopicsResponse,
  type CreateTopicsRequest,
  type CreateTopicsRequestCreatableTopic,
  type CreateTopicsResponse,
  type CreateTopicsResponseCreatableTopicResult,
} from '../../protocol/generated/create-topics.js';
import { ApiKey } from '../../protocol/generated/index.js';
import { ErrorCode } from '../../protocol/errors.js';
import { brokerLayersOf, sendToController } from '../admin-requests.js';
import { createTopicsRequestError } from '../../controller/admin.js';
import { ZERO_UUID } from '../../protocol/codec-support.js';
import { describeTopicConfigs } from '../../metadata/topic-configs.js';
import type { ApiHandler, RequestContext } from '../api-handler.js';

export const createTopicsHandler: ApiHandler<CreateTopicsRequest, CreateTopicsResponse> = {
  apiKey: ApiKey.CreateTopics,
  name: 'CreateTopics',
  minVersion: 2,
  maxVersion: 7,
  decode: decodeCreateTopicsRequest,
  encode: encodeCreateTopicsResponse,
  handle: handleCreateTopics,
};

async function handleCreateTopics(context: RequestContext<CreateTopicsRequest>): Promise<CreateTopicsResponse> {
  const { request } = context;
  const tooLarge = createTopicsRequestError(request.topics, context.services.config['num.partitions']);
  if (tooLarge !== null) {
    return { throttleTimeMs: 0, topics: request.topics.map((t) => errorResult(t.name, tooLarge.errorCode, tooLarge.message)) };
  }
  const counts = new Map<string, number>();
  for (const t of request.topics) counts.set(t.name, (counts.get(t.name) ?? 0) + 1);
  const topics = await Promise.all(request.topics.map((topic) =>
    (counts.get(topic.name) ?? 0) > 1
      ? errorResult(topic.name, ErrorCode.INVALID_REQUEST, 'Duplicate topic name.')
      : createOne(context, topic)));
  return { throttleTimeMs: 0, topics };
}

async function createOne(
  context: RequestContext<CreateTopicsRequest>, topic: CreateTopicsRequestCreatableTopic,
): Promise<CreateTopicsResponseCreatableTopicResult> {
  const { request, services, apiVersion } = context;
  const planned = await sendToController(services, {
    type: 'createTopic',
    topic: {
      name: topic.name, numPartitions: topic.numPartitions, replicationFactor: topic.replicationFactor,
      assignments: topic.assignments.map((a) => ({ partitionIndex: a.partitionIndex, brokerIds: [...a.brokerIds] })),
      configs: topic.configs.map((c) => ({ name: c.name, value: c.value })),
    },
    validateOnly: request.validateOnly,
  }, { timeoutMs: request.timeoutMs, throttlingKnown: apiVersion >= 6 });
  if (!planned.ok) return errorResult(topic.name, planned.errorCode, planned.message);
  const created = { ...planned.value, overrides: new Map(planned.value.overrides) };
  // KIP-525: v5+ answers carry the configs.
  const configs = apiVersion < 5 ? [] : describeTopicConfigs(brokerLayersOf(services), created.overrides).map((c) => ({
    name: c.name, value: c.value, readOnly: c.readOnly, configSource: c.source, isSensitive: c.isSensitive,
  }));
  return {
    name: topic.name,
    topicId: request.validateOnly ? ZERO_UUID : created.topicId,
    errorCode: ErrorCode.NONE,
    errorMessage: null,
    topicConfigErrorCode: ErrorCode.NONE,
    numPartitions: created.numPartitions,
    replicationFactor: created.replicationFactor,
    configs,
  };
}

function errorResult(name: string, errorCode: number, errorMessage: string | null): CreateTopicsResponseCreatableTopicResult {
  return {
    name, topicId: ZERO_UUID, errorCode, errorMessage, topicConfigErrorCode: ErrorCode.NONE,
    numPartitions: -1, replicationFactor: -1, configs: [],
  };
}
