/**
 * AlterConfigs (API 33), versions 0-2 — the legacy, non-incremental form: the configs given replace
 * every override of the resource (ConfigurationControlManager.legacyAlterConfigs).
 *
 * TOPIC resources: the new set is validated as a whole (unknown name, bad value, null value →
 * INVALID_CONFIG; invalid name → INVALID_TOPIC_EXCEPTION; unknown topic → UNKNOWN_TOPIC_OR_PARTITION;
 * "" → INVALID_REQUEST). BROKER resources ("" = cluster default, else this broker's id): only dynamic
 * properties, else INVALID_REQUEST "Cannot update these configs dynamically". Each resource is one
 * atomic metadata batch, so changes survive restarts; validate_only writes nothing; a resource named
 * twice → INVALID_REQUEST. Other resource types → INVALID_REQUEST.
 * Not implemented: AlterConfigPolicy, BROKER_LOGGER.
 */
import {
  decodeAlterConfigsRequest,
  encodeAlterConfigsResponse,
  type AlterConfigsRequest,
  type AlterConfigsResponse,
} from '../../protocol/generated/alter-configs.js';
import { ApiKey } from '../../protocol/generated/index.js';
import { alterConfigResources } from '../admin-requests.js';
import type { ApiHandler, RequestContext } from '../api-handler.js';

export const alterConfigsHandler: ApiHandler<AlterConfigsRequest, AlterConfigsResponse> = {
  apiKey: ApiKey.AlterConfigs,
  name: 'AlterConfigs',
  minVersion: 0,
  maxVersion: 2,
  decode: decodeAlterConfigsRequest,
  encode: encodeAlterConfigsResponse,
  handle: async (context: RequestContext<AlterConfigsRequest>): Promise<AlterConfigsResponse> => ({
    throttleTimeMs: 0,
    responses: await alterConfigResources(context.services, context.request.resources, context.request.validateOnly, 'replace'),
  }),
};
