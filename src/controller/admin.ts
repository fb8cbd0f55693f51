/**
 * Admin requests as metadata records (KRaft's ReplicationControlManager.createTopics / deleteTopics /
 * createPartitions and ConfigurationControlManager.incrementalAlterConfigs / legacyAlterConfigs, reduced).
 *
 * The `plan*` functions are pure: the current image and the request in, the records to append (one
 * atomic batch per topic or config resource) or Kafka's error code and message out. The controller
 * runs plans one at a time against the latest image and appends them, so every plan sees the effects
 * of the previous one (STYLE.md 3: re-check after an await).
 */
import type { RunnelConfig } from '../config/config.js';
import type { MetadataImage, TopicImage } from '../metadata/image.js';
import { configKey, topicByName } from '../metadata/image.js';
import type { ConfigRecord, MetadataRecord, PartitionRecord } from '../metadata/records.js';
import {
  BROKER_LOG_PROPERTIES,
  TOPIC_CONFIGS,
  formatConfigValue,
  parseConfigValue,
  validateTopicConfigs,
} from '../metadata/topic-configs.js';
import { ErrorCode } from '../protocol/errors.js';
import { isConfigName, isSecurityProperty, kafkaTypeProblem } from '../config/config.js';
import { KAFKA_BROKER_PROPERTIES } from '../config/kafka-broker-properties.js';
import { TOPIC_PARTITIONS_MAX, topicNameProblem } from './topic-records.js';
import { placeInImage, usableBrokers } from './placement.js';

export interface AdminError {
  readonly errorCode: number;
  readonly message: string | null;
}

export type Plan<T> =
  | { readonly ok: true; readonly records: MetadataRecord[]; readonly value: T }
  | ({ readonly ok: false } & AdminError);

function fail<T>(errorCode: number, message: string | null): Plan<T> {
  return { ok: false, errorCode, message };
}

/** Kafka's ConfigResource.Type ids. */
export const ConfigResourceType = Object.freeze({
  UNKNOWN: 0, TOPIC: 2, BROKER: 4, BROKER_LOGGER: 8, CLIENT_METRICS: 16, GROUP: 32,
});

/** IncrementalAlterConfigs operations (AlterConfigOp.OpType). */
export const AlterConfigOp = Object.freeze({ SET: 0, DELETE: 1, APPEND: 2, SUBTRACT: 3 });

// ---- topic names ----

/** Kafka's Topic.validate messages (INVALID_TOPIC_EXCEPTION). */
export function topicNameError(name: string): AdminError | null {
  if (topicNameProblem(name) === null) return null;
  if (name.length === 0) return { errorCode: ErrorCode.INVALID_TOPIC_EXCEPTION, message: "Topic name is illegal, it can't be empty" };
  if (name === '.' || name === '..') {
    return { errorCode: ErrorCode.INVALID_TOPIC_EXCEPTION, message: 'Topic name cannot be "." or ".."' };
  }
  if (name.length > 249) {
    return {
      errorCode: ErrorCode.INVALID_TOPIC_EXCEPTION,
      message: `Topic name is illegal, it can't be longer than 249 characters, topic name: ${name}`,
    };
  }
  return {
    errorCode: ErrorCode.INVALID_TOPIC_EXCEPTION,
    message: `Topic name "${name}" is illegal, it contains a character other than ASCII alphanumerics, '.', '_' and '-'`,
  };
}

/** '.' and '_' collide in metric names (Topic.hasCollision): the least colliding existing name, if any. */
function collidingTopic(image: MetadataImage, name: string): string | undefined {
  if (!/[._]/.test(name)) return undefined;
  const normalized = name.replaceAll('.', '_');
  let found: string | undefined;
  for (const existing of image.topicIdsByName.keys()) {
    if (existing !== name && existing.replaceAll('.', '_') === normalized && (found === undefined || existing < found)) {
      found = existing;
    }
  }
  return found;
}

