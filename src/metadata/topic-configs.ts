/**
 * Topic configuration: Kafka 4.x topic config definitions (apache/kafka LogConfig, TopicConfig,
 * ServerLogConfigs, ServerTopicConfigSynonyms) under Kafka's exact names, types, defaults and validators,
 * with the broker properties that supply each topic default (synonyms, highest precedence first).
 *
 * A topic's effective value is, in order: its own override (a Config record of the topic), else the first
 * broker synonym set anywhere — dynamic for this broker, dynamic cluster default, static (file/env/flags) —
 * converted to the topic's unit (log.retention.hours → ms), else the synonyms' Kafka default, else the
 * topic default. DescribeConfigs reports sources and synonyms the way Kafka's ConfigHelper does.
 *
 * Runnel adds two topic configs of its own (DESIGN §4): `durability.mode` (fsync | none) and
 * `flush.window.ms`, with broker synonyms `log.durability.mode` and `log.flush.window.ms`.
 */
import { CONFIG_DEFINITIONS, isConfigName, isExplicitlySet, kafkaOnlyValue, type RunnelConfig } from '../config/config.js';
import { ErrorCode } from '../protocol/errors.js';
import { defaultLogConfig, type LogConfig } from '../storage/config.js';
import { configKey, type MetadataImage } from './image.js';

export type ConfigType = 'BOOLEAN' | 'STRING' | 'INT' | 'SHORT' | 'LONG' | 'DOUBLE' | 'LIST' | 'CLASS' | 'PASSWORD';

/** DescribeConfigs v3+ config_type (DescribeConfigsResponse.ConfigType). */
export const ConfigTypeId: Readonly<Record<ConfigType | 'UNKNOWN', number>> = Object.freeze({
  UNKNOWN: 0, BOOLEAN: 1, STRING: 2, INT: 3, SHORT: 4, LONG: 5, DOUBLE: 6, LIST: 7, CLASS: 8, PASSWORD: 9,
});

/** DescribeConfigs config_source (DescribeConfigsResponse.ConfigSource). */
export const ConfigSource = Object.freeze({
  UNKNOWN: 0,
  DYNAMIC_TOPIC_CONFIG: 1,
  DYNAMIC_BROKER_CONFIG: 2,
  DYNAMIC_DEFAULT_BROKER_CONFIG: 3,
  STATIC_BROKER_CONFIG: 4,
  DEFAULT_CONFIG: 5,
  DYNAMIC_BROKER_LOGGER_CONFIG: 6,
});

export type ParsedValue = boolean | bigint | number | string | readonly string[];

/** Returns why a parsed value is invalid (Kafka's validator message), or null. */
type Validator = (value: ParsedValue) => string | null;

const LONG_MAX = 9223372036854775807n;
const LONG_MIN = -9223372036854775808n;
const INT_MAX = 2147483647n;
const INT_MIN = -2147483648n;
const LONG_MAX_TEXT = LONG_MAX.toString();

/** A broker property that supplies a topic default. unit: how to convert its value to the topic's. */
interface BrokerSynonym {
  readonly name: string;
  readonly unit: 'same' | 'minutes' | 'hours';
}

export interface TopicConfigDefinition {
  readonly name: string;
  readonly type: ConfigType;
  /** The topic default as Kafka's ConfigDef.convertToString prints it. */
  readonly defaultValue: string;
  readonly validator?: Validator;
  /** Broker properties, highest precedence first (ServerTopicConfigSynonyms.ALL_TOPIC_CONFIG_SYNONYMS). */
  readonly synonyms: readonly BrokerSynonym[];
  /** Accepted but not described (LogConfig.defineInternal). */
  readonly internal: boolean;
}

export interface BrokerPropertyDefinition {
  readonly name: string;
  readonly type: ConfigType;
  /** Kafka's default (null: none, a lower-precedence synonym supplies it). */
  readonly defaultValue: string | null;
  readonly validator?: Validator;
  /** In DynamicBrokerConfig.AllDynamicConfigs: settable through (Incremental)AlterConfigs. */
  readonly dynamic: boolean;
}

