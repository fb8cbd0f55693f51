/**
 * ListGroups (API 16), versions 0-5.
 *
 * The groups of every `__consumer_offsets` partition this broker leads (clients ask every broker),
 * sorted by id. v4+ filter by state (KIP-518, case-insensitive); v5+ filter by type (KIP-848: every
 * group here is "classic") and answer each group's type. COORDINATOR_LOAD_IN_PROGRESS while a
 * partition is loading, as Kafka does.
 */
import {
  decodeListGroupsRequest,
  encodeListGroupsResponse,
  type ListGroupsRequest,
  type ListGroupsResponse,
} from '../../protocol/generated/list-groups.js';
import { ApiKey } from '../../protocol/generated/index.js';
import type { ApiHandler, RequestContext } from '../api-handler.js';

export const listGroupsHandler: ApiHandler<ListGroupsRequest, ListGroupsResponse> = {
  apiKey: ApiKey.ListGroups,
  name: 'ListGroups',
  minVersion: 0,
  maxVersion: 5,
  decode: decodeListGroupsRequest,
  encode: encodeListGroupsResponse,
  handle: handleListGroups,
};

function handleListGroups(context: RequestContext<ListGroupsRequest>): ListGroupsResponse {
  const { request, apiVersion, services } = context;
  const body = services.groupCoordinator.listGroups({
    statesFilter: apiVersion >= 4 ? request.statesFilter : [],
    typesFilter: apiVersion >= 5 ? request.typesFilter : [],
  });
  return { throttleTimeMs: 0, ...body };
}
