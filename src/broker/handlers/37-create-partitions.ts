/**
 * CreatePartitions (API 37, KIP-195), versions 0-3.
 *
 * Adds partitions to existing topics: one batch of Partition records per topic through the broker's
 * admin controller, placed round-robin on the live brokers with the topic's replication factor, or
 * where the assignments say. Kafka's errors per topic: a name given twice → INVALID_REQUEST; unknown
 * topic → UNKNOWN_TOPIC_OR_PARTITION; a count that is not an increase → INVALID_PARTITIONS; assignments
 * of the wrong number, size, duplicate or unknown brokers → INVALID_REPLICA_ASSIGNMENT; a replication
 * factor above the live brokers → INVALID_REPLICATION_FACTOR; more than 10,000 new partitions in the
 * request → POLICY_VIOLATION for every topic (Kafka's MAX_RECORDS_PER_USER_OP); a placement past
 * max.broker.partitions → POLICY_VIOLATION. validate_only writes nothing; timeout_ms
 * bounds the wait (REQUEST_TIMED_OUT).
 * Not implemented: controller mutation quotas (KIP-599).
 */
import {
  decodeCreatePartitionsRequest,
  encodeCreatePartitionsResponse,
  type CreatePartitionsRequest,
  type CreatePartitionsResponse,
  type CreatePartitionsRequestCreatePartitionsTopic,
  type CreatePartitionsResponseCreatePartitionsTopicResult,
} from '../../protocol/generated/create-partitions.js';
import { ApiKey } from '../../protocol/generated/index.js';
import { ErrorCode } from '../../protocol/errors.js';
import { sendToController } from '../admin-requests.js';
import { createPartitionsRequestError } from '../../controller/admin.js';
import type { ApiHandler, RequestContext } from '../api-handler.js';

export const createPartitionsHandler: ApiHandler<CreatePartitionsRequest, CreatePartitionsResponse> = {
  apiKey: ApiKey.CreatePartitions,
  name: 'CreatePartitions',
  minVersion: 0,
  maxVersion: 3,
  decode: decodeCreatePartitionsRequest,
  encode: encodeCreatePartitionsResponse,
  handle: handleCreatePartitions,
};

async function handleCreatePartitions(context: RequestContext<CreatePartitionsRequest>): Promise<CreatePartitionsResponse> {
  const tooLarge = createPartitionsRequestError(context.services.metadataLoader.image, context.request.topics);
  if (tooLarge !== null) {
    const results = context.request.topics.map((t) => ({ name: t.name, errorCode: tooLarge.errorCode, errorMessage: tooLarge.message }));
    return { throttleTimeMs: 0, results };
  }
  const counts = new Map<string, number>();
  for (const t of context.request.topics) counts.set(t.name, (counts.get(t.name) ?? 0) + 1);
  const results = await Promise.all(context.request.topics.map((topic) =>
    (counts.get(topic.name) ?? 0) > 1
      ? { name: topic.name, errorCode: ErrorCode.INVALID_REQUEST, errorMessage: 'Duplicate topic name.' }
      : createOne(context, topic)));
  return { throttleTimeMs: 0, results };
}

async function createOne(
  context: RequestContext<CreatePartitionsRequest>, topic: CreatePartitionsRequestCreatePartitionsTopic,
): Promise<CreatePartitionsResponseCreatePartitionsTopicResult> {
  const { request, services, apiVersion } = context;
  const planned = await sendToController(services, {
    type: 'createPartitions',
    input: {
      name: topic.name, count: topic.count,
      assignments: topic.assignments === null ? null : topic.assignments.map((a) => ({ brokerIds: [...a.brokerIds] })),
    },
    validateOnly: request.validateOnly,
  }, { timeoutMs: request.timeoutMs, throttlingKnown: apiVersion >= 3 });
  if (!planned.ok) return { name: topic.name, errorCode: planned.errorCode, errorMessage: planned.message };
  return { name: topic.name, errorCode: ErrorCode.NONE, errorMessage: null };
}