// ---- validators (ConfigDef.Range / ValidString / ValidList messages) ----

function atLeast(min: bigint | number): Validator {
  return (v) => (toNumberish(v) < min ? `Value must be at least ${min}` : null);
}

function between(min: bigint | number, max: bigint | number): Validator {
  return (v) => {
    const n = toNumberish(v);
    if (n < min) return `Value must be no less than ${min}`;
    if (n > max) return `Value must be no more than ${max}`;
    return null;
  };
}

function oneOf(...allowed: string[]): Validator {
  return (v) => (allowed.includes(v as string) ? null : `String must be one of: ${allowed.join(', ')}`);
}

function listOf(...allowed: string[]): Validator {
  return (v) => {
    const items = v as readonly string[];
    for (const item of items) {
      if (!allowed.includes(item)) return `String must be one of: ${allowed.join(', ')}`;
    }
    if (new Set(items).size !== items.length) return 'values must not be duplicated.';
    return null;
  };
}

/** LogConfig's ThrottledReplicaListValidator: '*' or partitionId:brokerId,… */
const throttledReplicas: Validator = (v) => {
  const items = v as readonly string[];
  const ok = (items.length === 1 && items[0] === '*') || items.every((i) => /^\s*\d+\s*:\s*\d+\s*$/.test(i));
  return ok
    ? null
    : "must be the literal '*' or a list of replicas in the following format: [partitionId]:[brokerId],[partitionId]:[brokerId],...";
};

function toNumberish(v: ParsedValue): bigint | number {
  return typeof v === 'bigint' || typeof v === 'number' ? v : Number.NaN;
}

// Compression levels: CompressionType.GZIP/LZ4/ZSTD levelValidator() (KIP-390).
const gzipLevel: Validator = (v) => {
  const n = Number(v);
  return n === -1 || (n >= 1 && n <= 9) ? null : 'Value must be between 1 and 9 or equal to -1';
};

const COMPRESSION_TYPES = ['uncompressed', 'zstd', 'lz4', 'snappy', 'gzip', 'producer'];
const DAY_MS = 86_400_000;
const WEEK_MS = 7 * DAY_MS;

function topic(
  name: string, type: ConfigType, defaultValue: string, validator: Validator | undefined,
  synonyms: readonly (string | BrokerSynonym)[] = [], internal = false,
): TopicConfigDefinition {
  return Object.freeze({
    name, type, defaultValue, validator, internal,
    synonyms: Object.freeze(synonyms.map((s) => (typeof s === 'string' ? { name: s, unit: 'same' as const } : s))),
  });
}

