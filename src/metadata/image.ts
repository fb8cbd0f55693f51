/**
 * The metadata image: an immutable view of the cluster built by replaying metadata records (KRaft's
 * MetadataImage / MetadataDelta, STYLE.md 4). `applyRecords` returns a new frozen image plus the delta
 * that publishers (replica manager, group coordinator, Metadata API) consume. Replay is an exhaustive
 * switch: a new record type does not compile until every consumer handles it.
 */
import { invariant, unreachable } from '../common/assert.js';
import {
  RECOVERING, type BrokerFeatureRange, type ConfigResourceType, type LeaderRecoveryState, type MetadataRecord, type PartitionRecord, type RegisterBrokerRecord,
} from './records.js';

export interface BrokerImage {
  readonly brokerId: number;
  readonly brokerEpoch: number;
  readonly host: string;
  readonly port: number;
  readonly rack: string | null;
  readonly fenced: boolean;
  /** KIP-631 incarnation of the registered process (null: registered before incarnations were kept). */
  readonly incarnationId: string | null;
  /** KIP-841: leaving; not eligible as a leader or a new ISR member. */
  readonly inControlledShutdown: boolean;
  /** The feature levels its software supports (RegisterBrokerRecord's Features; empty: none named). */
  readonly supportedFeatures: readonly Readonly<BrokerFeatureRange>[];
}

export interface PartitionImage {
  readonly topicId: string;
  readonly partitionId: number;
  readonly replicas: readonly number[];
  readonly isr: readonly number[];
  readonly leader: number;
  readonly leaderEpoch: number;
  readonly partitionEpoch: number;
  /** KIP-704: present (RECOVERING) only while an uncleanly elected leader has not reported RECOVERED. */
  readonly leaderRecoveryState?: LeaderRecoveryState;
}

export interface TopicImage {
  readonly name: string;
  readonly topicId: string;
  /** Indexed by partition id (partitions are dense 0..n-1). */
  readonly partitions: readonly PartitionImage[];
}

export interface MetadataImage {
  /** Offset of the last record batch applied (-1 for the empty image). */
  readonly offset: number;
  /** Set once by the first active controller (ClusterIdRecord); null before. */
  readonly clusterId: string | null;
  readonly brokers: ReadonlyMap<number, BrokerImage>;
  readonly topicsById: ReadonlyMap<string, TopicImage>;
  readonly topicIdsByName: ReadonlyMap<string, string>;
  /** Overrides only, keyed by configKey(resourceType, resourceName); defaults live with the config definitions. */
  readonly configs: ReadonlyMap<string, ReadonlyMap<string, string>>;
  readonly nextProducerId: number;
  /**
   * Finalized feature levels from FeatureLevelRecords (FeaturesImage.finalizedVersions): a feature at
   * level 0 is absent. metadata.version is not here: Runnel runs it at one fixed level (src/broker/features.ts).
   */
  readonly features: ReadonlyMap<string, number>;
}

export interface MetadataDelta {
  readonly createdTopics: readonly TopicImage[];
  /** Topics removed, as they were in the previous image. */
  readonly deletedTopics: readonly TopicImage[];
  /** Partitions created or changed (leader, epoch, ISR, replicas), as they are in the new image. */
  readonly changedPartitions: readonly PartitionImage[];
  readonly changedConfigs: readonly { resourceType: ConfigResourceType; resourceName: string }[];
  readonly changedBrokers: readonly number[];
}

export const EMPTY_IMAGE: MetadataImage = Object.freeze({
  offset: -1,
  clusterId: null,
  brokers: new Map(),
  topicsById: new Map(),
  topicIdsByName: new Map(),
  configs: new Map(),
  nextProducerId: 0,
  features: new Map(),
});

export function configKey(resourceType: ConfigResourceType, resourceName: string): string {
  return `${resourceType}:${resourceName}`;
}

export function splitConfigKey(key: string): { resourceType: ConfigResourceType; resourceName: string } {
  const colon = key.indexOf(':');
  return { resourceType: key.slice(0, colon) as ConfigResourceType, resourceName: key.slice(colon + 1) };
}

export function topicByName(image: MetadataImage, name: string): TopicImage | undefined {
  const id = image.topicIdsByName.get(name);
  return id === undefined ? undefined : image.topicsById.get(id);
}

export function topicConfigOverrides(image: MetadataImage, topic: string): ReadonlyMap<string, string> {
  return image.configs.get(configKey('topic', topic)) ?? new Map();
}

