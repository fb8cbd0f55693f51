/**
 * The controller's partition decisions (KRaft's ReplicationControlManager, reduced): leader and ISR
 * updates when a broker leaves or returns, AlterPartition (KIP-497, KIP-704 partition epochs and leader
 * recovery state, KIP-903 ineligible replicas), ElectLeaders (preferred and unclean, KIP-460) and the preferred-leader
 * rebalance. Pure functions of the image: the core (core.ts) passes who may lead.
 */
import type { RunnelConfig } from '../config/config.js';
import { configKey, type MetadataImage, type PartitionImage, type TopicImage } from '../metadata/image.js';
import { RECOVERED, RECOVERING, type LeaderRecoveryState, type PartitionChangeRecord } from '../metadata/records.js';
import { brokerConfigLayers, effectiveTopicConfig } from '../metadata/topic-configs.js';
import { ErrorCode } from '../protocol/errors.js';
import { buildPartitionChange, NO_LEADER, type ControllerBug, type Election, type PartitionChange } from './partition-change.js';
import type {
  AlterPartitionItem, AlterPartitionItemResult, ElectLeadersItemResult, ElectLeadersRequest,
} from './requests.js';

/** A leader moved (one structured log line each, issue #21 item 7). */
export interface LeaderElectionEvent {
  readonly event: 'leader-election';
  readonly topic: string;
  readonly partition: number;
  readonly oldLeader: number;
  readonly newLeader: number;
  readonly leaderEpoch: number;
  readonly unclean: boolean;
  readonly reason: string;
}

export interface PartitionUpdates {
  readonly records: PartitionChangeRecord[];
  readonly events: LeaderElectionEvent[];
}

/** ClusterControlManager.isActive: registered, unfenced, not in controlled shutdown. */
export function isActiveBroker(image: MetadataImage, brokerId: number): boolean {
  const b = image.brokers.get(brokerId);
  return b !== undefined && !b.fenced && !b.inControlledShutdown;
}

/** unclean.leader.election.enable of a topic: its override, else the cluster's dynamic default, else the static config. */
export function uncleanElectionEnabled(config: RunnelConfig, image: MetadataImage, topic: string): boolean {
  const layers = brokerConfigLayers(config, image, config['node.id']);
  const overrides = image.configs.get(configKey('topic', topic)) ?? new Map<string, string>();
  return effectiveTopicConfig(layers, overrides, 'unclean.leader.election.enable') === 'true';
}

export function* allPartitions(image: MetadataImage): Generator<[TopicImage, PartitionImage]> {
  for (const topic of image.topicsById.values()) {
    for (const p of topic.partitions) yield [topic, p];
  }
}

export function hasLeaderships(image: MetadataImage, brokerId: number): boolean {
  for (const [, p] of allPartitions(image)) if (p.leader === brokerId) return true;
  return false;
}

function electionEvent(topic: TopicImage, p: PartitionImage, change: PartitionChange, reason: string): LeaderElectionEvent | null {
  if (change.leader === p.leader) return null;
  return {
    event: 'leader-election', topic: topic.name, partition: p.partitionId, oldLeader: p.leader, newLeader: change.leader,
    leaderEpoch: change.leaderEpoch, unclean: change.unclean, reason,
  };
}

/**
 * ReplicationControlManager.generateLeaderAndIsrUpdates: for every partition `select`ed, the ISR without
 * `brokerToRemove` (never emptied) and a leader among the acceptable ISR members (`brokerToAdd` counts as
 * acceptable though the image still shows it fenced; `brokerToRemove` never does).
 */
export function leaderAndIsrUpdates(
  config: RunnelConfig,
  image: MetadataImage,
  brokerToRemove: number,
  brokerToAdd: number,
  select: (p: PartitionImage) => boolean,
  reason: string,
  bugs?: ReadonlySet<ControllerBug>,
): PartitionUpdates {
  const records: PartitionChangeRecord[] = [];
  const events: LeaderElectionEvent[] = [];
  const acceptable = (r: number): boolean => r !== brokerToRemove && (r === brokerToAdd || isActiveBroker(image, r));
  for (const topic of image.topicsById.values()) {
    let unclean: boolean | undefined;
    for (const p of topic.partitions) {
      if (!select(p)) continue;
      if (bugs?.has('keep-fenced-leader') === true && p.leader === brokerToRemove) continue;
      unclean ??= uncleanElectionEnabled(config, image, topic.name);
      const change = buildPartitionChange(p, {
        isAcceptableLeader: acceptable,
        election: unclean ? 'unclean' : 'online',
        targetIsr: brokerToRemove === NO_LEADER ? p.isr : p.isr.filter((r) => r !== brokerToRemove),
        bugs,
      });
      if (change.record === null) continue;
      records.push(change.record);
      const event = electionEvent(topic, p, change, reason);
      if (event !== null) events.push(event);
    }
  }
  return { records, events };
}

