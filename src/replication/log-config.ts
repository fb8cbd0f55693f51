/**
 * A topic's storage configuration: storage defaults < the broker's `log.*` properties < the topic's
 * overrides from the metadata image (Kafka's LogConfig.fromProps over KafkaConfig.extractLogConfigMap).
 * Overrides were validated when they were written (CreateTopics / AlterConfigs); one that storage still
 * refuses is skipped rather than failing the whole topic, so a bad value can never stop a partition.
 */
import type { RunnelConfig } from '../config/config.js';
import { applyLogConfigOverrides, defaultLogConfig, type LogConfig } from '../storage/config.js';

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

export function logConfigFor(brokerConfig: RunnelConfig, overrides: ReadonlyMap<string, string>): LogConfig {
  let config = applyLogConfigOverrides(defaultLogConfig, brokerLogDefaults(brokerConfig));
  for (const [name, value] of overrides) {
    try {
      config = applyLogConfigOverrides(config, { [name]: value });
    } catch {
      // Validated on write; see the header.
    }
  }
  return config;
}