/** Builder that copies each map at most once per batch (copy on first write). */
class ImageBuilder {
  private brokers: Map<number, BrokerImage> | null = null;
  private topicsById: Map<string, TopicImage> | null = null;
  private topicIdsByName: Map<string, string> | null = null;
  private configs: Map<string, ReadonlyMap<string, string>> | null = null;
  private features: Map<string, number> | null = null;
  nextProducerId: number;
  clusterId: string | null;
  readonly createdTopicIds = new Set<string>();
  readonly deletedTopics: TopicImage[] = [];
  readonly changedPartitionKeys = new Set<string>();
  readonly changedConfigs = new Map<string, { resourceType: ConfigResourceType; resourceName: string }>();
  readonly changedBrokers = new Set<number>();

  constructor(readonly base: MetadataImage) {
    this.nextProducerId = base.nextProducerId;
    this.clusterId = base.clusterId;
  }

  brokersW(): Map<number, BrokerImage> { return (this.brokers ??= new Map(this.base.brokers)); }
  topicsW(): Map<string, TopicImage> { return (this.topicsById ??= new Map(this.base.topicsById)); }
  namesW(): Map<string, string> { return (this.topicIdsByName ??= new Map(this.base.topicIdsByName)); }
  configsW(): Map<string, ReadonlyMap<string, string>> { return (this.configs ??= new Map(this.base.configs)); }
  featuresW(): Map<string, number> { return (this.features ??= new Map(this.base.features)); }
  topic(id: string): TopicImage | undefined { return (this.topicsById ?? this.base.topicsById).get(id); }

  /** Partition arrays this batch owns (copied once, frozen by build). */
  private readonly batchPartitions = new Map<string, PartitionImage[]>();

  /**
   * The topic's partitions, writable: copied once per batch, not once per record (a CreateTopics of
   * 20,000 partitions is one batch; copying per record was O(n²) on the event loop, issue 26 defect 3).
   */
  partitionsW(topic: TopicImage): PartitionImage[] {
    let own = this.batchPartitions.get(topic.topicId);
    if (own === undefined || topic.partitions !== own) {
      own = topic.partitions.slice();
      this.batchPartitions.set(topic.topicId, own);
      this.topicsW().set(topic.topicId, Object.freeze({ ...topic, partitions: own }));
    }
    return own;
  }
  broker(id: number): BrokerImage | undefined { return (this.brokers ?? this.base.brokers).get(id); }
  hasTopicName(name: string): boolean { return (this.topicIdsByName ?? this.base.topicIdsByName).has(name); }

  build(offset: number): { image: MetadataImage; delta: MetadataDelta } {
    for (const own of this.batchPartitions.values()) Object.freeze(own);
    const topicsById = this.topicsById ?? this.base.topicsById;
    const image: MetadataImage = Object.freeze({
      offset,
      clusterId: this.clusterId,
      brokers: this.brokers ?? this.base.brokers,
      topicsById,
      topicIdsByName: this.topicIdsByName ?? this.base.topicIdsByName,
      configs: this.configs ?? this.base.configs,
      nextProducerId: this.nextProducerId,
      features: this.features ?? this.base.features,
    });
    const changedPartitions: PartitionImage[] = [];
    for (const key of this.changedPartitionKeys) {
      const [topicId, partition] = splitPartitionKey(key);
      const p = topicsById.get(topicId)?.partitions[partition];
      if (p !== undefined) changedPartitions.push(p);
    }
    const createdTopics = [...this.createdTopicIds]
      .map((id) => topicsById.get(id))
      .filter((t): t is TopicImage => t !== undefined);
    const delta: MetadataDelta = {
      createdTopics,
      deletedTopics: this.deletedTopics.filter((t) => !topicsById.has(t.topicId)),
      changedPartitions,
      changedConfigs: [...this.changedConfigs.values()],
      changedBrokers: [...this.changedBrokers],
    };
    return { image, delta };
  }
}

function partitionKey(topicId: string, partition: number): string {
  return `${topicId}/${partition}`;
}

function splitPartitionKey(key: string): [string, number] {
  const slash = key.lastIndexOf('/');
  return [key.slice(0, slash), Number(key.slice(slash + 1))];
}