/** Kafka 4.x topic configs (LogConfig.CONFIG), plus Runnel's two durability settings. */
export const TOPIC_CONFIGS: ReadonlyMap<string, TopicConfigDefinition> = new Map(
  [
    topic('segment.bytes', 'INT', '1073741824', atLeast(1024 * 1024), ['log.segment.bytes']),
    topic('segment.ms', 'LONG', String(WEEK_MS), atLeast(1),
      ['log.roll.ms', { name: 'log.roll.hours', unit: 'hours' }]),
    topic('segment.jitter.ms', 'LONG', '0', atLeast(0),
      ['log.roll.jitter.ms', { name: 'log.roll.jitter.hours', unit: 'hours' }]),
    topic('segment.index.bytes', 'INT', '10485760', atLeast(4), ['log.index.size.max.bytes']),
    topic('flush.messages', 'LONG', LONG_MAX_TEXT, atLeast(1), ['log.flush.interval.messages']),
    topic('flush.ms', 'LONG', LONG_MAX_TEXT, atLeast(0),
      ['log.flush.interval.ms', 'log.flush.scheduler.interval.ms']),
    // Negative retention.bytes means "no limit" (LogManager.cleanupSegmentsToMaintainSize), so no validator.
    topic('retention.bytes', 'LONG', '-1', undefined, ['log.retention.bytes']),
    topic('retention.ms', 'LONG', String(WEEK_MS), atLeast(-1), [
      'log.retention.ms', { name: 'log.retention.minutes', unit: 'minutes' }, { name: 'log.retention.hours', unit: 'hours' },
    ]),
    topic('max.message.bytes', 'INT', '1048588', atLeast(0), ['message.max.bytes']),
    topic('index.interval.bytes', 'INT', '4096', atLeast(0), ['log.index.interval.bytes']),
    topic('delete.retention.ms', 'LONG', String(DAY_MS), atLeast(0), ['log.cleaner.delete.retention.ms']),
    topic('min.compaction.lag.ms', 'LONG', '0', atLeast(0), ['log.cleaner.min.compaction.lag.ms']),
    topic('max.compaction.lag.ms', 'LONG', LONG_MAX_TEXT, atLeast(1), ['log.cleaner.max.compaction.lag.ms']),
    topic('file.delete.delay.ms', 'LONG', '60000', atLeast(0), ['log.segment.delete.delay.ms']),
    topic('min.cleanable.dirty.ratio', 'DOUBLE', '0.5', between(0, 1), ['log.cleaner.min.cleanable.ratio']),
    topic('cleanup.policy', 'LIST', 'delete', listOf('compact', 'delete'), ['log.cleanup.policy']),
    topic('unclean.leader.election.enable', 'BOOLEAN', 'false', undefined, ['unclean.leader.election.enable']),
    topic('min.insync.replicas', 'INT', '1', atLeast(1), ['min.insync.replicas']),
    topic('compression.type', 'STRING', 'producer', oneOf(...COMPRESSION_TYPES), ['compression.type']),
    topic('compression.gzip.level', 'INT', '-1', gzipLevel, ['compression.gzip.level']),
    topic('compression.lz4.level', 'INT', '9', between(1, 17), ['compression.lz4.level']),
    topic('compression.zstd.level', 'INT', '3', between(-131072, 22), ['compression.zstd.level']),
    topic('preallocate', 'BOOLEAN', 'false', undefined, ['log.preallocate']),
    topic('message.timestamp.type', 'STRING', 'CreateTime', oneOf('CreateTime', 'LogAppendTime'),
      ['log.message.timestamp.type']),
    // KIP-937 bounds; Kafka 4.0 (KIP-1030) lowered the after.max.ms default to one hour.
    topic('message.timestamp.before.max.ms', 'LONG', LONG_MAX_TEXT, atLeast(0), ['log.message.timestamp.before.max.ms']),
    topic('message.timestamp.after.max.ms', 'LONG', '3600000', atLeast(0), ['log.message.timestamp.after.max.ms']),
    topic('leader.replication.throttled.replicas', 'LIST', '', throttledReplicas),
    topic('follower.replication.throttled.replicas', 'LIST', '', throttledReplicas),
    topic('remote.storage.enable', 'BOOLEAN', 'false', undefined),
    topic('local.retention.ms', 'LONG', '-2', atLeast(-2), ['log.local.retention.ms']),
    topic('local.retention.bytes', 'LONG', '-2', atLeast(-2), ['log.local.retention.bytes']),
    topic('remote.log.copy.disable', 'BOOLEAN', 'false', undefined),
    topic('remote.log.delete.on.disable', 'BOOLEAN', 'false', undefined),
    // KIP-1030: segment.bytes is at least 1 MiB; this internal override exists for tests.
    topic('internal.segment.bytes', 'INT', '', atLeast(14), [], true),
    topic('durability.mode', 'STRING', 'fsync', oneOf('fsync', 'none'), ['log.durability.mode']),
    topic('flush.window.ms', 'LONG', String(defaultLogConfig.flushWindowMs), between(0, 60_000), ['log.flush.window.ms']),
  ].map((d) => [d.name, d]),
);

function broker(
  name: string, type: ConfigType, defaultValue: string | null, validator?: Validator, dynamic = true,
): BrokerPropertyDefinition {
  return Object.freeze({ name, type, defaultValue, validator, dynamic });
}

