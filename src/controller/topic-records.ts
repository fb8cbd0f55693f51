/**
 * Topic creation as metadata records: the one place that turns "create topic T with N partitions, RF R"
 * into Topic + Partition (+ Config) records (KRaft's ReplicationControlManager.createTopic, reduced).
 * Pure: no IO, no clock; randomness only through the caller's topic id. Used by Metadata auto-creation
 * (src/controller/topic-creator.ts) and by CreateTopics.
 *
 * Placement is placement.ts's (leaders rotate over the brokers from `start`, replicas on distinct
 * brokers, rack-aware when the brokers carry racks). The first replica leads; the ISR is every replica
 * (the brokers given are the usable ones); epochs start at 0 (KRaft's PartitionRegistration).
 */
import { randomUUID } from 'node:crypto';
import { ErrorCode } from '../protocol/errors.js';
import type { MetadataRecord } from '../metadata/records.js';
import { placeReplicas, type PlacementBroker } from './placement.js';

/** Kafka's Topic.MAX_NAME_LENGTH. */
export const TOPIC_NAME_LENGTH_MAX = 249;
/** Kafka 4 rejects more partitions than this per request (CreateTopics' own limit is configurable). */
export const TOPIC_PARTITIONS_MAX = 100_000;

const LEGAL_TOPIC_NAME = /^[a-zA-Z0-9._-]+$/;

/** Topics whose data belongs to the broker; clients may not produce to them (KafkaApis internalTopicsAllowed). */
export const INTERNAL_TOPICS: ReadonlySet<string> = new Set(['__consumer_offsets', '__transaction_state', '__share_group_state']);

export function isInternalTopic(name: string): boolean {
  return INTERNAL_TOPICS.has(name);
}

/** Why `name` is not a legal topic name (Kafka's Topic.validate), or null when it is. */
export function topicNameProblem(name: string): string | null {
  if (name.length === 0) return 'topic name is empty';
  if (name === '.' || name === '..') return `topic name cannot be '${name}'`;
  if (name.length > TOPIC_NAME_LENGTH_MAX) return `topic name is longer than ${TOPIC_NAME_LENGTH_MAX} characters`;
  if (!LEGAL_TOPIC_NAME.test(name)) return `topic name '${name}' has characters other than ASCII alphanumerics, '.', '_' and '-'`;
  return null;
}

/**
 * A random version-4 uuid in the dashed-hex form the codecs carry. Never the zero uuid (Kafka's
 * Uuid.ZERO_UUID means "no id"), nor the reserved METADATA_TOPIC_ID (…0001).
 */
export function randomTopicId(): string {
  return randomUUID();
}

export class TopicCreationError extends Error {
  override name = 'TopicCreationError';
  constructor(readonly errorCode: number, message: string) {
    super(message);
  }
}

/**
 * The records that create topic `name`. Throws TopicCreationError with INVALID_TOPIC_EXCEPTION,
 * INVALID_PARTITIONS or INVALID_REPLICATION_FACTOR (the codes CreateTopics answers with) when the
 * request cannot be placed on `brokerIds` (the live, unfenced brokers).
 */
export function topicCreationRecords(
  name: string,
  topicId: string,
  partitions: number,
  replicationFactor: number,
  brokerIds: readonly (number | PlacementBroker)[],
  configs: ReadonlyMap<string, string> = new Map(),
  start = 0,
): MetadataRecord[] {
  const problem = topicNameProblem(name);
  if (problem !== null) throw new TopicCreationError(ErrorCode.INVALID_TOPIC_EXCEPTION, problem);
  if (!Number.isInteger(partitions) || partitions < 1 || partitions > TOPIC_PARTITIONS_MAX) {
    throw new TopicCreationError(ErrorCode.INVALID_PARTITIONS, `number of partitions must be in [1, ${TOPIC_PARTITIONS_MAX}], got ${partitions}`);
  }
  if (!Number.isInteger(replicationFactor) || replicationFactor < 1) {
    throw new TopicCreationError(ErrorCode.INVALID_REPLICATION_FACTOR, `replication factor must be larger than 0, got ${replicationFactor}`);
  }
  const byId = new Map<number, PlacementBroker>();
  for (const b of brokerIds) byId.set(typeof b === 'number' ? b : b.id, typeof b === 'number' ? { id: b, rack: null } : b);
  const brokers = [...byId.values()];
  if (replicationFactor > brokers.length) {
    throw new TopicCreationError(
      ErrorCode.INVALID_REPLICATION_FACTOR,
      `replication factor ${replicationFactor} is larger than the ${brokers.length} available brokers`,
    );
  }
  const records: MetadataRecord[] = [{ type: 'Topic', name, topicId }];
  const placed = placeReplicas(brokers, partitions, replicationFactor, start);
  for (let partitionId = 0; partitionId < partitions; partitionId++) {
    const replicas = placed[partitionId]!;
    records.push({
      type: 'Partition', topicId, partitionId, replicas, isr: [...replicas],
      leader: replicas[0] as number, leaderEpoch: 0, partitionEpoch: 0,
    });
  }
  for (const [configName, value] of configs) {
    records.push({ type: 'Config', resourceType: 'topic', resourceName: name, name: configName, value });
  }
  return records;
}
