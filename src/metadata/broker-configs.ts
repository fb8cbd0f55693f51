/**
 * DescribeConfigs of a BROKER resource (Kafka's ConfigHelper.createBrokerConfigEntry): every property
 * this broker knows — its static configuration (src/config/config.ts), the `log.*` topic-default
 * properties (topic-configs.ts) and every other Kafka 4.4 broker property (kafka-broker-properties.ts,
 * but the security ones: Runnel has none) — with the value in force, its source and synonyms. The
 * cluster-default resource ("") lists only what was set dynamically at that level, as Kafka does. What
 * Kafka can change at run time (DynamicBrokerConfig's update modes) is not read-only.
 */
import { CONFIG_DEFINITIONS, isConfigName, isSecurityProperty } from '../config/config.js';
import { KAFKA_BROKER_PROPERTIES } from '../config/kafka-broker-properties.js';
import {
  BROKER_LOG_PROPERTIES,
  ConfigSource,
  ConfigTypeId,
  brokerSynonymEntries,
  staticBrokerValue,
  type BrokerConfigLayers,
  type ConfigType,
  type DescribedConfig,
} from './topic-configs.js';

/** DynamicBrokerConfig.brokerConfigSynonyms: properties that define the same value in other units. */
const SYNONYM_GROUPS: readonly (readonly string[])[] = [
  ['log.roll.ms', 'log.roll.hours'],
  ['log.roll.jitter.ms', 'log.roll.jitter.hours'],
  ['log.retention.ms', 'log.retention.minutes', 'log.retention.hours'],
];

function brokerSynonymNames(name: string): readonly string[] {
  if (name === 'log.flush.interval.ms') return ['log.flush.interval.ms', 'log.flush.scheduler.interval.ms'];
  return SYNONYM_GROUPS.find((group) => group.includes(name)) ?? [name];
}

/** Kafka's types for the static properties whose kind here is narrower than Kafka's. */
const KAFKA_TYPES: Readonly<Record<string, ConfigType>> = { 'log.dirs': 'LIST', listeners: 'LIST', 'advertised.listeners': 'STRING' };

function brokerPropertyType(name: string): ConfigType | undefined {
  const log = BROKER_LOG_PROPERTIES.get(name);
  if (log !== undefined) return log.type;
  if (KAFKA_TYPES[name] !== undefined) return KAFKA_TYPES[name];
  const kafka = KAFKA_BROKER_PROPERTIES.get(name);
  if (kafka !== undefined) return kafka.type;
  if (!isConfigName(name)) return undefined;
  const kind = CONFIG_DEFINITIONS[name].kind;
  return kind === 'int' ? 'INT' : kind === 'long' ? 'LONG' : kind === 'boolean' ? 'BOOLEAN' : 'STRING';
}

export function brokerPropertyNames(layers: BrokerConfigLayers): string[] {
  return [...new Set([
    ...Object.keys(CONFIG_DEFINITIONS), ...BROKER_LOG_PROPERTIES.keys(), ...layers.dynamicBroker.keys(), ...layers.dynamicDefault.keys(),
    ...[...KAFKA_BROKER_PROPERTIES.keys()].filter((name) => !isSecurityProperty(name)),
  ])].sort();
}

/**
 * `resourceName` is "" (cluster defaults) or this broker's id (checked by the caller). `keys` null: all.
 */
export function describeBrokerConfigs(
  layers: BrokerConfigLayers, resourceName: string, keys: readonly string[] | null, includeSynonyms: boolean,
): DescribedConfig[] {
  const perBroker = resourceName !== '';
  const available = perBroker ? brokerPropertyNames(layers) : [...layers.dynamicDefault.keys()].sort();
  const names = keys === null ? available : [...new Set(keys)].filter((k) => available.includes(k));
  return names.map((name) => describeBrokerConfig(layers, name, perBroker, includeSynonyms));
}

function describeBrokerConfig(layers: BrokerConfigLayers, name: string, perBroker: boolean, includeSynonyms: boolean): DescribedConfig {
  const type = brokerPropertyType(name);
  const sensitive = type === 'PASSWORD';
  const synonyms = brokerSynonymEntries(brokerSynonymNames(name), layers, sensitive)
    .filter((s) => perBroker || s.source === ConfigSource.DYNAMIC_DEFAULT_BROKER_CONFIG);
  const source = synonyms[0]?.source ?? ConfigSource.DEFAULT_CONFIG;
  const value = perBroker ? brokerValue(layers, name) : layers.dynamicDefault.get(name) ?? null;
  return {
    name,
    value: sensitive ? null : value,
    readOnly: isReadOnly(name),
    isDefault: source === ConfigSource.DEFAULT_CONFIG,
    source,
    isSensitive: sensitive,
    synonyms: includeSynonyms ? synonyms : [],
    configType: type === undefined ? ConfigTypeId.UNKNOWN : ConfigTypeId[type],
    documentation: null,
  };
}

function isReadOnly(name: string): boolean {
  const log = BROKER_LOG_PROPERTIES.get(name);
  if (log !== undefined) return !log.dynamic;
  return (KAFKA_BROKER_PROPERTIES.get(name)?.mode ?? 'read-only') === 'read-only';
}

function brokerValue(layers: BrokerConfigLayers, name: string): string | null {
  const set = layers.dynamicBroker.get(name) ?? layers.dynamicDefault.get(name) ?? staticBrokerValue(layers.static, name);
  if (set !== undefined) return set;
  const log = BROKER_LOG_PROPERTIES.get(name);
  if (log !== undefined) return log.defaultValue;
  if (isConfigName(name)) return String(layers.static[name]);
  return KAFKA_BROKER_PROPERTIES.get(name)?.default ?? null;
}
