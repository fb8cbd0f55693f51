/**
 * Holds the current metadata image and publishes each committed batch's delta to subscribers
 * (replica manager, group coordinator, Metadata API) in commit order — KRaft's MetadataLoader.
 */
import { applyRecords, EMPTY_IMAGE, splitConfigKey, type MetadataDelta, type MetadataImage } from './image.js';
import type { CommittedBatch, MetadataLog } from './metadata-log.js';

export type MetadataPublisher = (delta: MetadataDelta, image: MetadataImage) => void;

export class MetadataLoader {
  private current: MetadataImage = EMPTY_IMAGE;
  private readonly publishers: MetadataPublisher[] = [];

  constructor(log: MetadataLog) {
    log.onCommit((batch) => this.apply(batch));
  }

  get image(): MetadataImage {
    return this.current;
  }

  /** Subscribes; the publisher first sees the current image as one delta of everything in it. */
  subscribe(publisher: MetadataPublisher): void {
    this.publishers.push(publisher);
    publisher(snapshotDelta(this.current), this.current);
  }

  private apply(batch: CommittedBatch): void {
    const { image, delta } = applyRecords(this.current, batch.records, batch.offset);
    this.current = image;
    for (const publish of this.publishers) publish(delta, image);
  }
}

function snapshotDelta(image: MetadataImage): MetadataDelta {
  const topics = [...image.topicsById.values()];
  return {
    createdTopics: topics,
    deletedTopics: [],
    changedPartitions: topics.flatMap((t) => t.partitions),
    changedConfigs: [...image.configs.keys()].map(splitConfigKey),
    changedBrokers: [...image.brokers.keys()],
  };
}
