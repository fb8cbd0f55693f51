/**
 * FindCoordinator (API 10), versions 0-6.
 *
 * Group keys (key type 0): the coordinator is the leader of the group's `__consumer_offsets`
 * partition, whose advertised endpoint is returned (KafkaApis.getCoordinator). The internal topic is
 * created on first use (src/group/coordinator-runtime.ts); while it has no live leader the key gets
 * COORDINATOR_NOT_AVAILABLE and the client retries. v0-3 carry one key (v0: no key type); v4+ batch
 * them in coordinator_keys with one result each (KIP-699).
 *
 * Transaction keys (1): the leader of the id's `__transaction_state` partition, the topic created on
 * first use (src/txn/runtime.ts). Share keys (2): no share coordinator runs here, so they answer
 * COORDINATOR_NOT_AVAILABLE, as Kafka does while share groups are off. Any other key type
 * is INVALID_REQUEST (CoordinatorType.forId throws). Errors in v0-3 come with Kafka's Node.noNode
 * (-1, "", -1).
 */
import {
  decodeFindCoordinatorRequest,
  encodeFindCoordinatorResponse,
  type FindCoordinatorRequest,
  type FindCoordinatorResponse,
  type FindCoordinatorResponseCoordinator,
} from '../../protocol/generated/find-coordinator.js';
import { ApiKey } from '../../protocol/generated/index.js';
import { ErrorCode } from '../../protocol/errors.js';
import type { ApiHandler, RequestContext } from '../api-handler.js';

const KEY_TYPE_GROUP = 0;
const KEY_TYPE_TRANSACTION = 1;
const KEY_TYPE_SHARE = 2;

export const findCoordinatorHandler: ApiHandler<FindCoordinatorRequest, FindCoordinatorResponse> = {
  apiKey: ApiKey.FindCoordinator,
  name: 'FindCoordinator',
  minVersion: 0,
  maxVersion: 6,
  decode: decodeFindCoordinatorRequest,
  encode: encodeFindCoordinatorResponse,
  handle: handleFindCoordinator,
};

async function handleFindCoordinator(context: RequestContext<FindCoordinatorRequest>): Promise<FindCoordinatorResponse> {
  const { request, apiVersion } = context;
  const keys = apiVersion >= 4 ? request.coordinatorKeys : [request.key];
  const coordinators = await coordinatorsFor(context, request.keyType, keys);
  if (apiVersion >= 4) {
    return { throttleTimeMs: 0, errorCode: ErrorCode.NONE, errorMessage: null, nodeId: 0, host: '', port: 0, coordinators };
  }
  const one = coordinators[0] as FindCoordinatorResponseCoordinator;
  return {
    throttleTimeMs: 0,
    errorCode: one.errorCode,
    errorMessage: one.errorMessage,
    nodeId: one.nodeId,
    host: one.host,
    port: one.port,
    coordinators: [],
  };
}

function coordinatorsFor(
  context: RequestContext<FindCoordinatorRequest>, keyType: number, keys: string[],
): Promise<FindCoordinatorResponseCoordinator[]> | FindCoordinatorResponseCoordinator[] {
  if (keyType === KEY_TYPE_GROUP) return context.services.groupCoordinator.findGroupCoordinators(keys);
  if (keyType === KEY_TYPE_TRANSACTION) return context.services.txnCoordinator.findCoordinators(keys);
  if (keyType === KEY_TYPE_SHARE) {
    return keys.map((key) => noNode(key, ErrorCode.COORDINATOR_NOT_AVAILABLE, 'The coordinator is not available.'));
  }
  return keys.map((key) => noNode(key, ErrorCode.INVALID_REQUEST, `Unknown coordinator type: ${keyType}`));
}

function noNode(key: string, errorCode: number, errorMessage: string): FindCoordinatorResponseCoordinator {
  return { key, nodeId: -1, host: '', port: -1, errorCode, errorMessage };
}
