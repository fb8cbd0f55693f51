/**
 * Feature flags (KIP-584) as ApiVersions and UpdateFeatures report them: what Runnel supports, and the
 * level it runs at. Levels and names are Kafka 4.4.0's (org.apache.kafka.server.common.MetadataVersion,
 * Feature). Runnel runs every feature at one fixed level, so each supported range is that one level:
 * nothing here can be upgraded or downgraded, and UpdateFeatures says so with Kafka's error.
 *
 * - metadata.version 33 (4.4-IV2): Runnel serves Kafka 4.4's API versions. Its own metadata log is not
 *   Kafka's record format, so the level says which broker behaviour to expect, not which records exist.
 * - group.version 1 exactly when the KIP-848 consumer group APIs are served (ConsumerGroupHeartbeat
 *   registered), else 0.
 * - transaction.version: the `transaction.version` property, 0 (transactions v1: KIP-98 with KIP-890 part
 *   1's verification) or 2 (KIP-890 part 2: an epoch bump per transaction, partitions added by Produce
 *   v12+ / TxnOffsetCommit v5+ themselves; src/txn/coordinator.ts). Kafka 4 clients read the finalized
 *   level to choose. Level 1 (flexible state records only) is not offered. kraft.version 0 (static voters, no KIP-853 reconfiguration),
 *   eligible.leader.replicas.version 0, share.version 0, streams.version 0: none of those is implemented.
 * A feature at level 0 is not finalized (Kafka leaves it out of FinalizedFeatures), and a supported range
 * starting at 0 is left out of ApiVersions before v4 (KAFKA-17492: older clients cannot read it).
 */
import { ApiKey } from '../protocol/generated/index.js';
import type { SupportedApi } from './api-handler.js';

export const METADATA_VERSION_FEATURE = 'metadata.version';
export const TRANSACTION_VERSION_FEATURE = 'transaction.version';
/** MetadataVersion.IBP_4_4_IV2.featureLevel() in Kafka 4.4.0. */
export const METADATA_VERSION_LEVEL = 33;
export const METADATA_VERSION_NAME = '4.4-IV2';

export interface FeatureLevel {
  readonly name: string;
  /** The level Runnel runs at, which is also the whole of its supported range. */
  readonly level: number;
}

/** Every feature Kafka 4.4 defines, at the level Runnel runs it. */
export function runnelFeatures(apis: readonly SupportedApi[], transactionVersion: number): FeatureLevel[] {
  const consumerGroups = apis.some((api) => api.apiKey === ApiKey.ConsumerGroupHeartbeat);
  return [
    { name: 'eligible.leader.replicas.version', level: 0 },
    { name: 'group.version', level: consumerGroups ? 1 : 0 },
    { name: 'kraft.version', level: 0 },
    { name: METADATA_VERSION_FEATURE, level: METADATA_VERSION_LEVEL },
    { name: 'share.version', level: 0 },
    { name: 'streams.version', level: 0 },
    { name: TRANSACTION_VERSION_FEATURE, level: transactionVersion },
  ];
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

/** ApiVersions SupportedFeatures: ranges with a 0 minimum only from v4 on (KAFKA-17492). */
export function supportedFeatureKeys(features: readonly FeatureLevel[], apiVersion: number): SupportedFeatureKey[] {
  return features
    .filter((f) => apiVersion >= 4 || f.level !== 0)
    .map((f) => ({ name: f.name, minVersion: f.level, maxVersion: f.level }));
}

/** ApiVersions FinalizedFeatures: level 0 means not finalized (ApiVersionsResponse.createFinalizedFeatureKeys). */
export function finalizedFeatureKeys(features: readonly FeatureLevel[]): FinalizedFeatureKey[] {
  return features.filter((f) => f.level !== 0).map((f) => ({ name: f.name, minVersionLevel: f.level, maxVersionLevel: f.level }));
}

/**
 * Why changing `name` to `level` is refused, in the words of Kafka's FeatureControlManager
 * ("Invalid update version …"), or null when it asks for the level already in force (a no-op).
 */
export function featureUpdateProblem(features: readonly FeatureLevel[], name: string, level: number, nodeId: number): string | null {
  const feature = features.find((f) => f.name === name);
  if (feature === undefined) return `Invalid update version ${level} for feature ${name}. The controller does not support the given feature.`;
  if (feature.level === level) return null;
  return `Invalid update version ${level} for feature ${name}. Local controller ${nodeId} only supports versions ${feature.level}-${feature.level}`;
}