/** Brokers that may take new replicas (unfenced, not shutting down), by id. */
export function liveBrokerIds(image: MetadataImage): number[] {
  return usableBrokers(image).map((b) => b.id);
}

// ---- manual assignments (automatic placement: placement.ts) ----

/** ReplicationControlManager.validateManualPartitionAssignment. */
function manualAssignmentError(image: MetadataImage, replicas: readonly number[], partitionId: number): AdminError | null {
  const invalid = (message: string): AdminError => ({ errorCode: ErrorCode.INVALID_REPLICA_ASSIGNMENT, message });
  if (replicas.length === 0) return invalid('The manual partition assignment includes an empty replica list.');
  const seen = new Set<number>();
  for (const brokerId of replicas) {
    if (seen.has(brokerId)) return invalid(`The manual partition assignment includes the broker ${brokerId} more than once.`);
    seen.add(brokerId);
    if (!image.brokers.has(brokerId)) {
      return invalid(`The manual partition assignment includes broker ${brokerId}, but no such broker is registered.`);
    }
  }
  if (replicas.every((id) => !isUsable(image, id))) {
    return invalid(`All brokers specified in the manual partition assignment for partition ${partitionId} are fenced or in controlled shutdown.`);
  }
  return null;
}

function isUsable(image: MetadataImage, brokerId: number): boolean {
  const b = image.brokers.get(brokerId);
  return b !== undefined && !b.fenced && !b.inControlledShutdown;
}

function partitionRecord(image: MetadataImage, topicId: string, partitionId: number, replicas: readonly number[]): PartitionRecord {
  // Unusable replicas are placed but are not in sync; the first in-sync one leads (ReplicationControlManager.createTopic).
  const isr = replicas.filter((id) => isUsable(image, id));
  return {
    type: 'Partition', topicId, partitionId, replicas: [...replicas], isr,
    leader: isr[0] ?? -1, leaderEpoch: 0, partitionEpoch: 0,
  };
}

// ---- partition limits ----

/**
 * Kafka's ReplicationControlManager.MAX_PARTITIONS_PER_BATCH (fixed, not a config): one CreateTopics
 * request may ask for at most this many partitions in all; past it every topic of the request is
 * refused with POLICY_VIOLATION (validateTotalNumberOfPartitions). Kafka's QuorumController bounds
 * CreatePartitions by the records one user operation may write (MAX_RECORDS_PER_USER_OP), also 10,000.
 */
export const PARTITIONS_PER_REQUEST_MAX = 10_000;

/** Kafka's answer for a CreateTopics request over PARTITIONS_PER_REQUEST_MAX, else null. */
export function createTopicsRequestError(
  topics: readonly Pick<CreateTopicInput, 'numPartitions' | 'assignments'>[], defaultNumPartitions: number,
): AdminError | null {
  let total = 0;
  for (const topic of topics) {
    if (topic.assignments.length > 0) total += topic.assignments.length;
    else if (topic.numPartitions === -1) total += defaultNumPartitions;
    else if (topic.numPartitions > 0) total += topic.numPartitions;
  }
  return total > PARTITIONS_PER_REQUEST_MAX
    ? { errorCode: ErrorCode.POLICY_VIOLATION, message: 'Excessively large number of partitions per request.' }
    : null;
}

/** Kafka's answer (BoundedListTooLongException → PolicyViolationException) for a CreatePartitions request that adds too many. */
export function createPartitionsRequestError(image: MetadataImage, topics: readonly CreatePartitionsInput[]): AdminError | null {
  let total = 0;
  for (const topic of topics) total += Math.max(0, topic.count - (topicByName(image, topic.name)?.partitions.length ?? topic.count));
  return total > PARTITIONS_PER_REQUEST_MAX
    ? { errorCode: ErrorCode.POLICY_VIOLATION, message: 'Unable to perform excessively large batch operation.' }
    : null;
}

