/**
 * The controller's inputs and outputs as plain data (DESIGN §5): every request a broker or a handler
 * sends to the active controller, and every answer, is JSON-serialisable, so the same request travels
 * as a local call on the active controller or over the controller listener from any other node
 * (KRaft's BrokerRegistration, BrokerHeartbeat, AlterPartition, AllocateProducerIds, CreateTopics,
 * DeleteTopics, CreatePartitions, (Incremental)AlterConfigs, ElectLeaders and UpdateFeatures, reduced to what
 * Runnel uses).
 *
 * `ControllerApi` maps each request type to its request fields and its success value; an answer is
 * either `{ ok: true, value }` or Kafka's error code with a message.
 */
import type { AlterableConfig, ConfigResourceInput, CreatePartitionsInput, CreateTopicInput } from './admin.js';
import type { BrokerFeatureRange, LeaderRecoveryState } from '../metadata/records.js';
import type { FeatureUpdateInput } from './feature-control.js';

export interface RegisterBrokerRequest {
  readonly brokerId: number;
  /** A fresh random id per process start (KIP-631): a new incarnation is a restart, not a retry. */
  readonly incarnationId: string;
  /**
   * Runnel's own, beyond KIP-631: the incarnation id this broker's previous process registered with,
   * read from its data directory under the directory's lock (src/node/broker-incarnation.ts). Holding
   * that lock proves the previous process is dead, so the controller may end its session at once
   * instead of waiting `broker.session.timeout.ms`. Absent: unknown (Kafka's rule applies). Carried in
   * the controller RPC's JSON, where an older controller ignores it.
   */
  readonly previousIncarnationId?: string;
  readonly clusterId: string;
  readonly host: string;
  readonly port: number;
  readonly rack: string | null;
  /** BrokerRegistrationRequest's Features: what this broker's software supports (absent: none named). */
  readonly features?: readonly BrokerFeatureRange[];
}

export interface RegisterBrokerResult {
  readonly brokerEpoch: number;
}

export interface BrokerHeartbeatRequest {
  readonly brokerId: number;
  readonly brokerEpoch: number;
  /** The highest metadata offset this broker has applied: it is unfenced only once caught up. */
  readonly currentMetadataOffset: number;
  readonly wantFence: boolean;
  /** Controlled shutdown (KIP-631): move this broker's leaderships away, then let it stop. */
  readonly wantShutDown: boolean;
}

export interface BrokerHeartbeatResult {
  readonly isCaughtUp: boolean;
  readonly isFenced: boolean;
  /** True once no partition still has this broker as its leader; the broker may exit. */
  readonly shouldShutDown: boolean;
}

export interface AlterPartitionItem {
  readonly topicId: string;
  readonly partitionId: number;
  readonly leaderEpoch: number;
  readonly partitionEpoch: number;
  readonly newIsr: readonly number[];
  /** KIP-704: the leader's recovery state; absent = RECOVERED (AlterPartition's default, as v0). */
  readonly leaderRecoveryState?: LeaderRecoveryState;
}

export interface AlterPartitionRequest {
  readonly brokerId: number;
  readonly brokerEpoch: number;
  readonly partitions: readonly AlterPartitionItem[];
}

/** Per partition: NONE with the committed state, or FENCED_LEADER_EPOCH, INVALID_UPDATE_VERSION, … */
export interface AlterPartitionItemResult {
  readonly topicId: string;
  readonly partitionId: number;
  readonly errorCode: number;
  readonly leader: number;
  readonly leaderEpoch: number;
  readonly isr: readonly number[];
  readonly partitionEpoch: number;
  readonly leaderRecoveryState: LeaderRecoveryState;
}

export interface AlterPartitionResult {
  readonly partitions: readonly AlterPartitionItemResult[];
}

export interface CreateTopicRequest {
  readonly topic: CreateTopicInput;
  readonly validateOnly: boolean;
}

export interface CreateTopicResult {
  readonly topicId: string;
  readonly numPartitions: number;
  readonly replicationFactor: number;
  /** The topic's config overrides as [name, value] pairs. */
  readonly overrides: readonly (readonly [string, string])[];
}

/** Metadata auto-creation and internal topics (Kafka's AutoTopicCreationManager). */
export interface AutoCreateTopicRequest {
  readonly name: string;
  readonly numPartitions: number;
  readonly replicationFactor: number;
  readonly configs: readonly (readonly [string, string])[];
}

