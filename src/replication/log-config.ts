/**
 * The broker's `log.*` properties as the LogManager's defaults, used for the logs it opens at startup
 * before the replica manager applies each topic's full configuration (src/metadata/topic-configs.ts
 * logConfigForTopic: Kafka defaults < broker configs < topic overrides).
 */
import type { RunnelConfig } from '../config/config.js';

/** The broker-wide values under the topic-level names storage reads. */
export function brokerLogDefaults(config: RunnelConfig): Record<string, string | number> {
  return {
    'segment.bytes': config['log.segment.bytes'],
    'retention.ms': config['log.retention.ms'],
    'retention.bytes': config['log.retention.bytes'],
    'durability.mode': config['log.durability.mode'],
    'flush.window.ms': config['log.flush.window.ms'],
  };
}