/**
 * max.broker.partitions (Runnel's; the name KIP-578 proposed, Kafka has no such limit): refuses a
 * placement that would make any broker host more partition replicas than `limit`, with POLICY_VIOLATION,
 * instead of creating logs the broker cannot open, serve and recover in reasonable time (issue 26,
 * defect 3). Counts every replica the image places on the brokers concerned, internal topics included.
 */
export function brokerPartitionsError(image: MetadataImage, limit: number, placed: readonly (readonly number[])[]): AdminError | null {
  const added = new Map<number, number>();
  for (const replicas of placed) for (const brokerId of replicas) added.set(brokerId, (added.get(brokerId) ?? 0) + 1);
  const hosted = new Map<number, number>();
  for (const topic of image.topicsById.values()) {
    for (const partition of topic.partitions) {
      for (const brokerId of partition.replicas) if (added.has(brokerId)) hosted.set(brokerId, (hosted.get(brokerId) ?? 0) + 1);
    }
  }
  for (const [brokerId, count] of added) {
    const total = (hosted.get(brokerId) ?? 0) + count;
    if (total > limit) {
      return {
        errorCode: ErrorCode.POLICY_VIOLATION,
        message: `Broker ${brokerId} would host ${total} partitions, more than max.broker.partitions=${limit} ` +
          `(it hosts ${hosted.get(brokerId) ?? 0}).`,
      };
    }
  }
  return null;
}

// ---- CreateTopics ----

export interface CreateTopicInput {
  readonly name: string;
  readonly numPartitions: number;
  readonly replicationFactor: number;
  readonly assignments: readonly { readonly partitionIndex: number; readonly brokerIds: readonly number[] }[];
  readonly configs: readonly { readonly name: string; readonly value: string | null }[];
}

export interface CreatedTopic {
  readonly topicId: string;
  readonly numPartitions: number;
  readonly replicationFactor: number;
  readonly overrides: ReadonlyMap<string, string>;
}

/**
 * Plans one topic of a CreateTopics request (duplicates within the request are the caller's: Kafka
 * answers INVALID_REQUEST for them before planning).
 */
export function planCreateTopic(
  image: MetadataImage, config: RunnelConfig, topic: CreateTopicInput, topicId: string,
): Plan<CreatedTopic> {
  const nameError = topicNameError(topic.name);
  if (nameError !== null) return fail(nameError.errorCode, nameError.message);
  if (image.topicIdsByName.has(topic.name)) return fail(ErrorCode.TOPIC_ALREADY_EXISTS, `Topic '${topic.name}' already exists.`);
  const colliding = collidingTopic(image, topic.name);
  if (colliding !== undefined) {
    return fail(ErrorCode.INVALID_TOPIC_EXCEPTION, `Topic '${topic.name}' collides with existing topic: ${colliding}`);
  }
  const overrides = new Map<string, string | null>();
  for (const c of topic.configs) overrides.set(c.name, c.value);
  const configError = validateTopicConfigs(overrides);
  if (configError !== null) return fail(configError.errorCode, configError.message);
  const assignment = topic.assignments.length > 0
    ? manualAssignment(image, topic)
    : automaticAssignment(image, config, topic);
  if ('errorCode' in assignment) return fail(assignment.errorCode, assignment.message);
  const limitError = brokerPartitionsError(image, config['max.broker.partitions'], assignment.replicas);
  if (limitError !== null) return fail(limitError.errorCode, limitError.message);
  const records: MetadataRecord[] = [{ type: 'Topic', name: topic.name, topicId }];
  assignment.replicas.forEach((replicas, partitionId) => records.push(partitionRecord(image, topicId, partitionId, replicas)));
  const kept = new Map<string, string>();
  for (const [name, value] of overrides) {
    kept.set(name, value as string);
    records.push({ type: 'Config', resourceType: 'topic', resourceName: topic.name, name, value });
  }
  return {
    ok: true,
    records,
    value: {
      topicId,
      numPartitions: assignment.replicas.length,
      replicationFactor: assignment.replicas[0]?.length ?? 0,
      overrides: kept,
    },
  };
}

