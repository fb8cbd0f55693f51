/**
 * DeleteTopics (API 20), versions 1-6.
 *
 * Topics are named (v1-5: topic_names; v6+: name or, KIP-516, topic_id). Each existing topic is removed
 * with one RemoveTopic record through the broker's admin controller; the replica manager deletes its
 * logs when it sees the delta. Errors per topic, Kafka's: a name or id given twice → INVALID_REQUEST;
 * unknown name → UNKNOWN_TOPIC_OR_PARTITION; unknown id → UNKNOWN_TOPIC_ID; timeout_ms bounds the wait
 * (REQUEST_TIMED_OUT). Internal topics are not refused: Kafka's KRaft controller does not refuse them.
 * Not implemented: delete.topic.enable=false (TOPIC_DELETION_DISABLED), controller mutation quotas.
 */
import {
  decodeDeleteTopicsRequest,
  encodeDeleteTopicsResponse,
  type DeleteTopicsRequest,
  type DeleteTopicsResponse,
  type DeleteTopicsResponseDeletableTopicResult,
} from '../../protocol/generated/delete-topics.js';
import { ApiKey } from '../../protocol/generated/index.js';
import { ErrorCode } from '../../protocol/errors.js';
import { sendToController } from '../admin-requests.js';
import { ZERO_UUID } from '../../protocol/codec-support.js';
import type { ApiHandler, RequestContext } from '../api-handler.js';

export const deleteTopicsHandler: ApiHandler<DeleteTopicsRequest, DeleteTopicsResponse> = {
  apiKey: ApiKey.DeleteTopics,
  name: 'DeleteTopics',
  minVersion: 1,
  maxVersion: 6,
  decode: decodeDeleteTopicsRequest,
  encode: encodeDeleteTopicsResponse,
  handle: handleDeleteTopics,
};

type Target = { readonly name: string | null; readonly topicId: string };

async function handleDeleteTopics(context: RequestContext<DeleteTopicsRequest>): Promise<DeleteTopicsResponse> {
  const { request, apiVersion } = context;
  const targets: Target[] = apiVersion >= 6
    ? request.topics.map((t) => ({ name: t.name, topicId: t.topicId }))
    : request.topicNames.map((name) => ({ name, topicId: ZERO_UUID }));
  const keyOf = (t: Target): string => (t.name !== null ? `name:${t.name}` : `id:${t.topicId}`);
  const counts = new Map<string, number>();
  for (const t of targets) counts.set(keyOf(t), (counts.get(keyOf(t)) ?? 0) + 1);
  const responses = await Promise.all(targets.map((target) =>
    (counts.get(keyOf(target)) ?? 0) > 1
      ? result(target, ErrorCode.INVALID_REQUEST, target.name !== null ? 'Duplicate topic name.' : 'Duplicate topic id.')
      : deleteOne(context, target)));
  return { throttleTimeMs: 0, responses };
}

async function deleteOne(context: RequestContext<DeleteTopicsRequest>, target: Target): Promise<DeleteTopicsResponseDeletableTopicResult> {
  const { request, services, apiVersion } = context;
  const planned = await sendToController(services, {
    type: 'deleteTopic', name: target.name, topicId: target.name !== null ? null : target.topicId,
  }, { timeoutMs: request.timeoutMs, throttlingKnown: apiVersion >= 5 });
  if (!planned.ok) return result(target, planned.errorCode, planned.message);
  return { name: planned.value.name, topicId: planned.value.topicId, errorCode: ErrorCode.NONE, errorMessage: null };
}

function result(target: Target, errorCode: number, errorMessage: string | null): DeleteTopicsResponseDeletableTopicResult {
  return { name: target.name, topicId: target.topicId, errorCode, errorMessage };
}