/**
 * Broker properties that are topic-config synonyms (KafkaConfig / LogConfig.SERVER_CONFIG_DEF). The first
 * synonym of each topic config is dynamic (DynamicLogConfig.ReconfigurableConfigs); the unit variants
 * (log.retention.hours, log.roll.hours, …) are read-only, as in Kafka.
 */
export const BROKER_LOG_PROPERTIES: ReadonlyMap<string, BrokerPropertyDefinition> = new Map(
  [
    broker('log.segment.bytes', 'INT', '1073741824', atLeast(1024 * 1024)),
    broker('log.roll.ms', 'LONG', null, atLeast(1)),
    broker('log.roll.hours', 'INT', '168', atLeast(1), false),
    broker('log.roll.jitter.ms', 'LONG', null, atLeast(0)),
    broker('log.roll.jitter.hours', 'INT', '0', atLeast(0), false),
    broker('log.index.size.max.bytes', 'INT', '10485760', atLeast(4)),
    broker('log.flush.interval.messages', 'LONG', LONG_MAX_TEXT, atLeast(1)),
    broker('log.flush.interval.ms', 'LONG', null, atLeast(0)),
    broker('log.flush.scheduler.interval.ms', 'LONG', LONG_MAX_TEXT, undefined, false),
    broker('log.retention.bytes', 'LONG', '-1'),
    broker('log.retention.ms', 'LONG', null),
    broker('log.retention.minutes', 'INT', null, undefined, false),
    broker('log.retention.hours', 'INT', '168', undefined, false),
    broker('message.max.bytes', 'INT', '1048588', atLeast(0)),
    broker('log.index.interval.bytes', 'INT', '4096', atLeast(0)),
    broker('log.cleaner.delete.retention.ms', 'LONG', String(DAY_MS), atLeast(0)),
    broker('log.cleaner.min.compaction.lag.ms', 'LONG', '0', atLeast(0)),
    broker('log.cleaner.max.compaction.lag.ms', 'LONG', LONG_MAX_TEXT, atLeast(1)),
    broker('log.segment.delete.delay.ms', 'LONG', '60000', atLeast(0)),
    broker('log.cleaner.min.cleanable.ratio', 'DOUBLE', '0.5', between(0, 1)),
    broker('log.cleanup.policy', 'LIST', 'delete', listOf('compact', 'delete')),
    broker('unclean.leader.election.enable', 'BOOLEAN', 'false'),
    broker('min.insync.replicas', 'INT', '1', atLeast(1)),
    broker('compression.type', 'STRING', 'producer', oneOf(...COMPRESSION_TYPES)),
    broker('compression.gzip.level', 'INT', '-1', gzipLevel),
    broker('compression.lz4.level', 'INT', '9', between(1, 17)),
    broker('compression.zstd.level', 'INT', '3', between(-131072, 22)),
    broker('log.preallocate', 'BOOLEAN', 'false'),
    broker('log.message.timestamp.type', 'STRING', 'CreateTime', oneOf('CreateTime', 'LogAppendTime')),
    broker('log.message.timestamp.before.max.ms', 'LONG', LONG_MAX_TEXT, atLeast(0)),
    broker('log.message.timestamp.after.max.ms', 'LONG', '3600000', atLeast(0)),
    broker('log.local.retention.ms', 'LONG', '-2', atLeast(-2)),
    broker('log.local.retention.bytes', 'LONG', '-2', atLeast(-2)),
    broker('log.durability.mode', 'STRING', 'fsync', oneOf('fsync', 'none')),
    broker('log.flush.window.ms', 'LONG', String(defaultLogConfig.flushWindowMs), between(0, 60_000)),
  ].map((d) => [d.name, d]),
);

// ---- parsing (ConfigDef.parseType) ----

export type ParseResult = { readonly ok: true; readonly value: ParsedValue } | { readonly ok: false; readonly reason: string };