function automaticAssignment(
  image: MetadataImage, config: RunnelConfig, topic: CreateTopicInput,
): { replicas: number[][] } | AdminError {
  const numPartitions = topic.numPartitions === -1 ? config['num.partitions'] : topic.numPartitions;
  const replicationFactor = topic.replicationFactor === -1 ? config['default.replication.factor'] : topic.replicationFactor;
  if (numPartitions <= 0) {
    return { errorCode: ErrorCode.INVALID_PARTITIONS, message: 'Number of partitions was set to an invalid non-positive value.' };
  }
  if (numPartitions > TOPIC_PARTITIONS_MAX) {
    return { errorCode: ErrorCode.INVALID_PARTITIONS, message: `Number of partitions must be at most ${TOPIC_PARTITIONS_MAX}.` };
  }
  if (replicationFactor <= 0) {
    return {
      errorCode: ErrorCode.INVALID_REPLICATION_FACTOR,
      message: 'Replication factor must be larger than 0, or -1 to use the default value.',
    };
  }
  const brokers = liveBrokerIds(image);
  if (replicationFactor > brokers.length) {
    return {
      errorCode: ErrorCode.INVALID_REPLICATION_FACTOR,
      message: `Unable to replicate the partition ${replicationFactor} time(s): The target replication factor of ` +
        `${replicationFactor} cannot be reached because only ${brokers.length} broker(s) are registered.`,
    };
  }
  return { replicas: placeInImage(image, numPartitions, replicationFactor) };
}

function manualAssignment(image: MetadataImage, topic: CreateTopicInput): { replicas: number[][] } | AdminError {
  if (topic.numPartitions !== -1) {
    return { errorCode: ErrorCode.INVALID_REQUEST, message: 'A manual partition assignment was specified, but numPartitions was not set to -1.' };
  }
  if (topic.replicationFactor !== -1) {
    return {
      errorCode: ErrorCode.INVALID_REQUEST,
      message: 'A manual partition assignment was specified, but replicationFactor was not set to -1.',
    };
  }
  if (topic.assignments.length > TOPIC_PARTITIONS_MAX) {
    return { errorCode: ErrorCode.INVALID_PARTITIONS, message: `Number of partitions must be at most ${TOPIC_PARTITIONS_MAX}.` };
  }
  const byIndex = new Map<number, readonly number[]>();
  for (const a of topic.assignments) {
    if (byIndex.has(a.partitionIndex)) {
      return {
        errorCode: ErrorCode.INVALID_REPLICA_ASSIGNMENT,
        message: `Found multiple manual partition assignments for partition ${a.partitionIndex}`,
      };
    }
    byIndex.set(a.partitionIndex, a.brokerIds);
  }
  const replicas: number[][] = [];
  for (let p = 0; p < byIndex.size; p++) {
    const assigned = byIndex.get(p);
    if (assigned === undefined) {
      return { errorCode: ErrorCode.INVALID_REPLICA_ASSIGNMENT, message: 'partitions should be a consecutive 0-based integer sequence' };
    }
    const error = manualAssignmentError(image, assigned, p);
    if (error !== null) return error;
    if (replicas.length > 0 && assigned.length !== replicas[0]!.length) {
      return {
        errorCode: ErrorCode.INVALID_REPLICA_ASSIGNMENT,
        message: 'All partitions in the manual partition assignment must have the same number of replicas.',
      };
    }
    replicas.push([...assigned]);
  }
  return { replicas };
}

// ---- DeleteTopics ----

/** The RemoveTopic record of a topic (the replica manager deletes its logs on the delta). */
export function planDeleteTopic(topic: TopicImage): Plan<TopicImage> {
  return { ok: true, records: [{ type: 'RemoveTopic', topicId: topic.topicId }], value: topic };
}