/** Applies one committed batch of records; `offset` is the batch's position in the metadata log. */
export function applyRecords(
  base: MetadataImage,
  records: readonly MetadataRecord[],
  offset: number,
): { image: MetadataImage; delta: MetadataDelta } {
  invariant(offset > base.offset, () => `metadata offset ${offset} not after ${base.offset}`);
  const b = new ImageBuilder(base);
  for (const record of records) applyRecord(b, record);
  return b.build(offset);
}

function applyRecord(b: ImageBuilder, r: MetadataRecord): void {
  switch (r.type) {
    case 'ClusterId':
      invariant(b.clusterId === null || b.clusterId === r.clusterId, `cluster id ${r.clusterId} after ${b.clusterId}`);
      b.clusterId = r.clusterId;
      return;
    case 'RegisterBroker':
      b.brokersW().set(r.brokerId, Object.freeze({
        brokerId: r.brokerId, brokerEpoch: r.brokerEpoch, host: r.host, port: r.port, rack: r.rack, fenced: r.fenced,
        incarnationId: r.incarnationId ?? null, inControlledShutdown: r.inControlledShutdown ?? false,
        supportedFeatures: Object.freeze((r.features ?? []).map((f) => Object.freeze({ ...f }))),
      }));
      b.changedBrokers.add(r.brokerId);
      return;
    case 'BrokerRegistrationChange': {
      const broker = b.broker(r.brokerId);
      invariant(broker !== undefined && broker.brokerEpoch === r.brokerEpoch,
        () => `BrokerRegistrationChange of broker ${r.brokerId} epoch ${r.brokerEpoch}, registered ${broker?.brokerEpoch}`);
      b.brokersW().set(r.brokerId, Object.freeze({ ...broker, inControlledShutdown: r.inControlledShutdown ?? broker.inControlledShutdown }));
      b.changedBrokers.add(r.brokerId);
      return;
    }
    case 'FenceBroker':
    case 'UnfenceBroker': {
      const broker = b.broker(r.brokerId);
      invariant(broker !== undefined, `${r.type} of unknown broker ${r.brokerId}`);
      b.brokersW().set(r.brokerId, Object.freeze({ ...broker, fenced: r.type === 'FenceBroker' }));
      b.changedBrokers.add(r.brokerId);
      return;
    }
    case 'Topic':
      invariant(!(b.topic(r.topicId)), `duplicate topic id ${r.topicId}`);
      invariant(!b.hasTopicName(r.name), `duplicate topic name ${r.name}`);
      b.topicsW().set(r.topicId, Object.freeze({ name: r.name, topicId: r.topicId, partitions: Object.freeze([]) }));
      b.namesW().set(r.name, r.topicId);
      b.createdTopicIds.add(r.topicId);
      return;
    case 'Partition':
      putPartition(b, r);
      return;
    case 'PartitionChange':
      changePartition(b, r.topicId, r.partitionId, r);
      return;
    case 'Config':
      applyConfig(b, r.resourceType, r.resourceName, r.name, r.value);
      return;
    case 'RemoveTopic': {
      const topic = b.topic(r.topicId);
      invariant(topic !== undefined, `RemoveTopic of unknown topic ${r.topicId}`);
      b.topicsW().delete(r.topicId);
      b.namesW().delete(topic.name);
      // A topic born and removed within one batch never existed for the publishers.
      if (!b.createdTopicIds.delete(r.topicId)) b.deletedTopics.push(topic);
      b.configsW().delete(configKey('topic', topic.name));
      return;
    }
    case 'ProducerIds':
      invariant(r.nextProducerId > b.nextProducerId, 'producer id blocks must move forward');
      b.nextProducerId = r.nextProducerId;
      return;
    case 'FeatureLevel':
      // FeatureControlManager.replay: level 0 means the feature is not finalized.
      invariant(Number.isInteger(r.featureLevel) && r.featureLevel >= 0, () => `FeatureLevel ${r.name} at ${r.featureLevel}`);
      if (r.featureLevel === 0) b.featuresW().delete(r.name);
      else b.featuresW().set(r.name, r.featureLevel);
      return;
    default:
      unreachable(r, 'metadata record');
  }
}

/**
 * Records that rebuild `image` from the empty image: what a metadata snapshot holds (KRaft writes the
 * same record types into its snapshots). applyRecords(EMPTY_IMAGE, imageRecords(i)) equals i except for
 * the offset. Topics come before their partitions, partitions in id order.
 */