export function parseConfigValue(type: ConfigType, text: string): ParseResult {
  const trimmed = text.trim();
  switch (type) {
    case 'BOOLEAN': {
      const lower = trimmed.toLowerCase();
      if (lower === 'true' || lower === 'false') return { ok: true, value: lower === 'true' };
      return { ok: false, reason: 'Expected value to be either true or false' };
    }
    case 'SHORT':
      return parseInteger(trimmed, -32768n, 32767n, type);
    case 'INT':
      return parseInteger(trimmed, INT_MIN, INT_MAX, type);
    case 'LONG':
      return parseInteger(trimmed, LONG_MIN, LONG_MAX, type);
    case 'DOUBLE': {
      const n = trimmed === '' ? Number.NaN : Number(trimmed);
      return Number.isNaN(n) ? { ok: false, reason: 'Not a number of type DOUBLE' } : { ok: true, value: n };
    }
    case 'LIST':
      return { ok: true, value: trimmed === '' ? [] : trimmed.split(/\s*,\s*/) };
    case 'STRING':
    case 'CLASS':
    case 'PASSWORD':
      return { ok: true, value: trimmed };
  }
}

function parseInteger(text: string, min: bigint, max: bigint, type: ConfigType): ParseResult {
  if (!/^[+-]?\d{1,20}$/.test(text)) return { ok: false, reason: `Not a number of type ${type}` };
  const n = BigInt(text);
  if (n < min || n > max) return { ok: false, reason: `Not a number of type ${type}` };
  return { ok: true, value: n };
}

/** ConfigDef.convertToString: how Kafka prints a parsed value. */
export function formatConfigValue(type: ConfigType, value: ParsedValue): string {
  if (type === 'LIST') return (value as readonly string[]).join(',');
  if (type === 'DOUBLE') {
    const n = value as number;
    // Java's Double.toString always shows a fraction digit.
    return Number.isInteger(n) && Math.abs(n) < 1e7 ? n.toFixed(1) : String(n);
  }
  return String(value);
}

export interface ConfigError {
  readonly errorCode: number;
  readonly message: string;
}

function invalidValue(name: string, value: string, reason: string): ConfigError {
  return { errorCode: ErrorCode.INVALID_CONFIG, message: `Invalid value ${value} for configuration ${name}: ${reason}` };
}

function parseAndValidate(
  name: string, type: ConfigType, validator: Validator | undefined, value: string,
): { value: ParsedValue } | ConfigError {
  const parsed = parseConfigValue(type, value);
  if (!parsed.ok) return invalidValue(name, value, parsed.reason);
  const problem = validator?.(parsed.value) ?? null;
  return problem === null ? { value: parsed.value } : invalidValue(name, value, problem);
}

/**
 * One topic config (LogConfig.validateNames + ConfigDef.parse): unknown name or bad value → INVALID_CONFIG.
 */
export function validateTopicConfig(name: string, value: string | null): ConfigError | null {
  const definition = TOPIC_CONFIGS.get(name);
  if (definition === undefined) return { errorCode: ErrorCode.INVALID_CONFIG, message: `Unknown topic config name: ${name}` };
  if (value === null) {
    return { errorCode: ErrorCode.INVALID_CONFIG, message: `Null value not supported for topic configs: ${name}` };
  }
  const result = parseAndValidate(name, definition.type, definition.validator, value);
  return 'errorCode' in result ? result : null;
}

/**
 * The whole override set of one topic, as the controller validates it after applying a change
 * (ControllerConfigurationValidator + LogConfig.validate): every entry, then the cross-entry checks.
 */
export function validateTopicConfigs(configs: ReadonlyMap<string, string | null>): ConfigError | null {
  const nulls = [...configs].filter(([, v]) => v === null).map(([k]) => k);
  if (nulls.length > 0) {
    return { errorCode: ErrorCode.INVALID_CONFIG, message: `Null value not supported for topic configs: ${nulls.join(',')}` };
  }
  for (const [name, value] of configs) {
    const error = validateTopicConfig(name, value);
    if (error !== null) return error;
  }
  const minLag = BigInt(configs.get('min.compaction.lag.ms')?.trim() ?? '0');
  const maxLag = BigInt(configs.get('max.compaction.lag.ms')?.trim() ?? LONG_MAX_TEXT);
  if (minLag > maxLag) {
    return {
      errorCode: ErrorCode.INVALID_CONFIG,
      message: `conflict topic config setting min.compaction.lag.ms (${minLag}) > max.compaction.lag.ms (${maxLag})`,
    };
  }
  if (configs.get('remote.storage.enable')?.trim().toLowerCase() === 'true') {
    // Runnel has no tiered storage: the same answer as a Kafka broker with remote.log.storage.system.enable=false.
    return {
      errorCode: ErrorCode.INVALID_CONFIG,
      message: 'Tiered Storage functionality is disabled in the broker. Topic cannot be configured with remote log storage.',
    };
  }
  return null;
}

