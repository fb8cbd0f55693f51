/**
 * IncrementalAlterConfigs (API 44, KIP-339), versions 0-1.
 *
 * Per config: SET (0), DELETE (1), APPEND (2) and SUBTRACT (3) — the last two only on LIST configs
 * (else INVALID_CONFIG "Can't APPEND to key … because its type is not LIST."), starting from the
 * current value or the default; an unknown operation → INVALID_REQUEST; a key given twice in one
 * resource → INVALID_REQUEST. The resulting override set is validated as a whole like AlterConfigs
 * (TOPIC: INVALID_CONFIG, INVALID_TOPIC_EXCEPTION, UNKNOWN_TOPIC_OR_PARTITION; BROKER "" or this
 * broker's id: dynamic properties only, else INVALID_REQUEST) and written as one metadata batch per
 * resource; validate_only writes nothing. Other resource types → INVALID_REQUEST.
 * GROUP resources (KIP-848): consumer.session.timeout.ms and consumer.heartbeat.interval.ms within the
 * broker's group.consumer.min/max bounds (INVALID_CONFIG otherwise); the group coordinator reads them at
 * every heartbeat.
 * Not implemented: AlterConfigPolicy, BROKER_LOGGER and CLIENT_METRICS resources.
 */
import {
  decodeIncrementalAlterConfigsRequest,
  encodeIncrementalAlterConfigsResponse,
  type IncrementalAlterConfigsRequest,
  type IncrementalAlterConfigsResponse,
} from '../../protocol/generated/incremental-alter-configs.js';
import { ApiKey } from '../../protocol/generated/index.js';
import { alterConfigResources } from '../admin-requests.js';
import type { ApiHandler, RequestContext } from '../api-handler.js';

export const incrementalAlterConfigsHandler: ApiHandler<IncrementalAlterConfigsRequest, IncrementalAlterConfigsResponse> = {
  apiKey: ApiKey.IncrementalAlterConfigs,
  name: 'IncrementalAlterConfigs',
  minVersion: 0,
  maxVersion: 1,
  decode: decodeIncrementalAlterConfigsRequest,
  encode: encodeIncrementalAlterConfigsResponse,
  handle: async (context: RequestContext<IncrementalAlterConfigsRequest>): Promise<IncrementalAlterConfigsResponse> => ({
    throttleTimeMs: 0,
    responses: await alterConfigResources(context.services, context.request.resources, context.request.validateOnly, 'incremental'),
  }),
};
