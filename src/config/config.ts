/**
 * Broker configuration under Kafka's property names (DESIGN.md 7), typed and validated.
 *
 * Sources, lowest precedence first: defaults < `server.properties` file < `RUNNEL_*` environment
 * variables (RUNNEL_LOG_DIRS → log.dirs) < command-line overrides. Values always arrive as strings
 * (as in Kafka's ConfigDef) and are parsed here; an invalid value is a `ConfigError` naming the property
 * and its source, never a silent default.
 *
 * Unknown keys in a file or the environment are returned in `ignored` (a Kafka server.properties carries
 * many keys Runnel has no use for, and Kafka itself only warns); unknown keys given as explicit overrides
 * are an error, since they are almost always typos.
 */

export class ConfigError extends Error {
  override name = 'ConfigError';
}

type Kind = 'int' | 'long' | 'boolean' | 'string';
type ValueOf<K extends Kind> = K extends 'boolean' ? boolean : K extends 'string' ? string : number;

interface Definition<K extends Kind> {
  readonly kind: K;
  readonly default: ValueOf<K>;
  readonly min?: number;
  readonly max?: number;
  /** Extra check on the parsed value; returns a problem description or null. */
  readonly check?: (value: ValueOf<K>) => string | null;
  readonly doc: string;
}

const int32Max = 2147483647;

function def<K extends Kind>(d: Definition<K>): Definition<K> {
  return d;
}

