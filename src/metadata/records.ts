/**
 * Metadata records: the one ordered log of cluster metadata (DESIGN §5). Modelled on KRaft's metadata
 * records (../shared/kafka-metadata-record-specs: TopicRecord, PartitionRecord, PartitionChangeRecord,
 * ConfigRecord, RemoveTopicRecord, RegisterBrokerRecord, FenceBrokerRecord, ProducerIdsRecord, FeatureLevelRecord), reduced
 * to the fields Runnel uses. Records are plain JSON-serialisable objects: the standalone metadata log and
 * the Raft log both carry them as opaque bytes (`encodeMetadataRecords`).
 */

export type ConfigResourceType = 'topic' | 'broker' | 'group';

export interface RegisterBrokerRecord {
  type: 'RegisterBroker';
  brokerId: number;
  brokerEpoch: number;
  host: string;
  port: number;
  rack: string | null;
  fenced: boolean;
  /**
   * KIP-631: a fresh id per broker process start. A registration with the same id is a retry; a new id
   * is a restart (new broker epoch). Absent in records written before incarnations were kept.
   */
  incarnationId?: string;
  /** KIP-841: the broker asked for a controlled shutdown (kept across a same-incarnation retry). */
  inControlledShutdown?: boolean;
  /**
   * RegisterBrokerRecord's Features: the feature levels this broker's software supports. The controller
   * finalizes a level only if every registered broker supports it. Absent: none (a broker registered
   * before Runnel kept them supports only level 0 of every feature).
   */
  features?: BrokerFeatureRange[];
}

/** One entry of RegisterBrokerRecord's Features (BrokerRegistrationRequest's Feature). */
export interface BrokerFeatureRange {
  name: string;
  minSupportedVersion: number;
  maxSupportedVersion: number;
}

export interface FenceBrokerRecord {
  type: 'FenceBroker';
  brokerId: number;
  brokerEpoch: number;
}

export interface UnfenceBrokerRecord {
  type: 'UnfenceBroker';
  brokerId: number;
  brokerEpoch: number;
}

/**
 * KRaft's BrokerRegistrationChangeRecord, reduced to what Runnel changes with it: entering controlled
 * shutdown (KIP-841 keeps it in the log, so a new active controller still knows the broker is leaving).
 * Absent fields are unchanged.
 */
export interface BrokerRegistrationChangeRecord {
  type: 'BrokerRegistrationChange';
  brokerId: number;
  brokerEpoch: number;
  inControlledShutdown?: boolean;
}

export interface TopicRecord {
  type: 'Topic';
  name: string;
  topicId: string;
}

export interface PartitionRecord {
  type: 'Partition';
  topicId: string;
  partitionId: number;
  replicas: number[];
  isr: number[];
  leader: number;
  leaderEpoch: number;
  partitionEpoch: number;
  /** KIP-704: RECOVERING after an unclean election; absent = RECOVERED (the record spec's default 0). */
  leaderRecoveryState?: LeaderRecoveryState;
}

/**
 * KIP-704's LeaderRecoveryState (org.apache.kafka.metadata.LeaderRecoveryState): RECOVERED (0) when the
 * leader was elected from the ISR or has recovered from an unclean election, RECOVERING (1) when it was
 * elected outside the ISR and has not reported RECOVERED yet (through AlterPartition).
 */
export type LeaderRecoveryState = 0 | 1;
export const RECOVERED: LeaderRecoveryState = 0;
export const RECOVERING: LeaderRecoveryState = 1;

/**
 * A change to one partition. Absent fields are unchanged. A change of leader bumps the leader epoch
 * (KIP-101 fencing); every change bumps the partition epoch (KIP-704's AlterPartition checks).
 */
export interface PartitionChangeRecord {
  type: 'PartitionChange';
  topicId: string;
  partitionId: number;
  isr?: number[];
  leader?: number;
  replicas?: number[];
  /** KIP-704; absent = unchanged (the record spec's default -1). */
  leaderRecoveryState?: LeaderRecoveryState;
}

/** value null deletes the override (KRaft's ConfigRecord with a null value). */
export interface ConfigRecord {
  type: 'Config';
  resourceType: ConfigResourceType;
  resourceName: string;
  name: string;
  value: string | null;
}

export interface RemoveTopicRecord {
  type: 'RemoveTopic';
  topicId: string;
}

/** The next producer id block starts at nextProducerId (KIP-730). */
export interface ProducerIdsRecord {
  type: 'ProducerIds';
  brokerId: number;
  nextProducerId: number;
}

/**
 * The cluster's id, written once by the first active controller (Kafka writes it with `kafka-storage
 * format`; Runnel has no format step). Every node checks it against its meta.properties.
 */
export interface ClusterIdRecord {
  type: 'ClusterId';
  clusterId: string;
}

/**
 * FeatureLevelRecord (KIP-584 / KIP-778): the cluster's finalized level of one feature; level 0 removes it
 * (FeatureControlManager.replay). Written by UpdateFeatures and when the cluster is first formed.
 */
export interface FeatureLevelRecord {
  type: 'FeatureLevel';
  name: string;
  featureLevel: number;
}

export type MetadataRecord =
  | ClusterIdRecord
  | FeatureLevelRecord
  | RegisterBrokerRecord
  | FenceBrokerRecord
  | UnfenceBrokerRecord
  | BrokerRegistrationChangeRecord
  | TopicRecord
  | PartitionRecord
  | PartitionChangeRecord
  | ConfigRecord
  | RemoveTopicRecord
  | ProducerIdsRecord;

const RECORD_TYPES: ReadonlySet<string> = new Set([
  'ClusterId', 'RegisterBroker', 'FenceBroker', 'UnfenceBroker', 'BrokerRegistrationChange', 'Topic', 'Partition', 'PartitionChange', 'Config',
  'RemoveTopic', 'ProducerIds', 'FeatureLevel',
]);

export function encodeMetadataRecords(records: readonly MetadataRecord[]): Buffer {
  return Buffer.from(JSON.stringify(records), 'utf8');
}

/**
 * Encodes records as consecutive batches of about targetBytes each (at least one record per batch),
 * each record serialised once; every batch decodes like one from encodeMetadataRecords.
 */
export function encodeMetadataRecordBatches(records: readonly MetadataRecord[], targetBytes: number): Buffer[] {
  const batches: Buffer[] = [];
  let parts: string[] = [];
  let bytes = 0;
  for (const record of records) {
    const json = JSON.stringify(record);
    parts.push(json);
    bytes += json.length + 1;
    if (bytes >= targetBytes) {
      batches.push(Buffer.from(`[${parts.join(',')}]`, 'utf8'));
      parts = [];
      bytes = 0;
    }
  }
  if (parts.length > 0) batches.push(Buffer.from(`[${parts.join(',')}]`, 'utf8'));
  return batches;
}

/** Throws on anything that is not an array of known records: metadata bytes come from our own log. */
export function decodeMetadataRecords(bytes: Uint8Array): MetadataRecord[] {
  const parsed: unknown = JSON.parse(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8'));
  if (!Array.isArray(parsed)) throw new Error('metadata batch is not an array');
  for (const r of parsed) {
    if (typeof r !== 'object' || r === null || !RECORD_TYPES.has((r as { type?: unknown }).type as string)) {
      throw new Error(`unknown metadata record ${JSON.stringify(r)}`);
    }
  }
  return parsed as MetadataRecord[];
}
