/**
 * Broker configuration under Kafka's property names (DESIGN.md 7), typed and validated.
 *
 * Sources, lowest precedence first: defaults < `server.properties` file < `RUNNEL_*` environment
 * variables (RUNNEL_LOG_DIRS → log.dirs) < command-line overrides. Values always arrive as strings
 * (as in Kafka's ConfigDef) and are parsed here; an invalid value is a `ConfigError` naming the property
 * and its source, never a silent default.
 *
 * Every Kafka 4.4 broker property name is recognised (kafka-broker-properties.ts, read from Kafka's own
 * ConfigDef): one Runnel does not act on is accepted from any source — file, environment or override —
 * type-checked as Kafka would (a value of the wrong type is still a ConfigError) and returned in
 * `unimplemented`, so the caller logs one warning naming it; DescribeConfigs reports it as Kafka would.
 * The security properties (ssl.*, sasl.*, authorizer.class.name, …) are never accepted this way: Runnel
 * serves PLAINTEXT only. Keys Kafka does not know either are returned in `ignored` when they come from a
 * file or the environment (Kafka itself only warns), and are an error as explicit overrides, since they
 * are almost always typos.
 */
import { KAFKA_BROKER_PROPERTIES, type KafkaConfigType } from './kafka-broker-properties.js';

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
    kind: 'string', default: 'PLAINTEXT://127.0.0.1:9092', check: (v) => problemOf(() => parseListeners(v)),
    doc: 'NAME://host:port, comma-separated; the first one not named in controller.listener.names is bound for clients (port 0: the OS picks).',
  }),
  'advertised.listeners': def({
    kind: 'string', default: '', check: (v) => (v === '' ? null : problemOf(() => parseListeners(v))),
    doc: 'Addresses given to clients in Metadata, by listener name; empty means the bound listener.',
  }),
  'controller.listener.names': def({
    kind: 'string', default: '', doc: 'Listener names used by the KRaft controller; they are not bound for clients.',
  }),
  'listener.security.protocol.map': def({
    kind: 'string', default: 'SASL_SSL:SASL_SSL,PLAINTEXT:PLAINTEXT,SSL:SSL,SASL_PLAINTEXT:SASL_PLAINTEXT',
    check: (v) => problemOf(() => parseProtocolMap(v)),
    doc: 'Listener name → security protocol; the client listener must map to PLAINTEXT.',
  }),
  'process.roles': def({
    kind: 'string', default: 'broker,controller',
    check: (v) => problemOf(() => parseProcessRoles(v)),
    doc: 'broker, controller, or both (KRaft combined mode). A standalone node is both, a one-voter quorum.',
  }),
  'controller.quorum.voters': def({
    kind: 'string', default: '',
    check: (v) => (v === '' ? null : problemOf(() => parseVoters(v))),
    doc: 'The controller quorum, id@host:port,… (each voter\'s controller listener). Empty: this node alone (standalone).',
  }),
  'inter.broker.listener.name': def({
    kind: 'string', default: '', doc: 'Listener brokers use to reach each other (replication); empty: the client listener.',
  }),
  'controlled.shutdown.enable': def({ kind: 'boolean', default: true, doc: 'Move leaderships away before a broker stops.' }),
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
  'max.broker.partitions': def({
    kind: 'int', default: 20000, min: 1,
    doc: 'Partition replicas one broker may host; CreateTopics, CreatePartitions and auto-creation past it answer POLICY_VIOLATION (KIP-578\'s name; Kafka has no such limit).',
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
  'metrics.listener': def({
    kind: 'string', default: '', check: (v) => (v === '' ? null : problemOf(() => parseHostPort(v))),
    doc: 'host:port of the operators\' HTTP listener (/metrics in Prometheus format, /healthz, /readyz); empty: off. Port 0: the OS picks.',
  }),
  'metadata.log.max.record.bytes.between.snapshots': def({
    kind: 'int', default: 20971520, min: 1,
    doc: 'Standalone metadata log: compacted to a snapshot of the image once this many bytes (or, when larger, the size of the last snapshot) were appended after it.',
  }),
  // Replication (DESIGN §3; Kafka's ReplicationConfigs names and defaults).
  'replica.lag.time.max.ms': def({
    kind: 'long', default: 30000, min: 1, max: int32Max,
    doc: 'A follower that has not caught up with the leader for this long is removed from the ISR.',
  }),
  'num.replica.fetchers': def({ kind: 'int', default: 1, min: 1, max: 64, doc: 'Fetcher connections per leader broker.' }),
  'replica.fetch.max.bytes': def({ kind: 'int', default: 1048576, min: 0, doc: 'Bytes a follower fetch asks for per partition (at least one batch).' }),
  'replica.fetch.response.max.bytes': def({ kind: 'int', default: 10485760, min: 0, doc: 'Bytes a follower fetch asks for in all (at least one batch).' }),
  'replica.fetch.wait.max.ms': def({ kind: 'int', default: 500, min: 0, doc: 'How long the leader parks a follower fetch that finds no data.' }),
  'replica.fetch.min.bytes': def({ kind: 'int', default: 1, min: 0, doc: 'Bytes a follower fetch waits for at the leader.' }),
  'replica.fetch.backoff.ms': def({ kind: 'int', default: 1000, min: 0, doc: 'Pause after a follower fetch error.' }),
  'replica.socket.timeout.ms': def({ kind: 'int', default: 30000, min: 1, doc: 'Timeout of a follower fetch beyond its wait.' }),
  'broker.rack': def({ kind: 'string', default: '', doc: 'Rack of this broker (rack-aware placement, KIP-392 follower fetching).' }),
  'replica.selector.class': def({
    kind: 'string', default: '',
    check: (v) => (v === '' || v === 'org.apache.kafka.common.replica.RackAwareReplicaSelector' || v === 'org.apache.kafka.common.replica.LeaderSelector' ? null : 'expected RackAwareReplicaSelector or LeaderSelector'),
    doc: 'KIP-392: org.apache.kafka.common.replica.RackAwareReplicaSelector lets consumers fetch from a replica in their rack.',
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
  'broker.session.timeout.ms': def({
    kind: 'int', default: 9000, min: 1,
    doc: 'A broker that has not heartbeated the active controller for this long is fenced (its leaderships move).',
  }),
  'broker.heartbeat.interval.ms': def({ kind: 'int', default: 2000, min: 1, doc: 'How often a broker heartbeats the active controller.' }),
  'unclean.leader.election.enable': def({
    kind: 'boolean', default: false,
    doc: 'Cluster default: elect a replica outside the ISR when no ISR member is alive (may lose acknowledged data).',
  }),
  'auto.leader.rebalance.enable': def({
    kind: 'boolean', default: true, doc: 'The controller moves leaderships back to preferred replicas (the first of each replica list).',
  }),
  'leader.imbalance.check.interval.seconds': def({
    kind: 'long', default: 300, min: 1, doc: 'How often the controller checks for preferred-leader imbalance.',
  }),
  'leader.imbalance.per.broker.percentage': def({
    kind: 'int', default: 10, min: 0, max: 100,
    doc: 'A broker whose preferred partitions are led elsewhere beyond this share gets its leaderships back.',
  }),
  'group.min.session.timeout.ms': def({ kind: 'int', default: 6000, min: 0, doc: 'Smallest session timeout a member may ask for.' }),
  'group.max.session.timeout.ms': def({ kind: 'int', default: 1800000, min: 0, doc: 'Largest session timeout a member may ask for.' }),
  'group.initial.rebalance.delay.ms': def({
    kind: 'int', default: 3000, min: 0, doc: 'How long a new group waits for more members before its first generation.',
  }),
  'group.max.size': def({
    kind: 'int', default: 1000, min: 1, doc: 'Members of one classic group (Kafka: unbounded; bounded here, STYLE.md 8).',
  }),
  'group.consumer.session.timeout.ms': def({
    kind: 'int', default: 45000, min: 1, doc: 'KIP-848 consumer group members are removed after this long without a heartbeat, unless the group sets consumer.session.timeout.ms.',
  }),
  'group.consumer.heartbeat.interval.ms': def({
    kind: 'int', default: 5000, min: 1, doc: 'How often KIP-848 consumer group members heartbeat, unless the group sets consumer.heartbeat.interval.ms.',
  }),
  'group.consumer.min.session.timeout.ms': def({ kind: 'int', default: 45000, min: 1, doc: 'Smallest consumer.session.timeout.ms a group may set.' }),
  'group.consumer.max.session.timeout.ms': def({ kind: 'int', default: 60000, min: 1, doc: 'Largest consumer.session.timeout.ms a group may set.' }),
  'group.consumer.min.heartbeat.interval.ms': def({ kind: 'int', default: 5000, min: 1, doc: 'Smallest consumer.heartbeat.interval.ms a group may set.' }),
  'group.consumer.max.heartbeat.interval.ms': def({ kind: 'int', default: 15000, min: 1, doc: 'Largest consumer.heartbeat.interval.ms a group may set.' }),
  'group.consumer.assignors': def({
    kind: 'string', default: 'uniform,range',
    check: (v) => (v.split(',').map((a) => a.trim()).every((a) => a === 'uniform' || a === 'range' || /^org\.apache\.kafka\.coordinator\.group\.assignor\.(Uniform|Range)Assignor$/.test(a))
      ? null : 'Runnel serves the uniform and range assignors'),
    doc: 'Server-side assignors of KIP-848 consumer groups, the first being the default.',
  }),
  'group.consumer.migration.policy': def({
    kind: 'string', default: 'bidirectional',
    check: (v) => (['disabled', 'upgrade', 'downgrade', 'bidirectional'].includes(v.toLowerCase())
      ? null : 'must be one of disabled, upgrade, downgrade, bidirectional'),
    doc: 'KIP-848 online conversion: a classic group with members becomes a consumer group when a consumer-protocol member joins (upgrade), and goes back when the last one leaves (downgrade).',
  }),
  'group.consumer.max.size': def({
    kind: 'int', default: 1000, min: 1, doc: 'Members of one KIP-848 consumer group (Kafka: unbounded; bounded here, STYLE.md 8).',
  }),
  'producer.id.expiration.ms': def({
    kind: 'int', default: 86400000, min: 1, doc: 'Idempotent-producer state of a producer idle this long (by its last batch timestamp) is dropped.',
  }),
  'producer.id.expiration.check.interval.ms': def({
    kind: 'int', default: 600000, min: 1, doc: 'How often each partition drops expired producer state.',
  }),
  'transaction.state.log.num.partitions': def({
    kind: 'int', default: 50, min: 1, doc: 'Partitions of __transaction_state (fixed once the topic exists).',
  }),
  'transaction.state.log.replication.factor': def({
    kind: 'int', default: 1, min: 1, max: 32767,
    doc: 'Replicas of __transaction_state; creation waits until that many brokers are live (Kafka default 3, its shipped server.properties 1).',
  }),
  'transaction.state.log.min.isr': def({ kind: 'int', default: 1, min: 1, doc: 'min.insync.replicas of __transaction_state (Kafka default 2, its shipped server.properties 1).' }),
  'transaction.state.log.segment.bytes': def({ kind: 'int', default: 104857600, min: 14, doc: 'segment.bytes of __transaction_state.' }),
  'transaction.max.timeout.ms': def({ kind: 'int', default: 900000, min: 1, doc: 'Largest transaction.timeout.ms a producer may ask for (else INVALID_TRANSACTION_TIMEOUT).' }),
  'transactional.id.expiration.ms': def({
    kind: 'int', default: 604800000, min: 1, doc: 'A transactional id with no transaction for this long is removed from the coordinator.',
  }),
  'transaction.abort.timed.out.transaction.cleanup.interval.ms': def({
    kind: 'int', default: 10000, min: 1, doc: 'How often the coordinator aborts transactions past their timeout.',
  }),
  'add.partitions.to.txn.retry.backoff.ms': def({
    kind: 'int', default: 20, min: 1,
    doc: 'Transactions v2: an implicit add (Produce v12+, TxnOffsetCommit v5+) that finds the previous transaction still writing its markers (CONCURRENT_TRANSACTIONS) is asked again after this long.',
  }),
  'add.partitions.to.txn.retry.backoff.max.ms': def({
    kind: 'int', default: 100, min: 1, doc: 'Transactions v2: how long in all an implicit add is retried on CONCURRENT_TRANSACTIONS before the producer is told to retry.',
  }),
  'transaction.version': def({
    kind: 'int', default: 2, min: 0, max: 2,
    doc: 'Bootstrap level of the transaction.version feature: written into the metadata log by the first active controller when the cluster is formed (as kafka-storage.sh format --feature transaction.version=N); ignored afterwards — change it on a running cluster with kafka-features.sh upgrade/downgrade --feature transaction.version=N. 2: Kafka 4 clients run transactions v2 (an epoch bump per transaction, partitions added by the produce itself); 1: transactions v1 with flexible __transaction_state records; 0: transactions v1.',
  }),
  'transaction.remove.expired.transaction.cleanup.interval.ms': def({
    kind: 'int', default: 3600000, min: 1, doc: 'How often the coordinator removes expired transactional ids.',
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
  /**
   * Explicit overrides (flags, --set, startBroker options), applied last, in order; the optional third
   * element names where it came from in error messages (`--set`, `--port`, …; default `override`).
   */
  readonly overrides?: ReadonlyArray<readonly [string, string] | readonly [string, string, string]>;
}

export interface ResolvedConfig {
  readonly config: RunnelConfig;
  /** Keys from the file or environment that neither Runnel nor Kafka knows, with their source. */
  readonly ignored: readonly string[];
  /** Kafka broker properties Runnel's own definitions lack, with their source (accepted, type-checked). */
  readonly unimplemented: readonly { readonly name: string; readonly source: string }[];
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
  const kafkaOnly = new Map<string, { value: string; source: string }>();
  const ignored: string[] = [];
  const take = (key: string, value: string, source: string, explicit: boolean): void => {
    if (isConfigName(key)) raw.set(key, { value, source });
    else if (isAcceptedKafkaProperty(key)) kafkaOnly.set(key, { value, source });
    else if (explicit) throw new ConfigError(`unknown configuration '${key}' (from ${source})`);
    else ignored.push(`${key} (${source})`);
  };
  if (sources.file !== undefined) {
    for (const [key, value] of sources.file.properties) take(key, value, sources.file.path, false);
  }
  for (const [envName, value] of Object.entries(sources.env ?? {})) {
    if (!envName.startsWith(envPrefix) || value === undefined) continue;
    take(envNameToConfigName(envName), value, `environment ${envName}`, false);
  }
  for (const [key, value, source = 'override'] of sources.overrides ?? []) take(key, value, source, true);
  const config = buildConfig(raw);
  refuseSecurityRequests(sources, config);
  checkClientListener(config, raw.get('listeners')?.source ?? 'default');
  const values = new Map<string, string>();
  for (const [key, { value, source }] of kafkaOnly) values.set(key, checkKafkaValue(key, value, source));
  kafkaOnlyValues.set(config, values);
  const unimplemented = [...kafkaOnly].map(([name, { source }]) => ({ name, source }));
  return { config, ignored, unimplemented };
}

/** The client listener must exist and be PLAINTEXT, whatever the sources combined say. */
function checkClientListener(config: RunnelConfig, source: string): void {
  try {
    clientListener(config);
  } catch (error) {
    throw new ConfigError(`invalid value '${config.listeners}' for listeners (from ${source}): ${(error as Error).message}`);
  }
}

/**
 * Runnel serves PLAINTEXT only: no TLS, no SASL, no authorizer. A file or environment that asks for any
 * of them must stop the start (issue 26, defect 5) instead of being warned about as "unknown" while the
 * broker serves everyone in the clear. Asking = a non-empty ssl.* / sasl.* (also per listener,
 * listener.name.<l>.ssl.* / .sasl.* / .<mechanism>.sasl.jaas.config), authorizer.class.name,
 * security.inter.broker.protocol other than PLAINTEXT, any other isSecurityProperty (super.users,
 * principal.builder.class, delegation.token.*, …), or a listener.security.protocol.map entry mapping
 * a listener to SSL / SASL_*: except the identity entries of Kafka's shipped map (SSL:SSL, ...) for
 * listener names this broker does not bind, which Kafka's stock server.properties always carries.
 */
function refuseSecurityRequests(sources: ConfigSources, config: RunnelConfig): void {
  const given: Array<{ key: string; value: string; source: string }> = [];
  for (const [key, value] of sources.file?.properties ?? []) given.push({ key, value, source: sources.file!.path });
  for (const [envName, value] of Object.entries(sources.env ?? {})) {
    if (envName.startsWith(envPrefix) && value !== undefined) {
      given.push({ key: envNameToConfigName(envName), value, source: `environment ${envName}` });
    }
  }
  const usedListenerNames = new Set<string>();
  for (const listeners of [config.listeners, config['advertised.listeners']]) {
    // An unparsable value is reported by checkClientListener.
    if (listeners !== '') for (const l of problemOrValue(() => parseListeners(listeners)) ?? []) usedListenerNames.add(l.name);
  }
  const problems: string[] = [];
  for (const { key, value, source } of given) {
    const problem = securityProblem(key, value.trim(), usedListenerNames);
    if (problem !== null) problems.push(`${key}=${value.trim()} (${source}): ${problem}`);
  }
  if (problems.length === 0) return;
  throw new ConfigError(
    `security is not supported: Runnel serves PLAINTEXT only (no SSL/TLS, no SASL, no authorizer), ` +
    `so it refuses to start rather than serve without the security asked for: ${problems.join('; ')}`,
  );
}

const SECURE_PROTOCOLS = new Set(['SSL', 'SASL_SSL', 'SASL_PLAINTEXT']);

function problemOrValue<T>(attempt: () => T): T | undefined {
  try {
    return attempt();
  } catch {
    return undefined;
  }
}

function securityProblem(key: string, value: string, usedListenerNames: ReadonlySet<string>): string | null {
  if (value === '') return null;
  const perListener = /^listener\.name\.[^.]+\.(.+)$/.exec(key)?.[1];
  const setting = perListener ?? key;
  if (setting.startsWith('ssl.')) return 'SSL/TLS is not supported';
  if (setting.startsWith('sasl.') || setting.endsWith('.sasl.jaas.config')) return 'SASL is not supported';
  if (key === 'authorizer.class.name') return 'authorization (ACLs) is not supported';
  if (key === 'security.inter.broker.protocol') return value.toUpperCase() === 'PLAINTEXT' ? null : `${value} is not supported`;
  if (isSecurityProperty(key)) return 'security settings are not supported';
  if (key !== 'listener.security.protocol.map') return null;
  for (const entry of value.split(',')) {
    const [name = '', protocol = ''] = entry.split(':').map((part) => part.trim().toUpperCase());
    if (!SECURE_PROTOCOLS.has(protocol)) continue;
    if (name !== protocol || usedListenerNames.has(name)) return `listener ${name} mapped to ${protocol}, which is not supported`;
  }
  return null;
}

/**
 * Security properties Runnel must not pretend to accept: it serves PLAINTEXT only, and the start is
 * refused when they ask for more (issue 26). They stay "unknown" here, whatever Kafka calls them.
 */
export function isSecurityProperty(name: string): boolean {
  const setting = /^listener\.name\.[^.]+\.(.+)$/.exec(name)?.[1] ?? name;
  return setting.startsWith('ssl.') || setting.startsWith('sasl.') || setting.endsWith('.sasl.jaas.config') ||
    name === 'authorizer.class.name' || name === 'security.inter.broker.protocol' || name === 'principal.builder.class' ||
    name.startsWith('delegation.token.') || name === 'super.users' || name === 'security.providers';
}

/** A Kafka broker property that Runnel does not define itself and accepts as "not acted on". */
export function isAcceptedKafkaProperty(name: string): boolean {
  return !isConfigName(name) && KAFKA_BROKER_PROPERTIES.has(name) && !isSecurityProperty(name);
}

/** Values of accepted Kafka-only properties of a resolved config (trimmed, type-checked). */
const kafkaOnlyValues = new WeakMap<RunnelConfig, ReadonlyMap<string, string>>();

/** The value a Kafka-only property was given (file, environment, overrides), if any. */
export function kafkaOnlyValue(config: RunnelConfig, name: string): string | undefined {
  return kafkaOnlyValues.get(config)?.get(name);
}

/** Kafka's ConfigDef parsing of one value by type (ConfigDef.parseType); throws ConfigError when it fails. */
function checkKafkaValue(name: string, text: string, source: string): string {
  const type = KAFKA_BROKER_PROPERTIES.get(name)?.type ?? 'STRING';
  const problem = kafkaTypeProblem(type, text.trim());
  if (problem !== null) throw new ConfigError(`invalid value '${text}' for ${name} (from ${source}): ${problem}`);
  return type === 'PASSWORD' ? text : text.trim();
}

/** Why `text` is not a value of Kafka config type `type`, or null. */
export function kafkaTypeProblem(type: KafkaConfigType, text: string): string | null {
  switch (type) {
    case 'BOOLEAN':
      return /^(true|false)$/i.test(text) ? null : 'expected true or false';
    case 'SHORT':
      return integerProblem(text, -32768n, 32767n);
    case 'INT':
      return integerProblem(text, -2147483648n, 2147483647n);
    case 'LONG':
      return integerProblem(text, -9223372036854775808n, 9223372036854775807n);
    case 'DOUBLE':
      return text !== '' && Number.isFinite(Number(text)) ? null : 'expected a number';
    case 'STRING':
    case 'LIST':
    case 'CLASS':
    case 'PASSWORD':
      return null;
  }
}

function integerProblem(text: string, min: bigint, max: bigint): string | null {
  if (!/^[+-]?\d+$/.test(text)) return 'expected an integer';
  const value = BigInt(text);
  return value < min || value > max ? `outside [${min}, ${max}]` : null;
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

export interface NamedListener extends Listener {
  /** The listener name (PLAINTEXT, CONTROLLER, INTERNAL, …), upper case. */
  readonly name: string;
}

/** listeners / advertised.listeners: NAME://host:port entries, comma-separated (KIP-103 listener names). */
export function parseListeners(text: string): NamedListener[] {
  const entries = text.split(',').map((e) => e.trim()).filter((e) => e !== '');
  if (entries.length === 0) throw new ConfigError('no listener given');
  const out: NamedListener[] = [];
  for (const entry of entries) {
    const match = /^([A-Za-z_][A-Za-z0-9_]*):\/\/(\[[^\]]*\]|[^:/]*):(\d+)$/.exec(entry);
    if (match === null) throw new ConfigError(`listener '${entry}' is not NAME://host:port`);
    const [, name = '', rawHost = '', rawPort = ''] = match;
    const port = Number(rawPort);
    if (port > 65535) throw new ConfigError(`listener '${entry}': port above 65535`);
    if (out.some((l) => l.name === name.toUpperCase())) throw new ConfigError(`listener name ${name.toUpperCase()} given twice`);
    const host = rawHost.startsWith('[') ? rawHost.slice(1, -1) : rawHost;
    out.push({ name: name.toUpperCase(), securityProtocol: 'PLAINTEXT', host: host === '' ? '0.0.0.0' : host, port });
  }
  return out;
}

/** listener.security.protocol.map: NAME:PROTOCOL pairs. */
export function parseProtocolMap(text: string): Map<string, string> {
  const map = new Map<string, string>();
  for (const entry of text.split(',').map((e) => e.trim()).filter((e) => e !== '')) {
    const [name, protocol, extra] = entry.split(':').map((p) => p.trim().toUpperCase());
    if (!name || !protocol || extra !== undefined) throw new ConfigError(`'${entry}' is not NAME:PROTOCOL`);
    if (!['PLAINTEXT', 'SSL', 'SASL_PLAINTEXT', 'SASL_SSL'].includes(protocol)) throw new ConfigError(`unknown security protocol ${protocol}`);
    map.set(name, protocol);
  }
  return map;
}

/** A listener's security protocol: the map's, else the name itself when it is a protocol (Kafka's default). */
function protocolOf(config: RunnelConfig, name: string): string | undefined {
  return parseProtocolMap(config['listener.security.protocol.map']).get(name);
}

function controllerListenerNames(config: RunnelConfig): Set<string> {
  return new Set(config['controller.listener.names'].split(',').map((n) => n.trim().toUpperCase()).filter((n) => n !== ''));
}

/**
 * The listener to bind for clients: the first of `listeners` not named in controller.listener.names
 * (Kafka's server.properties lists PLAINTEXT and CONTROLLER). It must be PLAINTEXT: Runnel serves no
 * security protocol. The controller listeners of a single node are not bound: its quorum is in process.
 */
export function clientListener(config: RunnelConfig): NamedListener {
  const controller = controllerListenerNames(config);
  const listener = parseListeners(config.listeners).find((l) => !controller.has(l.name));
  if (listener === undefined) throw new ConfigError(`listeners '${config.listeners}' has no listener outside controller.listener.names`);
  const protocol = protocolOf(config, listener.name);
  if (protocol !== 'PLAINTEXT') {
    throw new ConfigError(`listener ${listener.name} uses ${protocol ?? 'no protocol in listener.security.protocol.map'}: only PLAINTEXT is supported`);
  }
  return listener;
}

/** The listeners named in controller.listener.names (not bound by a single node). */
export function controllerListeners(config: RunnelConfig): NamedListener[] {
  const controller = controllerListenerNames(config);
  return parseListeners(config.listeners).filter((l) => controller.has(l.name));
}

/** The advertised address of the client listener: advertised.listeners' entry of the same name, else undefined. */
export function advertisedClientListener(config: RunnelConfig): NamedListener | undefined {
  const configured = config['advertised.listeners'];
  if (configured === '') return undefined;
  const advertised = parseListeners(configured);
  const name = clientListener(config).name;
  return advertised.find((l) => l.name === name) ?? (advertised.length === 1 ? advertised[0] : undefined);
}

export type ProcessRole = 'broker' | 'controller';

export function parseProcessRoles(text: string): Set<ProcessRole> {
  const roles = new Set<ProcessRole>();
  for (const item of text.split(',').map((i) => i.trim().toLowerCase()).filter((i) => i !== '')) {
    if (item !== 'broker' && item !== 'controller') throw new ConfigError(`process.roles: unknown role '${item}'`);
    roles.add(item);
  }
  if (roles.size === 0) throw new ConfigError('process.roles is empty');
  return roles;
}

/** controller.quorum.voters: id@host:port,… (KIP-595). Kafka's node ids start at 0 (`idMin`). */
export function parseVoters(text: string, idMin = 0): Map<number, { host: string; port: number }> {
  const voters = new Map<number, { host: string; port: number }>();
  for (const item of text.split(',').map((part) => part.trim()).filter((part) => part !== '')) {
    const match = /^(\d+)@(\[[^\]]+\]|[^:@]+):(\d+)$/.exec(item);
    if (match === null) throw new ConfigError(`controller.quorum.voters: "${item}" is not id@host:port`);
    const id = Number(match[1]);
    const port = Number(match[3]);
    if (id < idMin || port <= 0 || port > 65535) throw new ConfigError(`controller.quorum.voters: bad id or port in "${item}"`);
    if (voters.has(id)) throw new ConfigError(`controller.quorum.voters: node ${id} listed twice`);
    voters.set(id, { host: match[2]!.replace(/^\[|\]$/g, ''), port });
  }
  if (voters.size === 0) throw new ConfigError('controller.quorum.voters is empty');
  return voters;
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

/** host:port, IPv6 hosts in brackets (metrics.listener). */
export function parseHostPort(text: string): { readonly host: string; readonly port: number } {
  const match = /^(\[[^\]]+\]|[^:/\[\]\s]+):(\d+)$/.exec(text.trim());
  if (match === null) throw new ConfigError(`'${text}' is not host:port`);
  const [, rawHost = '', rawPort = ''] = match;
  const port = Number(rawPort);
  if (port > 65535) throw new ConfigError(`'${text}': port above 65535`);
  return { host: rawHost.startsWith('[') ? rawHost.slice(1, -1) : rawHost, port };
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
