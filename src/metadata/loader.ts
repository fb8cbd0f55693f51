/**
 * Holds the current metadata image and publishes each committed batch's delta to subscribers
 * (replica manager, group coordinator, Metadata API) in commit order — KRaft's MetadataLoader.
 */
import { applyRecords, EMPTY_IMAGE, splitConfigKey, type MetadataDelta, type MetadataImage, type PartitionImage } from './image.js';
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

  /** Resolves true once the image holds `offset` (false after timeoutMs): a remote answer is visible here. */
  waitFor(offset: number, timeoutMs: number): Promise<boolean> {
    if (this.current.offset >= offset) return Promise.resolve(true);
    return new Promise((resolve) => {
      const waiter = { offset, resolve, timer: setTimeout(() => {
        this.waiters.delete(waiter);
        resolve(this.current.offset >= offset);
      }, Math.max(0, timeoutMs)) };
      this.waiters.add(waiter);
    });
  }

  private readonly waiters = new Set<{ offset: number; resolve: (ok: boolean) => void; timer: NodeJS.Timeout }>();

  private wake(): void {
    for (const waiter of this.waiters) {
      if (this.current.offset < waiter.offset) continue;
      clearTimeout(waiter.timer);
      this.waiters.delete(waiter);
      waiter.resolve(true);
    }
  }

  /** Subscribes; the publisher first sees the current image as one delta of everything in it. */
  subscribe(publisher: MetadataPublisher): void {
    this.publishers.push(publisher);
    publisher(snapshotDelta(this.current), this.current);
  }

  private apply(batch: CommittedBatch): void {
    if (batch.snapshot === true) {
      // KRaft's snapshot load: the image is rebuilt from the snapshot's records, and publishers hear the
      // difference from the image they had (topics gone, partitions moved, brokers changed).
      const { image } = applyRecords(EMPTY_IMAGE, batch.records, Math.max(batch.offset, 0));
      const delta = diffImages(this.current, image);
      this.current = image;
      for (const publish of this.publishers) publish(delta, image);
      this.wake();
      return;
    }
    const { image, delta } = applyRecords(this.current, batch.records, batch.offset);
    this.current = image;
    for (const publish of this.publishers) publish(delta, image);
    this.wake();
  }
}

/** The delta that takes `before` to `after` (a snapshot replacing an image). */
export function diffImages(before: MetadataImage, after: MetadataImage): MetadataDelta {
  const createdTopics = [...after.topicsById.values()].filter((t) => !before.topicsById.has(t.topicId));
  const deletedTopics = [...before.topicsById.values()].filter((t) => !after.topicsById.has(t.topicId));
  const changedPartitions = [...after.topicsById.values()].flatMap((t) => {
    const old = before.topicsById.get(t.topicId);
    return t.partitions.filter((p) => old?.partitions[p.partitionId] !== p && !samePartition(old?.partitions[p.partitionId], p));
  });
  const configKeys = new Set([...before.configs.keys(), ...after.configs.keys()]);
  const changedConfigs = [...configKeys].filter((k) => !sameMap(before.configs.get(k), after.configs.get(k))).map(splitConfigKey);
  const brokerIds = new Set([...before.brokers.keys(), ...after.brokers.keys()]);
  const changedBrokers = [...brokerIds].filter((id) => JSON.stringify(before.brokers.get(id)) !== JSON.stringify(after.brokers.get(id)));
  return { createdTopics, deletedTopics, changedPartitions, changedConfigs, changedBrokers };
}

function samePartition(a: PartitionImage | undefined, b: PartitionImage): boolean {
  return a !== undefined && JSON.stringify(a) === JSON.stringify(b);
}

function sameMap(a: ReadonlyMap<string, string> | undefined, b: ReadonlyMap<string, string> | undefined): boolean {
  if (a === undefined || b === undefined) return a === b;
  if (a.size !== b.size) return false;
  for (const [k, v] of a) if (b.get(k) !== v) return false;
  return true;
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
