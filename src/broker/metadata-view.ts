/**
 * What the Metadata and DescribeCluster handlers need to know about the cluster. `ImageMetadataView`
 * answers from the metadata image (src/metadata) as the loader holds it right now; `SingleNodeMetadataView`
 * is one broker with no topics (handler tests). Handlers read only through this interface.
 */
import type { MetadataLoader } from '../metadata/loader.js';
import type { MetadataImage, PartitionImage, TopicImage } from '../metadata/image.js';
import { isInternalTopic } from '../controller/topic-records.js';
import { ErrorCode } from '../protocol/errors.js';

export interface BrokerEndpoint {
  readonly nodeId: number;
  /** The advertised host and port (advertised.listeners, else the bound listener). */
  readonly host: string;
  readonly port: number;
  readonly rack: string | null;
}

/** A registered broker, fenced or not (DescribeCluster v2 can list fenced ones, KIP-1073). */
export interface RegisteredBroker extends BrokerEndpoint {
  readonly fenced: boolean;
}

export interface PartitionMetadata {
  readonly partitionIndex: number;
  /** Kafka's error code for this partition (0: none; e.g. LEADER_NOT_AVAILABLE while electing). */
  readonly errorCode: number;
  readonly leaderId: number;
  readonly leaderEpoch: number;
  readonly replicaNodes: readonly number[];
  readonly isrNodes: readonly number[];
  readonly offlineReplicas: readonly number[];
}

export interface TopicMetadata {
  readonly name: string;
  /** Dashed-hex uuid, as the protocol codecs carry uuids. */
  readonly topicId: string;
  readonly isInternal: boolean;
  readonly partitions: readonly PartitionMetadata[];
}

export interface MetadataView {
  readonly clusterId: string;
  /** The active controller's node id (-1 when unknown). */
  readonly controllerId: number;
  /** Live (unfenced) brokers. */
  brokers(): readonly BrokerEndpoint[];
  /** Every registered broker with its fenced flag, by broker id (Kafka's MetadataCache.getBrokerNodes). */
  registeredBrokers(): readonly RegisteredBroker[];
  /** Every topic, in a stable order. */
  topics(): Iterable<TopicMetadata>;
  topicByName(name: string): TopicMetadata | undefined;
  topicById(topicId: string): TopicMetadata | undefined;
}

/** One broker that is its own controller, with no topics yet. */
export class SingleNodeMetadataView implements MetadataView {
  readonly controllerId: number;
  private readonly self: readonly BrokerEndpoint[];

  constructor(readonly clusterId: string, broker: BrokerEndpoint) {
    this.controllerId = broker.nodeId;
    this.self = Object.freeze([Object.freeze({ ...broker })]);
  }

  brokers(): readonly BrokerEndpoint[] {
    return this.self;
  }

  registeredBrokers(): readonly RegisteredBroker[] {
    return this.self.map((b) => ({ ...b, fenced: false }));
  }

  topics(): Iterable<TopicMetadata> {
    return [];
  }

  topicByName(): TopicMetadata | undefined {
    return undefined;
  }

  topicById(): TopicMetadata | undefined {
    return undefined;
  }
}

/**
 * The metadata image as the Metadata API shows it (KRaft's KRaftMetadataCache): live brokers are the
 * registered, unfenced ones; a partition whose leader is not live is LEADER_NOT_AVAILABLE with leader
 * -1; replicas on brokers that are not live are offline. Topic views are built once per image.
 */
/**
 * Where this node's own leadership stands in the replica manager. A partition the image says this node
 * leads is shown only once the replica manager leads it at that epoch (its log is open): Kafka's
 * broker updates its metadata cache and its replica manager from the same metadata publisher, so a
 * client never sees a leader that cannot take its produce yet. Without this, a fresh topic's first
 * produce could half-fail with NOT_LEADER_OR_FOLLOWER, and non-idempotent clients that retry the whole
 * request (KafkaJS) would duplicate the partitions that succeeded.
 */
export interface LocalLeadership {
  readonly leadershipVersion: number;
  partitionByTopicId(topicId: string, partition: number): { readonly isLeader: boolean; readonly leaderEpoch: number } | undefined;
}