// ---- broker configuration layers ----

/**
 * What a broker's configuration is made of, lowest precedence last: dynamic per-broker overrides
 * (Config records of resource broker/<nodeId>), dynamic cluster defaults (broker/""), the static
 * configuration (file, environment, flags), Kafka's defaults.
 */
export interface BrokerConfigLayers {
  readonly static: RunnelConfig;
  readonly dynamicBroker: ReadonlyMap<string, string>;
  readonly dynamicDefault: ReadonlyMap<string, string>;
}

const EMPTY: ReadonlyMap<string, string> = new Map();

/** The layers of broker `nodeId` as of `image`. */
export function brokerConfigLayers(config: RunnelConfig, image: MetadataImage | null, nodeId: number): BrokerConfigLayers {
  return {
    static: config,
    dynamicBroker: image?.configs.get(configKey('broker', String(nodeId))) ?? EMPTY,
    dynamicDefault: image?.configs.get(configKey('broker', '')) ?? EMPTY,
  };
}

function asLayers(broker: RunnelConfig | BrokerConfigLayers): BrokerConfigLayers {
  return 'static' in broker && 'dynamicBroker' in broker
    ? (broker as BrokerConfigLayers)
    : { static: broker as RunnelConfig, dynamicBroker: EMPTY, dynamicDefault: EMPTY };
}

/**
 * A broker property's static value when it was set in the file, environment or flags — one of Runnel's
 * own properties, or a Kafka property Runnel's definitions lack (log.flush.interval.messages, …).
 */
export function staticBrokerValue(config: RunnelConfig, name: string): string | undefined {
  if (!isConfigName(name)) return kafkaOnlyValue(config, name);
  if (!isExplicitlySet(config, name)) return undefined;
  return String(config[name]);
}

/** Whether Runnel acts on a broker property it has no definition of: the topic-default synonyms do. */
export function isActedOnBrokerProperty(name: string): boolean {
  return BROKER_LOG_PROPERTIES.has(name);
}

/** The value a broker layer stack gives a broker property (dynamic per-broker, default, static). */
function setBrokerValue(layers: BrokerConfigLayers, name: string): string | undefined {
  return layers.dynamicBroker.get(name) ?? layers.dynamicDefault.get(name) ?? staticBrokerValue(layers.static, name);
}

function convertSynonym(synonym: BrokerSynonym, raw: string): string {
  if (synonym.unit === 'same') return raw;
  const n = BigInt(raw.trim());
  return String(n * (synonym.unit === 'hours' ? 3_600_000n : 60_000n));
}

/**
 * The broker-supplied default of a topic config (KafkaConfig.extractLogConfigMap): the first synonym set
 * in any layer wins, else the first synonym with a Kafka default, else undefined.
 */
function brokerDefaultFor(definition: TopicConfigDefinition, layers: BrokerConfigLayers): string | undefined {
  for (const synonym of definition.synonyms) {
    const value = setBrokerValue(layers, synonym.name);
    if (value !== undefined && parsesAs(synonym.name, value)) return convertSynonym(synonym, value);
  }
  for (const synonym of definition.synonyms) {
    const value = BROKER_LOG_PROPERTIES.get(synonym.name)?.defaultValue ?? null;
    if (value !== null) return convertSynonym(synonym, value);
  }
  return undefined;
}

function parsesAs(brokerProperty: string, value: string): boolean {
  const definition = BROKER_LOG_PROPERTIES.get(brokerProperty);
  return definition === undefined || parseConfigValue(definition.type, value).ok;
}

