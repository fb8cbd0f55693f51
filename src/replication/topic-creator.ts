/**
 * Creates topics through the metadata log, one at a time (the standalone node's controller role for
 * topic creation; Kafka's AutoTopicCreationManager → ReplicationControlManager.createTopics). Creations
 * are serialised and each re-checks the current image first, so two requests racing to create the same
 * name produce one topic and one TOPIC_ALREADY_EXISTS. The queue is bounded (STYLE.md 8): past
 * `pendingMax` a creation is refused with THROTTLING_QUOTA_EXCEEDED and nothing is written.
 *
 * Records come from src/controller/topic-records.ts; partitions are placed on the live (unfenced)
 * brokers of the image.
 */
import { randomTopicId, TopicCreationError, topicCreationRecords } from '../controller/topic-records.js';
import type { MetadataLoader } from '../metadata/loader.js';
import type { MetadataLog } from '../metadata/metadata-log.js';
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

export const TOPIC_CREATIONS_PENDING_MAX = 1000;

export class TopicCreator {
  private tail: Promise<unknown> = Promise.resolve();
  private pending = 0;

  constructor(
    private readonly metadataLog: MetadataLog,
    private readonly loader: MetadataLoader,
    private readonly pendingMax = TOPIC_CREATIONS_PENDING_MAX,
  ) {}

  /** Resolves once the topic's records are committed (and applied to the loader's image) or refused. */
  create(creation: TopicCreation): Promise<TopicCreationResult> {
    if (this.pending >= this.pendingMax) {
      return Promise.resolve({ errorCode: ErrorCode.THROTTLING_QUOTA_EXCEEDED, errorMessage: 'too many topic creations in progress', topicId: null });
    }
    this.pending++;
    const result = this.tail.then(() => this.createNow(creation)).finally(() => this.pending--);
    this.tail = result.catch(() => undefined);
    return result;
  }

  private async createNow(creation: TopicCreation): Promise<TopicCreationResult> {
    const image = this.loader.image;
    const existing = image.topicIdsByName.get(creation.name);
    if (existing !== undefined) {
      return { errorCode: ErrorCode.TOPIC_ALREADY_EXISTS, errorMessage: `Topic '${creation.name}' already exists.`, topicId: existing };
    }
    const liveBrokers = [...image.brokers.values()].filter((b) => !b.fenced).map((b) => b.brokerId);
    const topicId = randomTopicId();
    let records;
    try {
      records = topicCreationRecords(
        creation.name, topicId, creation.numPartitions, creation.replicationFactor, liveBrokers, creation.configs,
      );
    } catch (err) {
      if (err instanceof TopicCreationError) return { errorCode: err.errorCode, errorMessage: err.message, topicId: null };
      throw err;
    }
    try {
      await this.metadataLog.append(records);
    } catch (err) {
      return { errorCode: ErrorCode.UNKNOWN_SERVER_ERROR, errorMessage: `metadata log: ${(err as Error).message}`, topicId: null };
    }
    return { errorCode: ErrorCode.NONE, errorMessage: null, topicId };
  }
}
