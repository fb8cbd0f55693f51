/**
 * Feature flags (KIP-584) as ApiVersions and UpdateFeatures report them: the range of levels Runnel's
 * software supports, and the level the cluster runs at. Levels and names are Kafka 4.4.0's
 * (org.apache.kafka.server.common.MetadataVersion, Feature).
 *
 * - transaction.version: supported 0-2, finalized in the metadata log (src/metadata/features.ts): the
 *   cluster's level is the last FeatureLevelRecord's, changed with UpdateFeatures on the active controller
 *   (src/controller/feature-control.ts) and written first when the cluster is formed from the
 *   `transaction.version` property (Kafka's `kafka-storage format --feature`). Kafka 4 clients read the
 *   finalized level to choose transactions v2.
 * - Every other feature runs at one fixed level, which is also its whole supported range, so it cannot be
 *   upgraded or downgraded (UpdateFeatures says so with Kafka's error):
 *   metadata.version 33 (4.4-IV2): Runnel serves Kafka 4.4's API versions. Its own metadata log is not
 *   Kafka's record format, so the level says which broker behaviour to expect, not which records exist.
 *   group.version 1 exactly when the KIP-848 consumer group APIs are served (ConsumerGroupHeartbeat
 *   registered), else 0. kraft.version 0 (static voters, no KIP-853 reconfiguration),
 *   eligible.leader.replicas.version 0, share.version 0, streams.version 0: none of those is implemented.
 * A feature at level 0 is not finalized (Kafka leaves it out of FinalizedFeatures), and a supported range
 * starting at 0 is left out of ApiVersions before v4 (KAFKA-17492: older clients cannot read it).
 */
import { ApiKey } from '../protocol/generated/index.js';
import {
  DISABLED_RANGE, FINALIZABLE_FEATURES, finalizedLevel, malformedUpdateProblem, reasonNotSupported, type VersionRange,
} from '../metadata/features.js';
import type { MetadataImage } from '../metadata/image.js';
import type { SupportedApi } from './api-handler.js';

export { TRANSACTION_VERSION_FEATURE } from '../metadata/features.js';
export const METADATA_VERSION_FEATURE = 'metadata.version';
/** MetadataVersion.IBP_4_4_IV2.featureLevel() in Kafka 4.4.0. */
export const METADATA_VERSION_LEVEL = 33;
export const METADATA_VERSION_NAME = '4.4-IV2';

export interface FeatureLevel {
  readonly name: string;
  /** What this software supports. */
  readonly supported: VersionRange;
  /** The level the cluster runs at (0: not finalized). */
  readonly level: number;
}

/** Every feature Kafka 4.4 defines: its supported range here and the cluster's level in `image`. */
export function runnelFeatures(apis: readonly SupportedApi[], image: MetadataImage): FeatureLevel[] {
  const consumerGroups = apis.some((api) => api.apiKey === ApiKey.ConsumerGroupHeartbeat);
  const fixed = (name: string, level: number): FeatureLevel => ({ name, supported: { min: level, max: level }, level });
  const features = [
    fixed('eligible.leader.replicas.version', 0),
    fixed('group.version', consumerGroups ? 1 : 0),
    fixed('kraft.version', 0),
    fixed(METADATA_VERSION_FEATURE, METADATA_VERSION_LEVEL),
    fixed('share.version', 0),
    fixed('streams.version', 0),
  ];
  for (const [name, supported] of FINALIZABLE_FEATURES) features.push({ name, supported, level: finalizedLevel(image, name) });
  return features.sort((a, b) => (a.name < b.name ? -1 : 1));
}

export interface SupportedFeatureKey {
  name: string;
  minVersion: number;
  maxVersion: number;
}

export interface FinalizedFeatureKey {
  name: string;
  minVersionLevel: number;
  maxVersionLevel: number;
}

/** ApiVersions SupportedFeatures: ranges with a 0 minimum only from v4 on (ApiVersionsResponse.maybeFilterSupportedFeatureKeys, KAFKA-17492). */
export function supportedFeatureKeys(features: readonly FeatureLevel[], apiVersion: number): SupportedFeatureKey[] {
  return features
    .filter((f) => apiVersion >= 4 || f.supported.min !== 0)
    .map((f) => ({ name: f.name, minVersion: f.supported.min, maxVersion: f.supported.max }));
}

/** ApiVersions FinalizedFeatures: level 0 means not finalized (ApiVersionsResponse.createFinalizedFeatureKeys). */
export function finalizedFeatureKeys(features: readonly FeatureLevel[]): FinalizedFeatureKey[] {
  return features.filter((f) => f.level !== 0).map((f) => ({ name: f.name, minVersionLevel: f.level, maxVersionLevel: f.level }));
}

/** Whether UpdateFeatures of `name` goes to the active controller (finalized in the metadata log). */
export function isFinalizable(name: string): boolean {
  return FINALIZABLE_FEATURES.has(name);
}

/**
 * FeatureControlManager.updateFeature for a feature Runnel runs at a fixed level (not finalizable), in
 * Kafka's words and order, without the "Invalid update version …" prefix; null when the update asks for
 * the level in force (a no-op). A feature Kafka 4.4 does not define supports nothing (QuorumFeatures.DISABLED).
 */
export function fixedFeatureUpdateProblem(features: readonly FeatureLevel[], name: string, level: number, upgradeType: number, nodeId: number): string | null {
  const malformed = malformedUpdateProblem(level, upgradeType);
  if (malformed !== null) return malformed;
  const feature = features.find((f) => f.name === name);
  const unsupported = reasonNotSupported(level, `Local controller ${nodeId}`, feature?.supported ?? DISABLED_RANGE);
  if (unsupported !== null) return unsupported;
  if (feature === undefined) return `Feature ${name} not found.`;
  return null;
}