/**
 * Partition-epoch bumps for a broker that becomes eligible for ISRs again (unfenced, or registered
 * unfenced): a PartitionChange that changes nothing else for every partition that lists it as a replica
 * outside the ISR (`changed`: partitions this decision already changes, skipped).
 *
 * Why (controller simulation seed 146807): the controller refuses an AlterPartition that adds a fenced
 * broker (INELIGIBLE_REPLICA) and the leader, as Kafka's Partition.handleAlterPartitionError does, drops
 * the proposal and lets its high watermark count the committed ISR only. But another copy of the same
 * request can reach a controller later: ControllerClient.send retries an attempt that got no answer at
 * the next voter while the first copy may still be on its way (RpcClient keeps the connection open after
 * a timeout, and TCP delivers the bytes when the link heals), and that voter may be the active controller
 * by then. Fencing does not change a broker's epoch (KIP-631: only a new registration does), so once the
 * broker is unfenced the late copy names the current epochs and only active brokers, and would be
 * accepted: an ISR member without the records the leader acknowledged meanwhile. With the bump, every
 * proposal formed while the broker was ineligible names a stale partition epoch (INVALID_UPDATE_VERSION)
 * once it is eligible again, so an INELIGIBLE_REPLICA refusal is final, as the leader assumes. Kafka's
 * NodeToControllerChannelManager re-sends after a disconnect in the same way and its PartitionChangeBuilder
 * writes no record that changes nothing; this record is Runnel's addition (a PartitionChangeRecord with
 * only its ids is valid: replay bumps the partition epoch, as PartitionRegistration.merge does).
 */
export function eligibilityEpochBumps(image: MetadataImage, brokerId: number, changed: readonly PartitionChangeRecord[]): PartitionChangeRecord[] {
  const skip = new Set(changed.map((r) => `${r.topicId}\u0000${r.partitionId}`));
  const records: PartitionChangeRecord[] = [];
  for (const [, p] of allPartitions(image)) {
    if (!p.replicas.includes(brokerId) || p.isr.includes(brokerId)) continue;
    if (skip.has(`${p.topicId}\u0000${p.partitionId}`)) continue;
    records.push({ type: 'PartitionChange', topicId: p.topicId, partitionId: p.partitionId });
  }
  return records;
}

// ---- AlterPartition ----

function itemResult(
  item: AlterPartitionItem, errorCode: number,
  state?: { leader: number; leaderEpoch: number; isr: readonly number[]; partitionEpoch: number; leaderRecoveryState: LeaderRecoveryState },
): AlterPartitionItemResult {
  return {
    topicId: item.topicId, partitionId: item.partitionId, errorCode,
    leader: state?.leader ?? NO_LEADER, leaderEpoch: state?.leaderEpoch ?? -1, isr: [...(state?.isr ?? [])],
    partitionEpoch: state?.partitionEpoch ?? -1, leaderRecoveryState: state?.leaderRecoveryState ?? RECOVERED,
  };
}

/**
 * ReplicationControlManager.alterPartition for one partition of a request whose broker epoch was
 * already checked. The order of checks is Kafka's validateAlterPartitionData.
 */
