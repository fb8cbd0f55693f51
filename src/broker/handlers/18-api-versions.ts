/**
 * ApiVersions (API 18), versions 0-5.
 *
 * Answers with every registered handler's version range — the registry is the only source, so
 * nothing is advertised that is not served — and throttle time 0.
 * - v3+ (KIP-511): the client software name and version are accepted; like Kafka, values that do not
 *   match `[a-zA-Z0-9](?:[a-zA-Z0-9\-.]*[a-zA-Z0-9])?` get INVALID_REQUEST with an empty API list.
 * - v5 (KIP-1242): a client that names the cluster and node it means to reach (ClusterId, NodeId) and
 *   has reached another one — a re-used address after a cluster was rebuilt — gets REBOOTSTRAP_REQUIRED
 *   with an empty API list, so it re-resolves its bootstrap servers instead of mixing two clusters'
 *   metadata. Either field left at its default (null, -1) is not checked.
 * - A request at a version above 5 never reaches this handler: the pipeline answers it with a v0
 *   response carrying UNSUPPORTED_VERSION and the API list, without decoding the body (KIP-511).
 *   Kafka's own broker lists only ApiVersions itself in that response; Runnel lists every API, which
 *   KIP-511 allows and which spares old clients nothing.
 * - v3+ feature flags (KIP-584, src/broker/features.ts): SupportedFeatures gives what Runnel supports of
 *   each Kafka 4.4 feature (transaction.version 0-2; the others one fixed level), FinalizedFeatures the
 *   cluster's levels: transaction.version from the metadata image (FeatureLevelRecord, set by
 *   UpdateFeatures), metadata.version 4.4-IV2, group.version 1 when the KIP-848 APIs are served — what
 *   `kafka-features.sh describe` and Admin.describeFeatures print. FinalizedFeaturesEpoch is the offset
 *   of the metadata image the answer was made from, as Kafka 4.4's is (KRaftMetadataCache.features:
 *   image.highestOffsetAndEpoch().offset, read in the 4.4.0 jar): it never goes back, and it has moved
 *   past every feature record the answer reflects.
 */
import {
  decodeApiVersionsRequest,
  encodeApiVersionsResponse,
  type ApiVersionsRequest,
  type ApiVersionsResponse,
} from '../../protocol/generated/api-versions.js';
import { ApiKey } from '../../protocol/generated/index.js';
import { ErrorCode } from '../../protocol/errors.js';
import type { ApiHandler, RequestContext, SupportedApi } from '../api-handler.js';
import { finalizedFeatureKeys, runnelFeatures, supportedFeatureKeys } from '../features.js';

const softwareNameVersionPattern = /^[a-zA-Z0-9](?:[a-zA-Z0-9\-.]*[a-zA-Z0-9])?$/;

export const apiVersionsHandler: ApiHandler<ApiVersionsRequest, ApiVersionsResponse> = {
  apiKey: ApiKey.ApiVersions,
  name: 'ApiVersions',
  minVersion: 0,
  maxVersion: 5,
  decode: decodeApiVersionsRequest,
  encode: encodeApiVersionsResponse,
  handle: handleApiVersions,
};

function handleApiVersions(context: RequestContext<ApiVersionsRequest>): ApiVersionsResponse {
  if (context.apiVersion >= 3 && !validSoftware(context.request)) {
    return apiVersionsResponse(ErrorCode.INVALID_REQUEST, []);
  }
  if (context.apiVersion >= 5 && !intendedNode(context)) return apiVersionsResponse(ErrorCode.REBOOTSTRAP_REQUIRED, []);
  const image = context.services.metadataLoader.image;
  const features = runnelFeatures(context.supportedApis, image);
  return {
    ...apiVersionsResponse(ErrorCode.NONE, context.supportedApis),
    supportedFeatures: supportedFeatureKeys(features, context.apiVersion),
    finalizedFeaturesEpoch: BigInt(Math.max(0, image.offset)),
    finalizedFeatures: finalizedFeatureKeys(features),
  };
}

function intendedNode(context: RequestContext<ApiVersionsRequest>): boolean {
  const { clusterId, nodeId } = context.request;
  if (clusterId !== null && clusterId !== context.services.metadata.clusterId) return false;
  return nodeId < 0 || nodeId === context.services.nodeId;
}

function validSoftware(request: ApiVersionsRequest): boolean {
  return (
    softwareNameVersionPattern.test(request.clientSoftwareName) &&
    softwareNameVersionPattern.test(request.clientSoftwareVersion)
  );
}

/** Without features: also used by the pipeline for the KIP-511 v0 fallback (v0 has no feature fields). */
export function apiVersionsResponse(errorCode: number, apis: readonly SupportedApi[]): ApiVersionsResponse {
  return {
    errorCode,
    apiKeys: apis.map((api) => ({ apiKey: api.apiKey, minVersion: api.minVersion, maxVersion: api.maxVersion })),
    throttleTimeMs: 0,
    supportedFeatures: [],
    finalizedFeaturesEpoch: -1n,
    finalizedFeatures: [],
    zkMigrationReady: false,
  };
}
