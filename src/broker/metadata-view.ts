/**
 * What the Metadata and DescribeCluster handlers need to know about the cluster. The metadata image
 * (src/metadata) implements this once topics exist; until then `SingleNodeMetadataView` serves one
 * broker and no topics. Handlers read only through this interface, so the topic part plugs in without
 * touching them.
 */

export interface BrokerEndpoint {
  readonly nodeId: number;
  /** The advertised host and port (advertised.listeners, else the bound listener). */
  readonly host: string;
  readonly port: number;
  readonly rack: string | null;
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
