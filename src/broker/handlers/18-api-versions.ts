/**
 * ApiVersions (API 18), versions 0-4.
 *
 * Answers with every registered handler's version range — the registry is the only source, so
 * nothing is advertised that is not served — and throttle time 0.
 * - v3+ (KIP-511): the client software name and version are accepted; like Kafka, values that do not
 *   match `[a-zA-Z0-9](?:[a-zA-Z0-9\-.]*[a-zA-Z0-9])?` get INVALID_REQUEST with an empty API list.
 * - A request at a version above 4 never reaches this handler: the pipeline answers it with a v0
 *   response carrying UNSUPPORTED_VERSION and the API list, without decoding the body (KIP-511).
 *   Kafka's own broker lists only ApiVersions itself in that response; Runnel lists every API, which
 *   KIP-511 allows and which spares old clients nothing.
 * Not implemented: feature flags (KIP-584): SupportedFeatures and FinalizedFeatures are empty and
 * FinalizedFeaturesEpoch is -1, since no API behaviour here depends on a finalized feature level.
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

const softwareNameVersionPattern = /^[a-zA-Z0-9](?:[a-zA-Z0-9\-.]*[a-zA-Z0-9])?$/;

export const apiVersionsHandler: ApiHandler<ApiVersionsRequest, ApiVersionsResponse> = {
  apiKey: ApiKey.ApiVersions,
  name: 'ApiVersions',
  minVersion: 0,
  maxVersion: 4,
  decode: decodeApiVersionsRequest,
  encode: encodeApiVersionsResponse,
  handle: handleApiVersions,
};

function handleApiVersions(context: RequestContext<ApiVersionsRequest>): ApiVersionsResponse {
  if (context.apiVersion >= 3 && !validSoftware(context.request)) {
    return apiVersionsResponse(ErrorCode.INVALID_REQUEST, []);
  }
  return apiVersionsResponse(ErrorCode.NONE, context.supportedApis);
}

function validSoftware(request: ApiVersionsRequest): boolean {
  return (
    softwareNameVersionPattern.test(request.clientSoftwareName) &&
    softwareNameVersionPattern.test(request.clientSoftwareVersion)
  );
}

/** Also used by the pipeline for the KIP-511 v0 fallback. */
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