// ---- CreatePartitions ----

export interface CreatePartitionsInput {
  readonly name: string;
  readonly count: number;
  readonly assignments: readonly { readonly brokerIds: readonly number[] }[] | null;
}

/** ReplicationControlManager.createPartitions for one topic. */
export function planCreatePartitions(image: MetadataImage, input: CreatePartitionsInput, brokerPartitionsMax = Infinity): Plan<number> {
  const topic = topicByName(image, input.name);
  if (topic === undefined) return fail(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `The topic '${input.name}' does not exist.`);
  const current = topic.partitions.length;
  if (input.count < current) {
    return fail(ErrorCode.INVALID_PARTITIONS,
      `The topic ${input.name} currently has ${current} partition(s); ${input.count} would not be an increase.`);
  }
  if (input.count === current) return fail(ErrorCode.INVALID_PARTITIONS, `Topic already has ${current} partition(s).`);
  if (input.count > TOPIC_PARTITIONS_MAX) {
    return fail(ErrorCode.INVALID_PARTITIONS, `Number of partitions must be at most ${TOPIC_PARTITIONS_MAX}.`);
  }
  const additional = input.count - current;
  const replicationFactor = topic.partitions[0]?.replicas.length ?? 1;
  const replicas: number[][] = [];
  if (input.assignments !== null) {
    if (input.assignments.length !== additional) {
      return fail(ErrorCode.INVALID_REPLICA_ASSIGNMENT,
        `Attempted to add ${additional} additional partition(s), but only ${input.assignments.length} assignment(s) were specified.`);
    }
    for (const [i, a] of input.assignments.entries()) {
      const error = manualAssignmentError(image, a.brokerIds, current + i);
      if (error !== null) return fail(error.errorCode, error.message);
      if (a.brokerIds.length !== replicationFactor) {
        return fail(ErrorCode.INVALID_REPLICA_ASSIGNMENT,
          `The manual partition assignment includes a partition with ${a.brokerIds.length} replica(s), but this is not ` +
          `consistent with previous partitions, which have ${replicationFactor} replica(s).`);
      }
      replicas.push([...a.brokerIds]);
    }
  } else {
    const brokers = liveBrokerIds(image);
    if (replicationFactor > brokers.length) {
      return fail(ErrorCode.INVALID_REPLICATION_FACTOR,
        `Unable to replicate the partition ${replicationFactor} time(s): The target replication factor of ` +
        `${replicationFactor} cannot be reached because only ${brokers.length} broker(s) are registered.`);
    }
    replicas.push(...placeInImage(image, input.count - current, replicationFactor, current));
  }
  const limitError = brokerPartitionsError(image, brokerPartitionsMax, replicas);
  if (limitError !== null) return fail(limitError.errorCode, limitError.message);
  const records = replicas.map((r, i) => partitionRecord(image, topic.topicId, current + i, r));
  return { ok: true, records, value: input.count };
}

// ---- configs ----

export interface ConfigResourceInput {
  readonly resourceType: number;
  readonly resourceName: string;
}

export interface AlterableConfig {
  readonly name: string;
  readonly value: string | null;
  /** IncrementalAlterConfigs only; AlterConfigs replaces the whole set. */
  readonly configOperation?: number;
}

type Target = { kind: 'topic'; name: string } | { kind: 'broker'; name: string } | { kind: 'group'; name: string };