/** Every property Runnel reads, with its type, default and bounds. */
export const CONFIG_DEFINITIONS = {
  'node.id': def({ kind: 'int', default: 1, min: 0, doc: 'Id of this broker; persisted in meta.properties.' }),
  listeners: def({
    kind: 'string', default: 'PLAINTEXT://127.0.0.1:9092', check: (v) => problemOf(() => parseListener(v)),
    doc: 'The one listener to bind, PLAINTEXT://host:port (port 0: the OS picks).',
  }),
  'advertised.listeners': def({
    kind: 'string', default: '', check: (v) => (v === '' ? null : problemOf(() => parseListener(v))),
    doc: 'Address given to clients in Metadata; empty means the bound listener.',
  }),
  'log.dirs': def({
    kind: 'string', default: './data', check: checkSingleDir,
    doc: 'Data directory (meta.properties, metadata, partition logs). One directory.',
  }),
  'socket.request.max.bytes': def({
    kind: 'int', default: 104857600, min: 1, doc: 'Largest request frame; a larger size prefix closes the connection.',
  }),
  'connections.max.idle.ms': def({
    kind: 'long', default: 600000, min: 1, max: int32Max, doc: 'Idle connections are closed after this long.',
  }),
  'max.connections': def({ kind: 'int', default: 10000, min: 1, doc: 'Client connections accepted at once.' }),
  'queued.max.requests': def({
    kind: 'int', default: 500, min: 1, doc: 'Unanswered requests per connection before reading from it pauses.',
  }),
  'queued.max.request.bytes': def({
    kind: 'long', default: 268435456, min: 1,
    doc: 'Broker-wide bytes of request frames being read or served (KIP-72); a frame is read only once they fit.',
  }),
  'queued.max.response.bytes': def({
    kind: 'long', default: 268435456, min: 1,
    doc: 'Broker-wide bytes of responses built and not yet sent; above it, connections with unsent answers stop being read and Fetch waits for room.',
  }),
  'queued.max.response.bytes.per.connection': def({
    kind: 'long', default: 16777216, min: 1,
    doc: 'Unsent response bytes of one connection after which it stops being read (and its Fetches wait) until they drain.',
  }),
  'connections.max.stalled.ms': def({
    kind: 'long', default: 2000, min: 1, max: int32Max,
    doc: 'When a connection has waited this long for broker memory, the connection holding memory without progress the longest is closed.',
  }),
  'fetch.max.bytes': def({
    kind: 'int', default: 57671680, min: 1024, doc: 'Largest Fetch response (records); a request asking for more gets this.',
  }),
  'num.partitions': def({ kind: 'int', default: 1, min: 1, doc: 'Partitions of an auto-created topic.' }),
  'default.replication.factor': def({ kind: 'int', default: 1, min: 1, max: 32767, doc: 'Replicas of an auto-created topic.' }),
  'min.insync.replicas': def({ kind: 'int', default: 1, min: 1, doc: 'ISR size needed to accept acks=-1 produces.' }),
  'auto.create.topics.enable': def({ kind: 'boolean', default: true, doc: 'Create unknown topics on Metadata/Produce.' }),
  'log.retention.ms': def({ kind: 'long', default: 604800000, min: -1, doc: 'Segment age before deletion; -1: forever.' }),
  'log.retention.bytes': def({ kind: 'long', default: -1, min: -1, doc: 'Partition size before deletion; -1: no limit.' }),
  'log.segment.bytes': def({ kind: 'int', default: 1073741824, min: 14, doc: 'Segment size before it rolls.' }),
  'log.retention.minutes': def({
    kind: 'int', default: 10080, min: -1, doc: 'log.retention.ms in minutes; used when log.retention.ms is not set.',
  }),
  'log.retention.hours': def({
    kind: 'int', default: 168, min: -1, doc: 'log.retention.ms in hours; used when neither ms nor minutes is set.',
  }),
  'log.roll.ms': def({ kind: 'long', default: 604800000, min: 1, doc: 'Segment age before it rolls.' }),
  'log.roll.hours': def({ kind: 'int', default: 168, min: 1, doc: 'log.roll.ms in hours; used when log.roll.ms is not set.' }),
  'message.max.bytes': def({ kind: 'int', default: 1048588, min: 0, doc: 'Largest record batch a topic accepts.' }),
  'log.cleanup.policy': def({
    kind: 'string', default: 'delete',
    check: (v) => (v.split(',').every((p) => ['delete', 'compact'].includes(p.trim())) ? null : 'expected delete and/or compact'),
    doc: 'Default cleanup.policy of topics.',
  }),
  'log.message.timestamp.type': def({
    kind: 'string', default: 'CreateTime',
    check: (v) => (v === 'CreateTime' || v === 'LogAppendTime' ? null : 'expected CreateTime or LogAppendTime'),
    doc: 'Default message.timestamp.type of topics.',
  }),
  'log.message.timestamp.before.max.ms': def({
    kind: 'long', default: Number.MAX_SAFE_INTEGER, min: 0, doc: 'How far in the past a CreateTime timestamp may be (KIP-937).',
  }),
  'log.message.timestamp.after.max.ms': def({
    kind: 'long', default: 3600000, min: 0, doc: 'How far in the future a CreateTime timestamp may be (KIP-937, KIP-1030).',
  }),
  'log.index.interval.bytes': def({ kind: 'int', default: 4096, min: 0, doc: 'Bytes between two sparse index entries.' }),
  'log.index.size.max.bytes': def({ kind: 'int', default: 10485760, min: 4, doc: 'Size bound of one offset index.' }),
  'compression.type': def({
    kind: 'string', default: 'producer',
    check: (v) => (['uncompressed', 'zstd', 'lz4', 'snappy', 'gzip', 'producer'].includes(v) ? null : 'unknown compression type'),
    doc: 'Default compression.type of topics.',
  }),
  'log.durability.mode': def({
    kind: 'string', default: 'fsync', check: (v) => (v === 'fsync' || v === 'none' ? null : 'expected fsync or none'),
    doc: 'fsync: acks>=1 answered after fdatasync (group commit); none: after the page cache (DESIGN §4).',
  }),
  'log.flush.window.ms': def({
    kind: 'int', default: 0, min: 0, max: 60000, doc: 'At most one fdatasync per partition per window (fsync mode); 0: the next flush starts when the previous one ends (group commit).',
  }),
  'metadata.log.max.record.bytes.between.snapshots': def({
    kind: 'int', default: 20971520, min: 1,
    doc: 'Standalone metadata log: compacted to a snapshot of the image once this many bytes (or, when larger, the size of the last snapshot) were appended after it.',
  }),
  'offsets.topic.num.partitions': def({
    kind: 'int', default: 50, min: 1, doc: 'Partitions of __consumer_offsets (fixed once the topic exists).',
  }),
  'offsets.topic.replication.factor': def({
    kind: 'int', default: 1, min: 1, max: 32767,
    doc: 'Replicas of __consumer_offsets; creation waits until that many brokers are live (Kafka default 3, its shipped server.properties 1).',
  }),
  'offsets.topic.segment.bytes': def({ kind: 'int', default: 104857600, min: 14, doc: 'segment.bytes of __consumer_offsets.' }),
  'offsets.retention.minutes': def({ kind: 'int', default: 10080, min: 1, doc: 'Committed offsets of a group without consumers expire after this (KIP-211).' }),
  'offsets.retention.check.interval.ms': def({ kind: 'long', default: 600000, min: 1, max: int32Max, doc: 'How often expired offsets are removed.' }),
  'offset.metadata.max.bytes': def({ kind: 'int', default: 4096, min: 0, doc: 'Largest metadata string of a committed offset.' }),
  'group.min.session.timeout.ms': def({ kind: 'int', default: 6000, min: 0, doc: 'Smallest session timeout a member may ask for.' }),
  'group.max.session.timeout.ms': def({ kind: 'int', default: 1800000, min: 0, doc: 'Largest session timeout a member may ask for.' }),
  'group.initial.rebalance.delay.ms': def({
    kind: 'int', default: 3000, min: 0, doc: 'How long a new group waits for more members before its first generation.',
  }),
  'group.max.size': def({
    kind: 'int', default: 1000, min: 1, doc: 'Members of one classic group (Kafka: unbounded; bounded here, STYLE.md 8).',
  }),
  'producer.id.expiration.ms': def({
    kind: 'int', default: 86400000, min: 1, doc: 'Idempotent-producer state of a producer idle this long (by its last batch timestamp) is dropped.',
  }),
  'producer.id.expiration.check.interval.ms': def({
    kind: 'int', default: 600000, min: 1, doc: 'How often each partition drops expired producer state.',
  }),
} as const;

