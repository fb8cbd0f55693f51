/**
 * Creates topics for auto-creation (Metadata) and internal topics (Kafka's AutoTopicCreationManager):
 * an autoCreateTopic request through the controller channel. The active controller plans every
 * creation against the image that holds every earlier decision, so CreateTopics, auto-create and config
 * changes racing on one name produce one topic and one TOPIC_ALREADY_EXISTS.
 */
import { ErrorCode } from '../protocol/errors.js';
import type { ControllerChannel } from './requests.js';
import type { MetadataImage } from '../metadata/image.js';

export interface TopicCreation {
  readonly name: string;
  readonly numPartitions: number;
  readonly replicationFactor: number;
  readonly configs?: ReadonlyMap<string, string>;
}

export interface TopicCreationResult {
  /** NONE, TOPIC_ALREADY_EXISTS, INVALID_TOPIC_EXCEPTION, INVALID_PARTITIONS, INVALID_REPLICATION_FACTOR,
   * THROTTLING_QUOTA_EXCEEDED (queue full), NOT_CONTROLLER / REQUEST_TIMED_OUT (no controller). */
  readonly errorCode: number;
  readonly errorMessage: string | null;
  /** The new topic's id (the existing one's for TOPIC_ALREADY_EXISTS), else null. */
  readonly topicId: string | null;
}

const CREATION_TIMEOUT_MS = 30_000;

export class TopicCreator {
  constructor(private readonly channel: ControllerChannel, private readonly image: () => MetadataImage) {}

  /** Resolves once the topic's records are committed (and applied to this node's image) or refused. */
  async create(creation: TopicCreation): Promise<TopicCreationResult> {
    const outcome = await this.channel.send({
      type: 'autoCreateTopic', name: creation.name, numPartitions: creation.numPartitions,
      replicationFactor: creation.replicationFactor, configs: [...(creation.configs ?? new Map())],
    }, CREATION_TIMEOUT_MS);
    if (outcome.ok) return { errorCode: ErrorCode.NONE, errorMessage: null, topicId: outcome.value.topicId };
    const existing = outcome.errorCode === ErrorCode.TOPIC_ALREADY_EXISTS
      ? this.image().topicIdsByName.get(creation.name) ?? null
      : null;
    return { errorCode: outcome.errorCode, errorMessage: outcome.message, topicId: existing };
  }
}