/** Which stored resource a config request names, or Kafka's error for it. */
export function configTarget(image: MetadataImage, nodeId: number, resource: ConfigResourceInput): Target | AdminError {
  switch (resource.resourceType) {
    case ConfigResourceType.TOPIC: {
      if (resource.resourceName === '') return { errorCode: ErrorCode.INVALID_REQUEST, message: 'Default topic resources are not allowed.' };
      const nameError = topicNameError(resource.resourceName);
      if (nameError !== null) return nameError;
      if (!image.topicIdsByName.has(resource.resourceName)) {
        return { errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, message: `The topic '${resource.resourceName}' does not exist.` };
      }
      return { kind: 'topic', name: resource.resourceName };
    }
    case ConfigResourceType.BROKER: {
      const error = brokerResourceError(resource.resourceName, nodeId);
      return error ?? { kind: 'broker', name: resource.resourceName };
    }
    case ConfigResourceType.GROUP:
      // KIP-848 group configs (ConfigAdminManager: a group resource needs a name; the group need not exist).
      if (resource.resourceName === '') return { errorCode: ErrorCode.INVALID_REQUEST, message: 'Group name must not be empty.' };
      return { kind: 'group', name: resource.resourceName };
    default:
      // BROKER_LOGGER changes are not persisted metadata and Runnel has no runtime log levels to change;
      // CLIENT_METRICS configs are not served.
      return { errorCode: ErrorCode.INVALID_REQUEST, message: `Unknown resource type ${resource.resourceType}` };
  }
}

/** ConfigAdminManager.validateResourceNameIsCurrentNodeId ("" is the cluster default resource). */
export function brokerResourceError(resourceName: string, nodeId: number): AdminError | null {
  if (resourceName === '') return null;
  if (!/^-?\d{1,10}$/.test(resourceName)) {
    return { errorCode: ErrorCode.INVALID_REQUEST, message: `Node id must be an integer, but it is: ${resourceName}` };
  }
  if (Number(resourceName) !== nodeId) {
    return { errorCode: ErrorCode.INVALID_REQUEST, message: `Unexpected broker id, expected ${nodeId}, but received ${resourceName}` };
  }
  return null;
}

function currentOverrides(image: MetadataImage, target: Target): ReadonlyMap<string, string> {
  return image.configs.get(configKey(target.kind, target.name)) ?? new Map();
}

/**
 * The records that turn a resource's overrides into `next` (null values delete), all in one batch.
 */
function configDiff(target: Target, current: ReadonlyMap<string, string>, next: ReadonlyMap<string, string>): ConfigRecord[] {
  const records: ConfigRecord[] = [];
  for (const name of current.keys()) {
    if (!next.has(name)) records.push({ type: 'Config', resourceType: target.kind, resourceName: target.name, name, value: null });
  }
  for (const [name, value] of next) {
    if (current.get(name) !== value) {
      records.push({ type: 'Config', resourceType: target.kind, resourceName: target.name, name, value });
    }
  }
  return records;
}

/**
 * IncrementalAlterConfigs (mode 'incremental') or AlterConfigs (mode 'replace': the given set replaces
 * every override of the resource) for one resource.
 */
export function planAlterConfigs(
  image: MetadataImage, nodeId: number, resource: ConfigResourceInput, configs: readonly AlterableConfig[],
  mode: 'incremental' | 'replace', config?: RunnelConfig,
): Plan<null> {
  const target = configTarget(image, nodeId, resource);
  if ('errorCode' in target) return fail(target.errorCode, target.message);
  const names = new Set<string>();
  for (const c of configs) {
    if (names.has(c.name)) return fail(ErrorCode.INVALID_REQUEST, 'Error due to duplicate config keys');
    names.add(c.name);
  }
  const current = currentOverrides(image, target);
  const next = mode === 'replace' ? replaceAll(configs) : applyIncremental(target, current, configs);
  if ('errorCode' in next) return fail(next.errorCode, next.message);
  const error = target.kind === 'topic' ? validateTopicConfigs(next)
    : target.kind === 'group' ? validateGroupConfigs(next, config)
    : validateBrokerConfigs(target, next, current);
  if (error !== null) return fail(error.errorCode, error.message);
  return { ok: true, records: configDiff(target, current, next as ReadonlyMap<string, string>), value: null };
}

function replaceAll(configs: readonly AlterableConfig[]): Map<string, string | null> {
  return new Map(configs.map((c) => [c.name, c.value]));
}