export function imageRecords(image: MetadataImage): MetadataRecord[] {
  const records: MetadataRecord[] = [];
  if (image.clusterId !== null) records.push({ type: 'ClusterId', clusterId: image.clusterId });
  for (const b of image.brokers.values()) {
    const record: RegisterBrokerRecord = {
      type: 'RegisterBroker', brokerId: b.brokerId, brokerEpoch: b.brokerEpoch, host: b.host, port: b.port, rack: b.rack, fenced: b.fenced,
    };
    if (b.incarnationId !== null) record.incarnationId = b.incarnationId;
    if (b.inControlledShutdown) record.inControlledShutdown = true;
    if (b.supportedFeatures.length > 0) record.features = b.supportedFeatures.map((f) => ({ ...f }));
    records.push(record);
  }
  for (const [name, featureLevel] of image.features) records.push({ type: 'FeatureLevel', name, featureLevel });
  for (const t of image.topicsById.values()) {
    records.push({ type: 'Topic', name: t.name, topicId: t.topicId });
    for (const p of t.partitions) {
      records.push({
        type: 'Partition', topicId: p.topicId, partitionId: p.partitionId, replicas: [...p.replicas], isr: [...p.isr],
        leader: p.leader, leaderEpoch: p.leaderEpoch, partitionEpoch: p.partitionEpoch,
        ...(p.leaderRecoveryState === RECOVERING ? { leaderRecoveryState: RECOVERING } : {}),
      });
    }
  }
  for (const [key, overrides] of image.configs) {
    const { resourceType, resourceName } = splitConfigKey(key);
    for (const [name, value] of overrides) records.push({ type: 'Config', resourceType, resourceName, name, value });
  }
  if (image.nextProducerId > 0) records.push({ type: 'ProducerIds', brokerId: -1, nextProducerId: image.nextProducerId });
  return records;
}

function putPartition(b: ImageBuilder, r: PartitionRecord): void {
  const topic = b.topic(r.topicId);
  invariant(topic !== undefined, `Partition of unknown topic ${r.topicId}`);
  invariant(r.partitionId <= topic.partitions.length, `partition ${r.partitionId} of ${topic.name} is not dense`);
  b.partitionsW(topic)[r.partitionId] = Object.freeze({
    topicId: r.topicId, partitionId: r.partitionId, replicas: Object.freeze([...r.replicas]),
    isr: Object.freeze([...r.isr]), leader: r.leader, leaderEpoch: r.leaderEpoch, partitionEpoch: r.partitionEpoch,
    ...(r.leaderRecoveryState === RECOVERING ? { leaderRecoveryState: RECOVERING } : {}),
  });
  b.changedPartitionKeys.add(partitionKey(r.topicId, r.partitionId));
}

function changePartition(
  b: ImageBuilder,
  topicId: string,
  partitionId: number,
  change: { isr?: number[]; leader?: number; replicas?: number[]; leaderRecoveryState?: LeaderRecoveryState },
): void {
  const topic = b.topic(topicId);
  const current = topic?.partitions[partitionId];
  invariant(topic !== undefined && current !== undefined, `PartitionChange of unknown ${topicId}/${partitionId}`);
  const leaderChanged = change.leader !== undefined && change.leader !== current.leader;
  const recovering = (change.leaderRecoveryState ?? current.leaderRecoveryState) === RECOVERING;
  b.partitionsW(topic)[partitionId] = Object.freeze({
    topicId: current.topicId,
    partitionId: current.partitionId,
    replicas: Object.freeze([...(change.replicas ?? current.replicas)]),
    isr: Object.freeze([...(change.isr ?? current.isr)]),
    leader: change.leader ?? current.leader,
    leaderEpoch: leaderChanged ? current.leaderEpoch + 1 : current.leaderEpoch,
    partitionEpoch: current.partitionEpoch + 1,
    ...(recovering ? { leaderRecoveryState: RECOVERING } : {}),
  });
  b.changedPartitionKeys.add(partitionKey(topicId, partitionId));
}

function applyConfig(
  b: ImageBuilder,
  resourceType: ConfigResourceType,
  resourceName: string,
  name: string,
  value: string | null,
): void {
  const key = configKey(resourceType, resourceName);
  const next = new Map(b.configsW().get(key) ?? []);
  if (value === null) next.delete(name);
  else next.set(name, value);
  if (next.size === 0) b.configsW().delete(key);
  else b.configsW().set(key, next);
  b.changedConfigs.set(key, { resourceType, resourceName });
}