/** Effective value of one topic config as Kafka prints it. */
export function effectiveTopicConfig(
  broker: RunnelConfig | BrokerConfigLayers, overrides: ReadonlyMap<string, string>, name: string,
): string | undefined {
  const definition = TOPIC_CONFIGS.get(name);
  if (definition === undefined) return undefined;
  const raw = overrides.get(name) ?? brokerDefaultFor(definition, asLayers(broker)) ?? definition.defaultValue;
  const parsed = parseConfigValue(definition.type, raw);
  return parsed.ok ? formatConfigValue(definition.type, parsed.value) : definition.defaultValue;
}

// ---- DescribeConfigs ----

export interface ConfigSynonymEntry {
  readonly name: string;
  readonly value: string | null;
  readonly source: number;
}

export interface DescribedConfig {
  readonly name: string;
  readonly value: string | null;
  readonly readOnly: boolean;
  /** DescribeConfigs v0 is_default. */
  readonly isDefault: boolean;
  readonly source: number;
  readonly isSensitive: boolean;
  readonly synonyms: readonly ConfigSynonymEntry[];
  readonly configType: number;
  readonly documentation: string | null;
}

/**
 * ConfigHelper.configSynonyms: every set synonym, layer by layer (dynamic broker, dynamic default,
 * static, Kafka default), then dropped up to the first entry named like the head synonym — so a value
 * that only comes from log.retention.hours's default reports no synonyms, exactly as Kafka does.
 */
export function brokerSynonymEntries(names: readonly string[], layers: BrokerConfigLayers, sensitive: boolean): ConfigSynonymEntry[] {
  const entries: ConfigSynonymEntry[] = [];
  const add = (lookup: (name: string) => string | null | undefined, source: number): void => {
    for (const name of names) {
      const value = lookup(name);
      if (value !== undefined && value !== null) entries.push({ name, value: sensitive ? null : value, source });
    }
  };
  add((n) => layers.dynamicBroker.get(n), ConfigSource.DYNAMIC_BROKER_CONFIG);
  add((n) => layers.dynamicDefault.get(n), ConfigSource.DYNAMIC_DEFAULT_BROKER_CONFIG);
  add((n) => staticBrokerValue(layers.static, n), ConfigSource.STATIC_BROKER_CONFIG);
  add((n) => staticDefaultValue(n), ConfigSource.DEFAULT_CONFIG);
  const head = entries.findIndex((e) => e.name === names[0]);
  return head < 0 ? [] : entries.slice(head);
}

function staticDefaultValue(name: string): string | null | undefined {
  const log = BROKER_LOG_PROPERTIES.get(name);
  if (log !== undefined) return log.defaultValue;
  if (isConfigName(name)) return String(CONFIG_DEFINITIONS[name].default);
  return undefined;
}

/** All non-internal topic config names, sorted (LogConfig.nonInternalConfigNames). */
export function topicConfigNames(): string[] {
  return [...TOPIC_CONFIGS.values()].filter((d) => !d.internal).map((d) => d.name).sort();
}

/**
 * DescribeConfigs of a TOPIC resource (ConfigHelper.createTopicConfigEntry). `keys` null: every config;
 * unknown keys are left out, as Kafka does.
 */
export function describeTopicConfigs(
  broker: RunnelConfig | BrokerConfigLayers,
  overrides: ReadonlyMap<string, string>,
  keys: readonly string[] | null = null,
  includeSynonyms = false,
): DescribedConfig[] {
  const layers = asLayers(broker);
  const names = keys === null
    ? [...new Set([...topicConfigNames(), ...[...overrides.keys()].filter((k) => TOPIC_CONFIGS.has(k))])].sort()
    : [...new Set(keys)].filter((k) => TOPIC_CONFIGS.has(k));
  return names.map((name) => describeTopicConfig(TOPIC_CONFIGS.get(name)!, layers, overrides, includeSynonyms));
}