function applyIncremental(
  target: Target, current: ReadonlyMap<string, string>, configs: readonly AlterableConfig[],
): Map<string, string | null> | AdminError {
  const next = new Map<string, string | null>(current);
  for (const c of configs) {
    switch (c.configOperation) {
      case AlterConfigOp.SET:
        next.set(c.name, c.value);
        break;
      case AlterConfigOp.DELETE:
        next.delete(c.name);
        break;
      case AlterConfigOp.APPEND:
      case AlterConfigOp.SUBTRACT: {
        const verb = c.configOperation === AlterConfigOp.APPEND ? 'APPEND' : 'SUBTRACT';
        const definition = target.kind === 'topic' ? TOPIC_CONFIGS.get(c.name) : BROKER_LOG_PROPERTIES.get(c.name);
        if (definition === undefined || definition.type !== 'LIST') {
          return { errorCode: ErrorCode.INVALID_CONFIG, message: `Can't ${verb} to key ${c.name} because its type is not LIST.` };
        }
        const base = next.get(c.name) ?? definition.defaultValue ?? '';
        next.set(c.name, combineLists(base, c.value ?? '', verb === 'APPEND'));
        break;
      }
      default:
        return { errorCode: ErrorCode.INVALID_REQUEST, message: `Unknown operations type ${c.configOperation}` };
    }
  }
  return next;
}

function listItems(text: string): string[] {
  const parsed = parseConfigValue('LIST', text);
  return parsed.ok ? [...(parsed.value as readonly string[])] : [];
}

function combineLists(base: string, change: string, append: boolean): string {
  const items = listItems(base);
  const changed = listItems(change);
  const result = append ? [...items, ...changed.filter((i) => !items.includes(i))] : items.filter((i) => !changed.includes(i));
  return formatConfigValue('LIST', result);
}

/**
 * Broker resources accept the properties Kafka can change at run time (DynamicBrokerConfig's update modes
 * 'per-broker' and 'cluster-wide'): the topic-default synonyms Runnel acts on with their own validators,
 * the others type-checked as Kafka's ConfigDef would and stored all the same, so that
 * `kafka-configs.sh --alter` behaves as against Kafka and the value survives a restart in the metadata
 * log. Anything read-only is refused for the whole resource with INVALID_REQUEST, as Kafka's
 * DynamicBrokerConfig.validateConfigs does, and so is a per-broker property at the cluster-default
 * level. Security properties are refused too: Runnel serves PLAINTEXT only.
 */
function validateBrokerConfigs(
  target: Target, next: ReadonlyMap<string, string | null>, current: ReadonlyMap<string, string>,
): AdminError | null {
  const prefix = `Invalid config value for resource ConfigResource(type=BROKER, name='${target.name}'): `;
  const changed = [...next].filter(([name, value]) => current.get(name) !== value);
  const security = changed.map(([name]) => name).filter(isSecurityProperty);
  if (security.length > 0) {
    return { errorCode: ErrorCode.INVALID_REQUEST, message: `${prefix}Runnel serves PLAINTEXT only; cannot set security configs: Set(${security.join(', ')})` };
  }
  const nonDynamic = changed.map(([name]) => name).filter((name) => !isDynamicBrokerProperty(name));
  if (nonDynamic.length > 0) {
    return { errorCode: ErrorCode.INVALID_REQUEST, message: `${prefix}Cannot update these configs dynamically: Set(${nonDynamic.join(', ')})` };
  }
  if (target.name === '') {
    const perBroker = changed.map(([name]) => name).filter((name) => KAFKA_BROKER_PROPERTIES.get(name)?.mode === 'per-broker');
    if (perBroker.length > 0) {
      return { errorCode: ErrorCode.INVALID_REQUEST, message: `${prefix}Cannot update these configs at default cluster level, broker id must be specified: Set(${perBroker.join(', ')})` };
    }
  }
  for (const [name, value] of changed) {
    if (value === null) {
      return { errorCode: ErrorCode.INVALID_REQUEST, message: `${prefix}Null value not supported for ${name}` };
    }
    const problem = brokerValueProblem(name, value);
    if (problem !== null) {
      return { errorCode: ErrorCode.INVALID_REQUEST, message: `${prefix}Invalid value ${value} for configuration ${name}: ${problem}` };
    }
  }
  return null;
}