export class ImageMetadataView implements MetadataView {
  private cachedImage: MetadataImage | null = null;
  private cachedLeadershipVersion = -1;
  private cachedBrokers: readonly BrokerEndpoint[] = [];
  private cachedRegistered: readonly RegisteredBroker[] = [];
  private cachedTopics = new Map<string, TopicMetadata>();

  constructor(
    readonly clusterId: string,
    controllerId: number | (() => number),
    private readonly loader: MetadataLoader,
    private readonly localLeadership?: LocalLeadership,
    private readonly nodeId = typeof controllerId === 'number' ? controllerId : -1,
  ) {
    this.controllerIdOf = typeof controllerId === 'number' ? () => controllerId : controllerId;
  }

  private readonly controllerIdOf: () => number;

  /** The active controller as this node knows it now (-1: unknown). */
  get controllerId(): number {
    return this.controllerIdOf();
  }

  brokers(): readonly BrokerEndpoint[] {
    this.refresh();
    return this.cachedBrokers;
  }

  registeredBrokers(): readonly RegisteredBroker[] {
    this.refresh();
    return this.cachedRegistered;
  }

  topics(): Iterable<TopicMetadata> {
    this.refresh();
    return this.cachedTopics.values();
  }

  topicByName(name: string): TopicMetadata | undefined {
    this.refresh();
    return this.cachedTopics.get(name);
  }

  topicById(topicId: string): TopicMetadata | undefined {
    const topic = this.loader.image.topicsById.get(topicId);
    return topic === undefined ? undefined : this.topicByName(topic.name);
  }

  private refresh(): void {
    const image = this.loader.image;
    const leadershipVersion = this.localLeadership?.leadershipVersion ?? 0;
    if (image === this.cachedImage && leadershipVersion === this.cachedLeadershipVersion) return;
    const live = new Set<number>();
    const brokers: BrokerEndpoint[] = [];
    const registered: RegisteredBroker[] = [];
    for (const broker of [...image.brokers.values()].sort((a, b) => a.brokerId - b.brokerId)) {
      const endpoint = { nodeId: broker.brokerId, host: broker.host, port: broker.port, rack: broker.rack };
      registered.push(Object.freeze({ ...endpoint, fenced: broker.fenced }));
      if (broker.fenced) continue;
      live.add(broker.brokerId);
      brokers.push(Object.freeze(endpoint));
    }
    const topics = new Map<string, TopicMetadata>();
    const sorted = [...image.topicsById.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    const leads = (p: PartitionImage): boolean => this.leaderReady(p);
    for (const topic of sorted) topics.set(topic.name, topicMetadata(topic, live, leads));
    this.cachedBrokers = Object.freeze(brokers);
    this.cachedRegistered = Object.freeze(registered);
    this.cachedTopics = topics;
    this.cachedImage = image;
    this.cachedLeadershipVersion = leadershipVersion;
  }

  /** A live leader elsewhere is taken as is; this node's own leadership must be in effect locally. */
  private leaderReady(p: PartitionImage): boolean {
    if (p.leader !== this.nodeId || this.localLeadership === undefined) return true;
    const hosted = this.localLeadership.partitionByTopicId(p.topicId, p.partitionId);
    return hosted !== undefined && hosted.isLeader && hosted.leaderEpoch === p.leaderEpoch;
  }
}

function topicMetadata(topic: TopicImage, live: ReadonlySet<number>, leaderReady: (p: PartitionImage) => boolean): TopicMetadata {
  return Object.freeze({
    name: topic.name,
    topicId: topic.topicId,
    isInternal: isInternalTopic(topic.name),
    partitions: Object.freeze(topic.partitions.map((p) => {
      const leaderLive = live.has(p.leader) && leaderReady(p);
      return Object.freeze({
        partitionIndex: p.partitionId,
        errorCode: leaderLive ? ErrorCode.NONE : ErrorCode.LEADER_NOT_AVAILABLE,
        leaderId: leaderLive ? p.leader : -1,
        leaderEpoch: p.leaderEpoch,
        replicaNodes: p.replicas,
        isrNodes: p.isr,
        offlineReplicas: Object.freeze(p.replicas.filter((r) => !live.has(r))),
      });
    })),
  });
}