export type ConfigName = keyof typeof CONFIG_DEFINITIONS;

/** The resolved configuration, keyed by Kafka property name. */
export type RunnelConfig = {
  readonly [N in ConfigName]: ValueOf<(typeof CONFIG_DEFINITIONS)[N]['kind']>;
};

export interface Listener {
  readonly securityProtocol: 'PLAINTEXT';
  readonly host: string;
  readonly port: number;
}

export interface ConfigSources {
  /** Parsed server.properties, and where it came from (for error messages). */
  readonly file?: { readonly path: string; readonly properties: ReadonlyMap<string, string> };
  readonly env?: NodeJS.ProcessEnv;
  /** Explicit overrides (flags, --set, startBroker options), applied last, in order. */
  readonly overrides?: ReadonlyArray<readonly [string, string]>;
}

export interface ResolvedConfig {
  readonly config: RunnelConfig;
  /** Keys from the file or environment that Runnel does not know, with their source. */
  readonly ignored: readonly string[];
}

export const envPrefix = 'RUNNEL_';

export function isConfigName(name: string): name is ConfigName {
  return Object.hasOwn(CONFIG_DEFINITIONS, name);
}

/** RUNNEL_LOG_DIRS → log.dirs. */
export function envNameToConfigName(envName: string): string {
  return envName.slice(envPrefix.length).toLowerCase().replaceAll('_', '.');
}

export function resolveConfig(sources: ConfigSources): ResolvedConfig {
  const raw = new Map<ConfigName, { value: string; source: string }>();
  const ignored: string[] = [];
  if (sources.file !== undefined) {
    for (const [key, value] of sources.file.properties) {
      if (isConfigName(key)) raw.set(key, { value, source: sources.file.path });
      else ignored.push(`${key} (${sources.file.path})`);
    }
  }
  for (const [envName, value] of Object.entries(sources.env ?? {})) {
    if (!envName.startsWith(envPrefix) || value === undefined) continue;
    const key = envNameToConfigName(envName);
    if (isConfigName(key)) raw.set(key, { value, source: `environment ${envName}` });
    else ignored.push(`${key} (environment ${envName})`);
  }
  for (const [key, value] of sources.overrides ?? []) {
    if (!isConfigName(key)) throw new ConfigError(`unknown configuration '${key}'`);
    raw.set(key, { value, source: 'override' });
  }
  return { config: buildConfig(raw), ignored };
}

