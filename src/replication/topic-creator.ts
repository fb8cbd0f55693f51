/**
 * Creates topics for auto-creation (Metadata) and internal topics (Kafka's AutoTopicCreationManager →
 * ReplicationControlManager.createTopics). Every creation is planned inside the broker's one
 * AdminController, the single serial writer of the metadata log, so it re-checks the image after every
 * earlier write — CreateTopics, auto-create and config changes racing on one name produce one topic and
 * one TOPIC_ALREADY_EXISTS. The controller's queue is bounded (STYLE.md 8): past it a creation is
 * refused with THROTTLING_QUOTA_EXCEEDED and nothing is written.
 *
 * Records come from src/controller/topic-records.ts; partitions are placed on the live (unfenced)
 * brokers of the image.
 */
import { randomTopicId, TopicCreationError, topicCreationRecords } from '../controller/topic-records.js';
import { AdminQueueFullError, brokerPartitionsError, type AdminController, type Plan } from '../controller/admin.js';
import type { MetadataImage } from '../metadata/image.js';
import { ErrorCode } from '../protocol/errors.js';

export interface TopicCreation {
  readonly name: string;
  readonly numPartitions: number;
  readonly replicationFactor: number;
  readonly configs?: ReadonlyMap<string, string>;
}

export interface TopicCreationResult {
  /** NONE, TOPIC_ALREADY_EXISTS, INVALID_TOPIC_EXCEPTION, INVALID_PARTITIONS, INVALID_REPLICATION_FACTOR,
   * THROTTLING_QUOTA_EXCEEDED (queue full) or UNKNOWN_SERVER_ERROR (the metadata log failed). */
  readonly errorCode: number;
  readonly errorMessage: string | null;
  /** The new topic's id (the existing one's for TOPIC_ALREADY_EXISTS), else the zero uuid. */
  readonly topicId: string | null;
}

export class TopicCreator {
  constructor(
    private readonly controller: AdminController,
    /** max.broker.partitions (see brokerPartitionsError). */
    private readonly brokerPartitionsMax = Infinity,
  ) {}

  /** Resolves once the topic's records are committed (and applied to the loader's image) or refused. */
  async create(creation: TopicCreation): Promise<TopicCreationResult> {
    let planned: Plan<string>;
    try {
      planned = await this.controller.run((image) => planCreation(image, creation, this.brokerPartitionsMax));
    } catch (err) {
      if (err instanceof AdminQueueFullError) {
        return { errorCode: ErrorCode.THROTTLING_QUOTA_EXCEEDED, errorMessage: err.message, topicId: null };
      }
      return { errorCode: ErrorCode.UNKNOWN_SERVER_ERROR, errorMessage: `metadata log: ${(err as Error).message}`, topicId: null };
    }
    if (planned.ok) return { errorCode: ErrorCode.NONE, errorMessage: null, topicId: planned.value };
    const existing = planned.errorCode === ErrorCode.TOPIC_ALREADY_EXISTS
      ? this.controller.currentImage().topicIdsByName.get(creation.name) ?? null
      : null;
    return { errorCode: planned.errorCode, errorMessage: planned.message, topicId: existing };
  }
}

function planCreation(image: MetadataImage, creation: TopicCreation, brokerPartitionsMax: number): Plan<string> {
  if (image.topicIdsByName.has(creation.name)) {
    return { ok: false, errorCode: ErrorCode.TOPIC_ALREADY_EXISTS, message: `Topic '${creation.name}' already exists.` };
  }
  const liveBrokers = [...image.brokers.values()].filter((b) => !b.fenced).map((b) => b.brokerId);
  const topicId = randomTopicId();
  try {
    const records = topicCreationRecords(
      creation.name, topicId, creation.numPartitions, creation.replicationFactor, liveBrokers, creation.configs,
    );
    const placed = records.flatMap((r) => (r.type === 'Partition' ? [r.replicas] : []));
    const limitError = brokerPartitionsError(image, brokerPartitionsMax, placed);
    if (limitError !== null) return { ok: false, ...limitError };
    return { ok: true, records, value: topicId };
  } catch (err) {
    if (err instanceof TopicCreationError) return { ok: false, errorCode: err.errorCode, message: err.message };
    throw err;
  }
}
