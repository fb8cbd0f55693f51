/**
 * The broker's topic-config defaults as the LogManager's defaults, used for the logs it opens at startup
 * before the replica manager applies each topic's full configuration. Values come from the same
 * resolution as every topic (src/metadata/topic-configs.ts: Kafka defaults < broker `log.*` synonyms,
 * e.g. `log.retention.hours` → `retention.ms`), so a broker configured in hours is not briefly retained
 * under another value.
 */
import type { RunnelConfig } from '../config/config.js';
import { effectiveTopicConfig } from '../metadata/topic-configs.js';

/** The storage settings whose broker-wide default is a Kafka topic config (with a `log.*` synonym). */
const STORAGE_TOPIC_CONFIGS = [
  'segment.bytes', 'segment.ms', 'retention.ms', 'retention.bytes', 'message.timestamp.type',
  'message.timestamp.before.max.ms', 'message.timestamp.after.max.ms', 'index.interval.bytes',
  'segment.index.bytes', 'max.message.bytes', 'durability.mode', 'flush.window.ms', 'cleanup.policy',
] as const;

const NO_OVERRIDES: ReadonlyMap<string, string> = new Map();

/** The broker-wide values under the topic-level names storage reads. */
export function brokerLogDefaults(config: RunnelConfig): Record<string, string> {
  const defaults: Record<string, string> = {};
  for (const name of STORAGE_TOPIC_CONFIGS) {
    const value = effectiveTopicConfig(config, NO_OVERRIDES, name);
    if (value !== undefined) defaults[name] = clampLong(value);
  }
  return defaults;
}

/** Kafka's "no limit" is Long.MAX_VALUE; storage keeps numbers as JS numbers, where that is MAX_SAFE_INTEGER. */
function clampLong(value: string): string {
  return /^\d{16,}$/.test(value) && Number(value) > Number.MAX_SAFE_INTEGER ? String(Number.MAX_SAFE_INTEGER) : value;
}