function buildConfig(raw: ReadonlyMap<ConfigName, { value: string; source: string }>): RunnelConfig {
  const out: Record<string, unknown> = {};
  for (const name of Object.keys(CONFIG_DEFINITIONS) as ConfigName[]) {
    const definition = CONFIG_DEFINITIONS[name] as Definition<Kind>;
    const given = raw.get(name);
    out[name] = given === undefined ? definition.default : parseValue(name, definition, given.value, given.source);
  }
  const config = Object.freeze(out) as RunnelConfig;
  explicitNames.set(config, new Set(raw.keys()));
  return config;
}

/** Which properties of a resolved config were given (file, env, overrides): DescribeConfigs' STATIC_BROKER_CONFIG. */
const explicitNames = new WeakMap<RunnelConfig, ReadonlySet<string>>();

/** True when `name` was set in the file, environment or overrides (else a config built elsewhere: differs from default). */
export function isExplicitlySet(config: RunnelConfig, name: ConfigName): boolean {
  const names = explicitNames.get(config);
  return names !== undefined ? names.has(name) : config[name] !== CONFIG_DEFINITIONS[name].default;
}

function parseValue(name: string, definition: Definition<Kind>, text: string, source: string): ValueOf<Kind> {
  const fail = (problem: string): never => {
    throw new ConfigError(`invalid value '${text}' for ${name} (from ${source}): ${problem}`);
  };
  const value = parseKind(definition.kind, text.trim(), fail);
  if (typeof value === 'number') {
    if (definition.min !== undefined && value < definition.min) fail(`must be at least ${definition.min}`);
    if (definition.max !== undefined && value > definition.max) fail(`must be at most ${definition.max}`);
  }
  const problem = definition.check?.(value);
  if (problem) fail(problem);
  return value;
}

function parseKind(kind: Kind, text: string, fail: (problem: string) => never): ValueOf<Kind> {
  switch (kind) {
    case 'boolean':
      if (text.toLowerCase() === 'true') return true;
      if (text.toLowerCase() === 'false') return false;
      return fail('expected true or false');
    case 'int':
      return parseInteger(text, -2147483648, int32Max, fail);
    case 'long':
      return parseInteger(text, Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER, fail);
    case 'string':
      return text;
  }
}

function parseInteger(text: string, min: number, max: number, fail: (problem: string) => never): number {
  if (!/^[+-]?\d+$/.test(text)) fail('expected an integer');
  const value = Number(text);
  if (value < min || value > max) fail(`outside [${min}, ${max}]`);
  return value;
}

/** PLAINTEXT://host:port; IPv6 hosts in brackets. Other security protocols are not served. */
export function parseListener(text: string): Listener {
  const match = /^([A-Za-z_]+):\/\/(\[[^\]]*\]|[^:/]*):(\d+)$/.exec(text.trim());
  if (match === null) throw new ConfigError(`listener '${text}' is not PROTOCOL://host:port`);
  const [, protocol = '', rawHost = '', rawPort = ''] = match;
  if (protocol.toUpperCase() !== 'PLAINTEXT') {
    throw new ConfigError(`listener '${text}': only PLAINTEXT is supported`);
  }
  const port = Number(rawPort);
  if (port > 65535) throw new ConfigError(`listener '${text}': port above 65535`);
  const host = rawHost.startsWith('[') ? rawHost.slice(1, -1) : rawHost;
  return { securityProtocol: 'PLAINTEXT', host: host === '' ? '0.0.0.0' : host, port };
}

export function formatListener(host: string, port: number): string {
  return `PLAINTEXT://${host.includes(':') ? `[${host}]` : host}:${port}`;
}

function checkSingleDir(value: string): string | null {
  if (value.trim() === '') return 'must name a directory';
  if (value.includes(',')) return 'Runnel uses one log directory';
  return null;
}

function problemOf(attempt: () => unknown): string | null {
  try {
    attempt();
    return null;
  } catch (error) {
    return (error as Error).message;
  }
}
