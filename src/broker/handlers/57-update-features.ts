/**
 * UpdateFeatures (API 57, KIP-584), versions 0-2: `kafka-features.sh upgrade|downgrade|disable` and
 * Admin.updateFeatures.
 *
 * Runnel runs every feature at one fixed level (src/broker/features.ts), so an update to the level in
 * force succeeds and changes nothing, and any other level — or a feature Kafka 4.4 does not define — gets
 * INVALID_UPDATE_VERSION with FeatureControlManager's message ("Invalid update version …"). v0-1 answer
 * per feature; v2 has only the top-level error, which carries the first feature's error.
 * validate_only changes nothing either way.
 */
import {
  decodeUpdateFeaturesRequest,
  encodeUpdateFeaturesResponse,
  type UpdateFeaturesRequest,
  type UpdateFeaturesResponse,
} from '../../protocol/generated/update-features.js';
import { ApiKey } from '../../protocol/generated/index.js';
import { ErrorCode } from '../../protocol/errors.js';
import type { ApiHandler, RequestContext } from '../api-handler.js';
import { featureUpdateProblem, runnelFeatures } from '../features.js';

/** First version without per-feature results. */
const TOP_LEVEL_ONLY_VERSION = 2;

export const updateFeaturesHandler: ApiHandler<UpdateFeaturesRequest, UpdateFeaturesResponse> = {
  apiKey: ApiKey.UpdateFeatures,
  name: 'UpdateFeatures',
  minVersion: 0,
  maxVersion: 2,
  decode: decodeUpdateFeaturesRequest,
  encode: encodeUpdateFeaturesResponse,
  handle: handleUpdateFeatures,
};

function handleUpdateFeatures(context: RequestContext<UpdateFeaturesRequest>): UpdateFeaturesResponse {
  const features = runnelFeatures(context.supportedApis, context.services.config['transaction.version']);
  const results = context.request.featureUpdates.map((update) => {
    // A level below 1 asks for the feature to be disabled, i.e. level 0.
    const level = Math.max(0, update.maxVersionLevel);
    const problem = featureUpdateProblem(features, update.feature, level, context.services.nodeId);
    return { feature: update.feature, errorCode: problem === null ? ErrorCode.NONE : ErrorCode.INVALID_UPDATE_VERSION, errorMessage: problem };
  });
  if (context.apiVersion >= TOP_LEVEL_ONLY_VERSION) {
    const failed = results.find((r) => r.errorCode !== ErrorCode.NONE);
    return { throttleTimeMs: 0, errorCode: failed?.errorCode ?? ErrorCode.NONE, errorMessage: failed?.errorMessage ?? null, results: [] };
  }
  return { throttleTimeMs: 0, errorCode: ErrorCode.NONE, errorMessage: null, results };
}