export function alterPartitionItem(
  config: RunnelConfig, image: MetadataImage, brokerId: number, item: AlterPartitionItem, bugs?: ReadonlySet<ControllerBug>,
): { result: AlterPartitionItemResult; change: PartitionUpdates } {
  const none: PartitionUpdates = { records: [], events: [] };
  const topic = image.topicsById.get(item.topicId);
  if (topic === undefined) return { result: itemResult(item, ErrorCode.UNKNOWN_TOPIC_ID), change: none };
  const p = topic.partitions[item.partitionId];
  if (p === undefined) return { result: itemResult(item, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION), change: none };
  const fail = (code: number): { result: AlterPartitionItemResult; change: PartitionUpdates } => ({ result: itemResult(item, code), change: none });
  // A leader that knows a newer epoch than this controller is talking to a stale controller.
  if (item.leaderEpoch > p.leaderEpoch || item.partitionEpoch > p.partitionEpoch) return fail(ErrorCode.NOT_CONTROLLER);
  if (item.leaderEpoch < p.leaderEpoch) return fail(ErrorCode.FENCED_LEADER_EPOCH);
  if (brokerId !== p.leader) return fail(ErrorCode.INVALID_REQUEST);
  if (item.partitionEpoch < p.partitionEpoch && bugs?.has('accept-stale-partition-epoch') !== true) return fail(ErrorCode.INVALID_UPDATE_VERSION);
  const newIsr = item.newIsr;
  if (new Set(newIsr).size !== newIsr.length || !newIsr.every((r) => p.replicas.includes(r))) return fail(ErrorCode.INVALID_REQUEST);
  if (!newIsr.includes(p.leader)) return fail(ErrorCode.INVALID_REQUEST);
  // KIP-704: a leader still recovering from an unclean election keeps the ISR to itself, and a recovered
  // partition does not go back to recovering (an unclean election is the only way in).
  const recovery = item.leaderRecoveryState ?? RECOVERED;
  if (recovery === RECOVERING && newIsr.length > 1) return fail(ErrorCode.INVALID_REQUEST);
  if ((p.leaderRecoveryState ?? RECOVERED) === RECOVERED && recovery === RECOVERING) return fail(ErrorCode.INVALID_REQUEST);
  // KIP-903: a fenced or departing broker cannot be (re)admitted to the ISR.
  if (!newIsr.every((r) => isActiveBroker(image, r))) return fail(ErrorCode.INELIGIBLE_REPLICA);
  const unclean = uncleanElectionEnabled(config, image, topic.name);
  const change = buildPartitionChange(p, {
    isAcceptableLeader: (r) => isActiveBroker(image, r), election: unclean ? 'unclean' : 'online', targetIsr: newIsr,
    targetLeaderRecoveryState: recovery, bugs,
  });
  const records = change.record === null ? [] : [change.record];
  const event = electionEvent(topic, p, change, 'alter-partition');
  // Kafka answers NEW_LEADER_ELECTED when the change moved the leadership away from the requester.
  const errorCode = change.leader !== brokerId ? ErrorCode.NEW_LEADER_ELECTED : ErrorCode.NONE;
  return { result: itemResult(item, errorCode, change), change: { records, events: event === null ? [] : [event] } };
}

// ---- ElectLeaders ----

export function electLeaders(
  config: RunnelConfig, image: MetadataImage, request: ElectLeadersRequest,
): { results: ElectLeadersItemResult[]; change: PartitionUpdates } {
  const records: PartitionChangeRecord[] = [];
  const events: LeaderElectionEvent[] = [];
  const results: ElectLeadersItemResult[] = [];
  const all = request.partitions === null;
  const targets: { topic: string; partitionId: number }[] = all
    ? [...allPartitions(image)].map(([t, p]) => ({ topic: t.name, partitionId: p.partitionId }))
    : [...request.partitions!];
  const seen = new Set<string>();
  for (const target of targets) {
    const key = `${target.topic}\u0000${target.partitionId}`;
    if (seen.has(key)) continue;
    seen.add(key);
    const topicId = image.topicIdsByName.get(target.topic);
    const topic = topicId === undefined ? undefined : image.topicsById.get(topicId);
    const p = topic?.partitions[target.partitionId];
    if (topic === undefined || p === undefined) {
      results.push({ ...target, errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, message: 'The partition does not exist.' });
      continue;
    }
    const preferred = request.electionType === 0;
    if (preferred ? p.leader === p.replicas[0] : p.leader !== NO_LEADER) {
      // Kafka leaves these out when electing for every partition.
      if (!all) results.push({ ...target, errorCode: ErrorCode.ELECTION_NOT_NEEDED, message: 'Leader election not needed for topic partition.' });
      continue;
    }
    const election: Election = preferred ? 'preferred' : 'unclean';
    const change = buildPartitionChange(p, { isAcceptableLeader: (r) => isActiveBroker(image, r), election });
    if (change.record === null) {
      results.push(preferred
        ? { ...target, errorCode: ErrorCode.PREFERRED_LEADER_NOT_AVAILABLE, message: `Failed to elect leader for partition ${target.topic}-${target.partitionId} under strategy PreferredReplicaPartitionLeaderElectionStrategy` }
        : { ...target, errorCode: ErrorCode.ELIGIBLE_LEADERS_NOT_AVAILABLE, message: `Failed to elect leader for partition ${target.topic}-${target.partitionId} under strategy UncleanPartitionLeaderElectionStrategy` });
      continue;
    }
    records.push(change.record);
    const event = electionEvent(topic, p, change, preferred ? 'elect-leaders-preferred' : 'elect-leaders-unclean');
    if (event !== null) events.push(event);
    results.push({ ...target, errorCode: ErrorCode.NONE, message: null });
  }
  return { results, change: { records, events } };
}

