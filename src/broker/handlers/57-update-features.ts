/**
 * UpdateFeatures (API 57, KIP-584), versions 0-2: `kafka-features.sh upgrade|downgrade|disable` and
 * Admin.updateFeatures.
 *
 * transaction.version is finalized in the metadata log: its update goes to the active controller through
 * the controller channel (src/controller/feature-control.ts: Kafka's FeatureControlManager checks, one
 * FeatureLevelRecord, every node's ApiVersions and transaction paths follow once it is applied). Every
 * other feature runs at one fixed level (src/broker/features.ts): asking for that level succeeds and
 * changes nothing, any other level — or a feature Kafka 4.4 does not define — gets INVALID_UPDATE_VERSION
 * with FeatureControlManager's message. As in Kafka, the request is all or nothing: the first failing
 * feature fails it, with QuorumController's top-level "The update failed for all features since the
 * following feature had an error: …" and no per-feature results; on success v0-1 list each feature with
 * NONE and v2 has only the top-level error. validate_only checks everything and writes nothing.
 * v0's AllowDowngrade maps to upgrade type 2 (safe downgrade), as UpdateFeaturesRequest does.
 */
import {
  decodeUpdateFeaturesRequest,
  encodeUpdateFeaturesResponse,
  type UpdateFeaturesRequest,
  type UpdateFeaturesResponse,
} from '../../protocol/generated/update-features.js';
import { ApiKey } from '../../protocol/generated/index.js';
import { ErrorCode } from '../../protocol/errors.js';
import type { FeatureUpdateInput } from '../../controller/feature-control.js';
import type { ApiHandler, RequestContext } from '../api-handler.js';
import { sendToController } from '../admin-requests.js';
import { fixedFeatureUpdateProblem, isFinalizable, runnelFeatures } from '../features.js';
import { UpgradeType } from '../../metadata/features.js';

/** First version without per-feature results. */
const TOP_LEVEL_ONLY_VERSION = 2;
const FAILED_PREFIX = 'The update failed for all features since the following feature had an error: ';

export const updateFeaturesHandler: ApiHandler<UpdateFeaturesRequest, UpdateFeaturesResponse> = {
  apiKey: ApiKey.UpdateFeatures,
  name: 'UpdateFeatures',
  minVersion: 0,
  maxVersion: 2,
  decode: decodeUpdateFeaturesRequest,
  encode: encodeUpdateFeaturesResponse,
  handle: handleUpdateFeatures,
};

async function handleUpdateFeatures(context: RequestContext<UpdateFeaturesRequest>): Promise<UpdateFeaturesResponse> {
  const { request, apiVersion, services } = context;
  const updates: FeatureUpdateInput[] = request.featureUpdates.map((u) => ({
    feature: u.feature,
    maxVersionLevel: u.maxVersionLevel,
    upgradeType: apiVersion === 0 ? (u.allowDowngrade ? UpgradeType.SAFE_DOWNGRADE : UpgradeType.UPGRADE) : u.upgradeType,
  }));
  const features = runnelFeatures(context.supportedApis, services.metadataLoader.image);
  for (const u of updates) {
    if (isFinalizable(u.feature)) continue;
    const problem = fixedFeatureUpdateProblem(features, u.feature, u.maxVersionLevel, u.upgradeType, services.nodeId);
    if (problem !== null) return failedResponse(ErrorCode.INVALID_UPDATE_VERSION, `Invalid update version ${u.maxVersionLevel} for feature ${u.feature}. ${problem}`);
  }
  const finalizable = updates.filter((u) => isFinalizable(u.feature));
  if (finalizable.length > 0) {
    const outcome = await sendToController(services, { type: 'updateFeatures', updates: finalizable, validateOnly: request.validateOnly }, {
      timeoutMs: request.timeoutMs, throttlingKnown: false,
    });
    if (!outcome.ok) return failedResponse(outcome.errorCode, outcome.message ?? '');
  }
  const results = apiVersion >= TOP_LEVEL_ONLY_VERSION ? [] : request.featureUpdates.map((u) => ({ feature: u.feature, errorCode: ErrorCode.NONE, errorMessage: null }));
  return { throttleTimeMs: 0, errorCode: ErrorCode.NONE, errorMessage: null, results };
}

/** QuorumController.updateFeatures: one top-level error for the whole request, no per-feature results. */
function failedResponse(errorCode: number, message: string): UpdateFeaturesResponse {
  const errorMessage = errorCode === ErrorCode.INVALID_UPDATE_VERSION ? FAILED_PREFIX + message : message;
  return { throttleTimeMs: 0, errorCode, errorMessage, results: [] };
}