function describeTopicConfig(
  definition: TopicConfigDefinition, layers: BrokerConfigLayers, overrides: ReadonlyMap<string, string>,
  includeSynonyms: boolean,
): DescribedConfig {
  const sensitive = definition.type === 'PASSWORD';
  const value = effectiveTopicConfig(layers, overrides, definition.name) ?? null;
  const synonyms = brokerSynonymEntries(definition.synonyms.map((s) => s.name), layers, sensitive);
  if (overrides.has(definition.name)) {
    synonyms.unshift({ name: definition.name, value: sensitive ? null : value, source: ConfigSource.DYNAMIC_TOPIC_CONFIG });
  }
  const source = synonyms[0]?.source ?? ConfigSource.DEFAULT_CONFIG;
  return {
    name: definition.name,
    value: sensitive ? null : value,
    readOnly: false,
    isDefault: source === ConfigSource.DEFAULT_CONFIG,
    source,
    isSensitive: sensitive,
    synonyms: includeSynonyms ? synonyms : [],
    configType: ConfigTypeId[definition.type],
    documentation: null,
  };
}

// ---- LogConfig for storage ----

function safeNumber(text: string): number {
  const n = BigInt(text);
  const max = BigInt(Number.MAX_SAFE_INTEGER);
  return Number(n > max ? max : n < -max ? -max : n);
}

/**
 * The storage LogConfig of a topic: its overrides over the broker layers over Kafka's defaults. Long
 * values beyond 2^53 (Long.MAX_VALUE defaults) become Number.MAX_SAFE_INTEGER: "no bound" either way.
 */
export function logConfigFor(broker: RunnelConfig | BrokerConfigLayers, overrides: ReadonlyMap<string, string>): LogConfig {
  const layers = asLayers(broker);
  const get = (name: string): string => effectiveTopicConfig(layers, overrides, name) ?? '';
  const internalSegmentBytes = overrides.get('internal.segment.bytes');
  return {
    ...defaultLogConfig,
    segmentBytes: safeNumber(internalSegmentBytes?.trim() ?? get('segment.bytes')),
    segmentMs: safeNumber(get('segment.ms')),
    retentionMs: Math.max(-1, safeNumber(get('retention.ms'))),
    retentionBytes: Math.max(-1, safeNumber(get('retention.bytes'))),
    messageTimestampType: get('message.timestamp.type') === 'LogAppendTime' ? 'LogAppendTime' : 'CreateTime',
    messageTimestampBeforeMaxMs: safeNumber(get('message.timestamp.before.max.ms')),
    messageTimestampAfterMaxMs: safeNumber(get('message.timestamp.after.max.ms')),
    indexIntervalBytes: safeNumber(get('index.interval.bytes')),
    // Kafka accepts index sizes down to 4 bytes; storage needs room for a few entries.
    segmentIndexBytes: Math.max(64, safeNumber(get('segment.index.bytes'))),
    maxMessageBytes: safeNumber(get('max.message.bytes')),
    durabilityMode: get('durability.mode') === 'none' ? 'none' : 'fsync',
    flushWindowMs: safeNumber(get('flush.window.ms')),
    retentionDeletes: get('cleanup.policy').split(',').map((p) => p.trim()).includes('delete'),
    compact: get('cleanup.policy').split(',').map((p) => p.trim()).includes('compact'),
  };
}

/** logConfigFor a topic as of `image`, with this broker's dynamic configuration. */
export function logConfigForTopic(config: RunnelConfig, image: MetadataImage, nodeId: number, topicName: string): LogConfig {
  return logConfigFor(brokerConfigLayers(config, image, nodeId), image.configs.get(configKey('topic', topicName)) ?? EMPTY);
}

/** The effective min.insync.replicas of a topic (Produce acks=-1 checks it). */
export function minInsyncReplicasFor(config: RunnelConfig, image: MetadataImage, nodeId: number, topicName: string): number {
  const layers = brokerConfigLayers(config, image, nodeId);
  const value = effectiveTopicConfig(layers, image.configs.get(configKey('topic', topicName)) ?? EMPTY, 'min.insync.replicas');
  return Number(value ?? '1');
}
