/**
 * UpdateFeatures on the active controller, free of IO (Kafka's FeatureControlManager.updateFeatures and
 * updateFeature, QuorumFeatures.reasonNotSupported; read from apache/kafka and checked against the 4.4.0
 * jar): every update is validated against the finalized levels in the image; the first failure fails the
 * whole request (INVALID_UPDATE_VERSION, "Invalid update version …") and nothing is written; otherwise one
 * FeatureLevelRecord per update, as one atomic batch (none with validate_only).
 *
 * A level is allowed only if this controller's software supports it (FINALIZABLE_FEATURES) and so does
 * every registered broker, fenced or not (ClusterFeatureSupportDescriber.brokerSupported: a broker that
 * named no range for the feature supports only 0). Kafka also checks each registered controller; Runnel
 * does not register controllers, so a voter that is not a broker is assumed to run this software.
 * An update to the level in force is allowed and written again, as Kafka does.
 */
import {
  DISABLED_RANGE, FINALIZABLE_FEATURES, finalizedLevel, malformedUpdateProblem, reasonNotSupported, UpgradeType, type VersionRange,
} from '../metadata/features.js';
import type { MetadataImage } from '../metadata/image.js';
import type { FeatureLevelRecord } from '../metadata/records.js';
import { ErrorCode } from '../protocol/errors.js';
import type { Plan } from './admin.js';

export { UpgradeType } from '../metadata/features.js';

export interface FeatureUpdateInput {
  readonly feature: string;
  /** The new finalized level; 0 disables the feature. */
  readonly maxVersionLevel: number;
  /** UpgradeType; anything else is UNKNOWN. */
  readonly upgradeType: number;
}

export function planUpdateFeatures(
  image: MetadataImage,
  nodeId: number,
  updates: readonly FeatureUpdateInput[],
  localSupported: ReadonlyMap<string, VersionRange> = FINALIZABLE_FEATURES,
): Plan<null> {
  const records: FeatureLevelRecord[] = [];
  for (const update of updates) {
    const problem = updateProblem(image, nodeId, update, localSupported);
    if (problem !== null) {
      return { ok: false, errorCode: ErrorCode.INVALID_UPDATE_VERSION, message: `Invalid update version ${update.maxVersionLevel} for feature ${update.feature}. ${problem}` };
    }
    records.push({ type: 'FeatureLevel', name: update.feature, featureLevel: update.maxVersionLevel });
  }
  return { ok: true, records, value: null };
}

/** FeatureControlManager.updateFeature's checks in its order, or null. */
function updateProblem(image: MetadataImage, nodeId: number, update: FeatureUpdateInput, localSupported: ReadonlyMap<string, VersionRange>): string | null {
  const { feature, maxVersionLevel: level, upgradeType } = update;
  const malformed = malformedUpdateProblem(level, upgradeType);
  if (malformed !== null) return malformed;
  const current = finalizedLevel(image, feature);
  const unsupported = clusterReasonNotSupported(image, nodeId, feature, level, localSupported);
  if (unsupported !== null) return unsupported;
  if (level < current && upgradeType === UpgradeType.UPGRADE) {
    return "Can't downgrade the version of this feature without setting the upgrade type to either safe or unsafe downgrade.";
  }
  if (level > current && upgradeType !== UpgradeType.UPGRADE) return "Can't downgrade to a newer version.";
  // Feature.validateVersion: Runnel's finalizable features have no dependencies between them, and a
  // level this software supports is a known level (TransactionVersion.fromFeatureLevel cannot fail).
  if (!localSupported.has(feature)) return `Feature ${feature} not found.`;
  return null;
}

/** FeatureControlManager.reasonNotSupported: this controller, then every registered broker. */
function clusterReasonNotSupported(
  image: MetadataImage, nodeId: number, feature: string, level: number, localSupported: ReadonlyMap<string, VersionRange>,
): string | null {
  const local = reasonNotSupported(level, `Local controller ${nodeId}`, localSupported.get(feature) ?? DISABLED_RANGE);
  if (local !== null) return local;
  for (const broker of image.brokers.values()) {
    const named = broker.supportedFeatures.find((f) => f.name === feature);
    const range = named === undefined ? DISABLED_RANGE : { min: named.minSupportedVersion, max: named.maxSupportedVersion };
    const reason = reasonNotSupported(level, `Broker ${broker.brokerId}`, range);
    if (reason !== null) return reason;
  }
  return null;
}

/**
 * ClusterControlManager.processRegistrationFeature for every finalized feature: a broker may register only
 * if its software supports each level in force (a feature it does not name: only 0). Null when it does.
 */
export function registrationFeatureProblem(image: MetadataImage, features: readonly { name: string; minSupportedVersion: number; maxSupportedVersion: number }[]): string | null {
  for (const [name, finalized] of image.features) {
    const named = features.find((f) => f.name === name);
    const min = named?.minSupportedVersion ?? 0;
    const max = named?.maxSupportedVersion ?? 0;
    if (finalized < min || finalized > max) {
      return `Unable to register because the broker does not support finalized version ${finalized} of ${name}. The broker wants a version between ${min} and ${max}, inclusive.`;
    }
  }
  return null;
}
