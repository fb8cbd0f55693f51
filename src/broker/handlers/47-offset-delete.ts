/**
 * OffsetDelete (API 47), version 0 (KIP-496).
 *
 * Deletes committed offsets of a group that cannot be using them: any Empty group, or a consumer group
 * for topics none of its members subscribes to (GROUP_SUBSCRIBED_TO_TOPIC per partition otherwise;
 * NON_EMPTY_GROUP for a non-consumer group with members; GROUP_ID_NOT_FOUND). Tombstones are written
 * and the answer waits until they are durable.
 */
import {
  decodeOffsetDeleteRequest,
  encodeOffsetDeleteResponse,
  type OffsetDeleteRequest,
  type OffsetDeleteResponse,
} from '../../protocol/generated/offset-delete.js';
import { ApiKey } from '../../protocol/generated/index.js';
import type { ApiHandler, RequestContext } from '../api-handler.js';

export const offsetDeleteHandler: ApiHandler<OffsetDeleteRequest, OffsetDeleteResponse> = {
  apiKey: ApiKey.OffsetDelete,
  name: 'OffsetDelete',
  minVersion: 0,
  maxVersion: 0,
  decode: decodeOffsetDeleteRequest,
  encode: encodeOffsetDeleteResponse,
  handle: handleOffsetDelete,
};

async function handleOffsetDelete(context: RequestContext<OffsetDeleteRequest>): Promise<OffsetDeleteResponse> {
  const body = await context.services.groupCoordinator.offsetDelete(context.request);
  return { throttleTimeMs: 0, ...body };
}