/**
 * GROUP resources (KIP-848, Kafka's GroupConfig): consumer.session.timeout.ms and
 * consumer.heartbeat.interval.ms, integers within the broker's group.consumer.min/max bounds; the
 * heartbeat interval must stay below the session timeout. Other names are INVALID_CONFIG (Kafka's share
 * and streams group configs are not served: Runnel has neither kind of group).
 */
export const GROUP_CONFIG_NAMES = ['consumer.heartbeat.interval.ms', 'consumer.session.timeout.ms'] as const;

function validateGroupConfigs(next: ReadonlyMap<string, string | null>, config: RunnelConfig | undefined): AdminError | null {
  const bounds: Record<string, readonly [number, number]> = {
    'consumer.session.timeout.ms': [config?.['group.consumer.min.session.timeout.ms'] ?? 45000, config?.['group.consumer.max.session.timeout.ms'] ?? 60000],
    'consumer.heartbeat.interval.ms': [config?.['group.consumer.min.heartbeat.interval.ms'] ?? 5000, config?.['group.consumer.max.heartbeat.interval.ms'] ?? 15000],
  };
  for (const [name, value] of next) {
    const range = bounds[name];
    if (range === undefined) return { errorCode: ErrorCode.INVALID_CONFIG, message: `Unknown group config name: ${name}` };
    if (value === null || !/^[+-]?\d+$/.test(value.trim())) return { errorCode: ErrorCode.INVALID_CONFIG, message: `Invalid value ${value} for configuration ${name}: Not a number of type INT` };
    const n = Number(value.trim());
    if (n < range[0] || n > range[1]) {
      return { errorCode: ErrorCode.INVALID_CONFIG, message: `${name} must be greater than or equal to ${range[0]} and less than or equal to ${range[1]}` };
    }
  }
  const session = Number(next.get('consumer.session.timeout.ms') ?? bounds['consumer.session.timeout.ms']![0]);
  const heartbeat = Number(next.get('consumer.heartbeat.interval.ms') ?? bounds['consumer.heartbeat.interval.ms']![0]);
  if (next.has('consumer.heartbeat.interval.ms') && heartbeat >= session) {
    return { errorCode: ErrorCode.INVALID_CONFIG, message: 'consumer.heartbeat.interval.ms must be less than consumer.session.timeout.ms' };
  }
  return null;
}

/** Whether Kafka lets `name` change at run time: Runnel's topic-default synonyms, or Kafka's table. */
function isDynamicBrokerProperty(name: string): boolean {
  const log = BROKER_LOG_PROPERTIES.get(name);
  if (log !== undefined) return log.dynamic;
  const mode = KAFKA_BROKER_PROPERTIES.get(name)?.mode;
  return mode === 'per-broker' || mode === 'cluster-wide';
}

function brokerValueProblem(name: string, value: string): string | null {
  const log = BROKER_LOG_PROPERTIES.get(name);
  if (log !== undefined) {
    const parsed = parseConfigValue(log.type, value);
    return parsed.ok ? log.validator?.(parsed.value) ?? null : parsed.reason;
  }
  const type = KAFKA_BROKER_PROPERTIES.get(name)?.type ?? 'STRING';
  return kafkaTypeProblem(type, value.trim());
}

/** Whether `name` is a broker property Runnel knows (for DescribeConfigs of a BROKER resource). */
export function isKnownBrokerProperty(name: string): boolean {
  return isConfigName(name) || BROKER_LOG_PROPERTIES.has(name) || KAFKA_BROKER_PROPERTIES.has(name);
}