export interface AutoCreateTopicResult {
  readonly topicId: string;
}

export interface DeleteTopicRequest {
  /** By name, or by id when name is null (DeleteTopics v6+). */
  readonly name: string | null;
  readonly topicId: string | null;
}

export interface DeleteTopicResult {
  readonly name: string;
  readonly topicId: string;
}

export interface CreatePartitionsRequest {
  readonly input: CreatePartitionsInput;
  readonly validateOnly: boolean;
}

export interface CreatePartitionsResult {
  readonly count: number;
}

export interface AlterConfigsRequest {
  readonly resource: ConfigResourceInput;
  readonly configs: readonly AlterableConfig[];
  readonly mode: 'incremental' | 'replace';
  readonly validateOnly: boolean;
  /** The node the request arrived at (BROKER resources name it). */
  readonly nodeId: number;
}

export interface AllocateProducerIdsRequest {
  readonly brokerId: number;
  readonly brokerEpoch: number;
}

export interface AllocateProducerIdsResult {
  readonly producerIdStart: number;
  readonly producerIdLen: number;
}

/** Kafka's ElectionType: 0 preferred, 1 unclean. */
export interface ElectLeadersRequest {
  readonly electionType: 0 | 1;
  /** null: every partition (kafka-leader-election --all-topic-partitions). */
  readonly partitions: readonly { readonly topic: string; readonly partitionId: number }[] | null;
}

export interface ElectLeadersItemResult {
  readonly topic: string;
  readonly partitionId: number;
  /** NONE, ELECTION_NOT_NEEDED, PREFERRED_LEADER_NOT_AVAILABLE, ELIGIBLE_LEADERS_NOT_AVAILABLE, UNKNOWN_TOPIC_OR_PARTITION */
  readonly errorCode: number;
  readonly message: string | null;
}

export interface ElectLeadersResult {
  readonly partitions: readonly ElectLeadersItemResult[];
}

/** UpdateFeatures of the features finalized in the metadata log (src/controller/feature-control.ts). */
export interface UpdateFeaturesRequest {
  readonly updates: readonly FeatureUpdateInput[];
  readonly validateOnly: boolean;
}

/** Request type → [request fields, success value]. */
export interface ControllerApi {
  registerBroker: [RegisterBrokerRequest, RegisterBrokerResult];
  brokerHeartbeat: [BrokerHeartbeatRequest, BrokerHeartbeatResult];
  alterPartition: [AlterPartitionRequest, AlterPartitionResult];
  createTopic: [CreateTopicRequest, CreateTopicResult];
  autoCreateTopic: [AutoCreateTopicRequest, AutoCreateTopicResult];
  deleteTopic: [DeleteTopicRequest, DeleteTopicResult];
  createPartitions: [CreatePartitionsRequest, CreatePartitionsResult];
  alterConfigs: [AlterConfigsRequest, null];
  allocateProducerIds: [AllocateProducerIdsRequest, AllocateProducerIdsResult];
  electLeaders: [ElectLeadersRequest, ElectLeadersResult];
  updateFeatures: [UpdateFeaturesRequest, null];
}

export type ControllerRequestType = keyof ControllerApi;

export type ControllerRequestOf<K extends ControllerRequestType> = { readonly type: K } & ControllerApi[K][0];

export type ControllerRequest = { [K in ControllerRequestType]: ControllerRequestOf<K> }[ControllerRequestType];

export type ControllerOutcome<T> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly errorCode: number; readonly message: string | null };

export type ControllerOutcomeOf<K extends ControllerRequestType> = ControllerOutcome<ControllerApi[K][1]>;

/**
 * How a broker (or a handler on it) reaches the active controller. In-process on the active controller,
 * over the controller listener elsewhere; either way the answer comes only after the records it
 * depends on are committed. Transport failures, a lost controller and timeouts come back as Kafka
 * errors (NOT_CONTROLLER, REQUEST_TIMED_OUT), never as a rejected promise.
 */
export interface ControllerChannel {
  send<K extends ControllerRequestType>(request: ControllerRequestOf<K>, timeoutMs: number): Promise<ControllerOutcomeOf<K>>;
}
