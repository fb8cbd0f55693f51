/**
 * ElectLeaders (API 43, KIP-183 / KIP-460), versions 0-2.
 *
 * Preferred (0) or unclean (1, v1+) leader election for the named partitions, or for every partition
 * when the list is null (`kafka-leader-election --all-topic-partitions`), decided by the active
 * controller (src/controller: the first replica when it is alive and in the ISR; unclean: any live
 * replica when no ISR member is). Per partition Kafka's codes: NONE, ELECTION_NOT_NEEDED,
 * PREFERRED_LEADER_NOT_AVAILABLE, ELIGIBLE_LEADERS_NOT_AVAILABLE, UNKNOWN_TOPIC_OR_PARTITION. A
 * controller that cannot be reached answers every named partition with the request-level error, as
 * Kafka's broker does. v0 has no top-level error code and knows only preferred elections.
 */
import {
  decodeElectLeadersRequest,
  encodeElectLeadersResponse,
  type ElectLeadersRequest,
  type ElectLeadersResponse,
} from '../../protocol/generated/elect-leaders.js';
import { ApiKey } from '../../protocol/generated/index.js';
import { ErrorCode } from '../../protocol/errors.js';
import type { ApiHandler, RequestContext } from '../api-handler.js';
import { sendToController } from '../admin-requests.js';

export const electLeadersHandler: ApiHandler<ElectLeadersRequest, ElectLeadersResponse> = {
  apiKey: ApiKey.ElectLeaders,
  name: 'ElectLeaders',
  minVersion: 0,
  maxVersion: 2,
  decode: decodeElectLeadersRequest,
  encode: encodeElectLeadersResponse,
  handle: handleElectLeaders,
};

async function handleElectLeaders(context: RequestContext<ElectLeadersRequest>): Promise<ElectLeadersResponse> {
  const { request, services, apiVersion } = context;
  const electionType = apiVersion === 0 ? 0 : request.electionType;
  if (electionType !== 0 && electionType !== 1) {
    return { throttleTimeMs: 0, errorCode: ErrorCode.INVALID_REQUEST, replicaElectionResults: [] };
  }
  const partitions = request.topicPartitions === null
    ? null
    : request.topicPartitions.flatMap((t) => t.partitions.map((partitionId) => ({ topic: t.topic, partitionId })));
  const outcome = await sendToController(services, { type: 'electLeaders', electionType, partitions }, {
    timeoutMs: request.timeoutMs, throttlingKnown: false,
  });
  if (!outcome.ok) {
    return {
      throttleTimeMs: 0,
      errorCode: outcome.errorCode,
      replicaElectionResults: group((partitions ?? []).map((p) => ({ ...p, errorCode: outcome.errorCode, message: outcome.message }))),
    };
  }
  return { throttleTimeMs: 0, errorCode: ErrorCode.NONE, replicaElectionResults: group(outcome.value.partitions) };
}

function group(results: readonly { topic: string; partitionId: number; errorCode: number; message: string | null }[]): ElectLeadersResponse['replicaElectionResults'] {
  const byTopic = new Map<string, ElectLeadersResponse['replicaElectionResults'][number]>();
  for (const r of results) {
    let entry = byTopic.get(r.topic);
    if (entry === undefined) {
      entry = { topic: r.topic, partitionResult: [] };
      byTopic.set(r.topic, entry);
    }
    entry.partitionResult.push({ partitionId: r.partitionId, errorCode: r.errorCode, errorMessage: r.message });
  }
  return [...byTopic.values()];
}
