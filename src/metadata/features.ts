/**
 * Finalized feature levels that live in the metadata log (KIP-584 under KRaft: FeatureLevelRecord, replayed
 * into FeaturesImage). Only `transaction.version` is finalized this way in Runnel: it changes with
 * UpdateFeatures (`kafka-features.sh upgrade|downgrade`) and takes effect on every node once the record
 * is applied. Every other feature runs at one fixed level (src/broker/features.ts).
 *
 * transaction.version (org.apache.kafka.server.common.TransactionVersion): 0 — transactions v1 (KIP-98 with
 * KIP-890 part 1's verification); 1 — the same protocol, `__transaction_state` values written as the
 * flexible TransactionLogValue v1; 2 — transactions v2 (KIP-890 part 2: an epoch bump per transaction,
 * partitions added by Produce v12+ / TxnOffsetCommit v5+ themselves).
 */
import type { MetadataImage } from './image.js';

export const TRANSACTION_VERSION_FEATURE = 'transaction.version';

/** Kafka's VersionRange: both ends inclusive. */
export interface VersionRange {
  readonly min: number;
  readonly max: number;
}

/** QuorumFeatures.DISABLED: what a node that does not name a feature supports. */
export const DISABLED_RANGE: VersionRange = Object.freeze({ min: 0, max: 0 });

/** What this software supports of each feature finalized in the metadata log (QuorumFeatures' local map). */
export const FINALIZABLE_FEATURES: ReadonlyMap<string, VersionRange> = new Map([
  [TRANSACTION_VERSION_FEATURE, Object.freeze({ min: 0, max: 2 })],
]);

/** The finalized level of `name` in `image`; 0 (not finalized) when no FeatureLevelRecord set it. */
export function finalizedLevel(image: MetadataImage, name: string): number {
  return image.features.get(name) ?? 0;
}

/** The cluster's transaction.version as the metadata image has it (TransactionStateManager.transactionVersionLevel). */
export function finalizedTransactionVersion(image: MetadataImage): number {
  return finalizedLevel(image, TRANSACTION_VERSION_FEATURE);
}

export function rangeContains(range: VersionRange, level: number): boolean {
  return level >= range.min && level <= range.max;
}

/** VersionRange.toString: "2" for 2-2, "0-2", "1+" up to Short.MAX_VALUE. */
export function formatVersionRange(range: VersionRange): string {
  if (range.min === range.max) return String(range.min);
  if (range.max === 0x7fff) return `${range.min}+`;
  return `${range.min}-${range.max}`;
}

/** QuorumFeatures.reasonNotSupported, or null when `range` holds `level`. */
export function reasonNotSupported(level: number, what: string, range: VersionRange): string | null {
  if (rangeContains(range, level)) return null;
  return range.max === 0 ? `${what} does not support this feature.` : `${what} only supports versions ${formatVersionRange(range)}`;
}

/** FeatureUpdate.UpgradeType codes (UpdateFeaturesRequest v1+; v0's AllowDowngrade maps to 1 or 2). */
export const UpgradeType = { UPGRADE: 1, SAFE_DOWNGRADE: 2, UNSAFE_DOWNGRADE: 3 } as const;

/** FeatureControlManager.updateFeature's first two checks, shared by finalizable and fixed features; or null. */
export function malformedUpdateProblem(level: number, upgradeType: number): string | null {
  if (upgradeType !== UpgradeType.UPGRADE && upgradeType !== UpgradeType.SAFE_DOWNGRADE && upgradeType !== UpgradeType.UNSAFE_DOWNGRADE) {
    return 'The controller does not support the given upgrade type.';
  }
  if (level < 0) return 'A feature version cannot be less than 0.';
  return null;
}
