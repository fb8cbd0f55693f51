/**
 * DeleteGroups (API 42), versions 0-3 (v3 adds a per-group error message: left null, the error code
 * alone names the cause here).
 *
 * Each group is deleted on its own: GROUP_ID_NOT_FOUND when it does not exist, NON_EMPTY_GROUP while it
 * has members, NOT_COORDINATOR when led elsewhere. A deletion writes tombstones for the group's offsets
 * and metadata, one batch per `__consumer_offsets` partition, and is answered once they are durable.
 */
import {
  decodeDeleteGroupsRequest,
  encodeDeleteGroupsResponse,
  type DeleteGroupsRequest,
  type DeleteGroupsResponse,
} from '../../protocol/generated/delete-groups.js';
import { ApiKey } from '../../protocol/generated/index.js';
import type { ApiHandler, RequestContext } from '../api-handler.js';

export const deleteGroupsHandler: ApiHandler<DeleteGroupsRequest, DeleteGroupsResponse> = {
  apiKey: ApiKey.DeleteGroups,
  name: 'DeleteGroups',
  minVersion: 0,
  maxVersion: 3,
  decode: decodeDeleteGroupsRequest,
  encode: encodeDeleteGroupsResponse,
  handle: handleDeleteGroups,
};

async function handleDeleteGroups(context: RequestContext<DeleteGroupsRequest>): Promise<DeleteGroupsResponse> {
  const body = await context.services.groupCoordinator.deleteGroups(context.request.groupsNames);
  return { throttleTimeMs: 0, results: body.results.map((r) => ({ ...r, errorMessage: null })) };
}