// ---- automatic preferred-leader rebalance ----

/** Kafka's bound on elections per imbalance pass (QuorumController maxElectionsPerImbalance). */
export const ELECTIONS_PER_REBALANCE_MAX = 1000;

/**
 * Preferred-leader elections for every broker whose preferred partitions are led elsewhere beyond
 * `imbalancePercentage` (KafkaController.checkAndTriggerAutoLeaderRebalance's per-broker ratio; KRaft's
 * maybeBalancePartitionLeaders then elects each such partition whose preferred replica can lead).
 */
export function rebalanceLeaders(image: MetadataImage, imbalancePercentage: number): PartitionUpdates {
  const preferredCount = new Map<number, number>();
  const notLed = new Map<number, [TopicImage, PartitionImage][]>();
  for (const [topic, p] of allPartitions(image)) {
    const preferred = p.replicas[0];
    if (preferred === undefined) continue;
    preferredCount.set(preferred, (preferredCount.get(preferred) ?? 0) + 1);
    if (p.leader !== preferred) {
      const list = notLed.get(preferred) ?? [];
      list.push([topic, p]);
      notLed.set(preferred, list);
    }
  }
  const records: PartitionChangeRecord[] = [];
  const events: LeaderElectionEvent[] = [];
  for (const [brokerId, partitions] of [...notLed].sort((a, b) => a[0] - b[0])) {
    if (!isActiveBroker(image, brokerId)) continue;
    const ratio = (partitions.length * 100) / preferredCount.get(brokerId)!;
    if (ratio <= imbalancePercentage) continue;
    for (const [topic, p] of partitions) {
      if (records.length >= ELECTIONS_PER_REBALANCE_MAX) return { records, events };
      if (!p.isr.includes(brokerId)) continue;
      const change = buildPartitionChange(p, { isAcceptableLeader: (r) => isActiveBroker(image, r), election: 'preferred' });
      if (change.record === null || change.leader !== brokerId) continue;
      records.push(change.record);
      const event = electionEvent(topic, p, change, 'preferred-leader-rebalance');
      if (event !== null) events.push(event);
    }
  }
  return { records, events };
}

/** Leaderless partitions of topics that allow unclean election, led again by any live replica (Kafka's periodic electUncleanLeaders). */
export function uncleanElections(config: RunnelConfig, image: MetadataImage): PartitionUpdates {
  const records: PartitionChangeRecord[] = [];
  const events: LeaderElectionEvent[] = [];
  for (const topic of image.topicsById.values()) {
    if (!topic.partitions.some((p) => p.leader === NO_LEADER)) continue;
    if (!uncleanElectionEnabled(config, image, topic.name)) continue;
    for (const p of topic.partitions) {
      if (p.leader !== NO_LEADER) continue;
      const change = buildPartitionChange(p, { isAcceptableLeader: (r) => isActiveBroker(image, r), election: 'unclean' });
      if (change.record === null) continue;
      records.push(change.record);
      const event = electionEvent(topic, p, change, 'unclean-election');
      if (event !== null) events.push(event);
    }
  }
  return { records, events };
}
