/**
 * The controller's decisions, free of IO (DESIGN §5, STYLE.md 1): a request and the latest committed
 * metadata image in, the records to propose (one atomic batch) and the answer to send once they are
 * committed out. Time comes in as `nowMs`; the shell (quorum-controller.ts) owns the queue, the
 * metadata log writer and the timers. Only the active controller runs one, and it runs requests one at
 * a time, each against the image that holds every earlier decision.
 *
 * Broker lifecycle (KIP-631, KRaft's ClusterControlManager + BrokerHeartbeatManager): a broker registers
 * with an incarnation id and starts FENCED; its heartbeats unfence it once it has applied the metadata
 * log up to its registration; a broker silent for `broker.session.timeout.ms` is fenced and its
 * leaderships move; a heartbeat asking to shut down moves its leaderships away first (controlled
 * shutdown, KIP-841) and is told to stop once it leads nothing and the other brokers have seen that.
 * Session state (last heartbeat, reported metadata offset) is the active controller's memory, not
 * metadata, as in BrokerHeartbeatManager: a newly active controller starts every session at activation.
 *
 * Each decision also reports `events` (broker fenced/unfenced, leader elections) for the shell to log
 * once the records are committed (issue #21 item 7).
 */
import type { RunnelConfig } from '../config/config.js';
import { topicByName, type MetadataImage, type TopicImage } from '../metadata/image.js';
import { RECOVERED, type MetadataRecord, type PartitionChangeRecord } from '../metadata/records.js';
import { ErrorCode } from '../protocol/errors.js';
import {
  brokerPartitionsError, planAlterConfigs, planCreatePartitions, planCreateTopic, planDeleteTopic, type Plan,
} from './admin.js';
import { planUpdateFeatures, registrationFeatureProblem } from './feature-control.js';
import { placementStart, usableBrokers } from './placement.js';
import { planProducerIdBlock, PRODUCER_ID_BLOCK_SIZE } from './producer-ids.js';
import {
  alterPartitionItem, electLeaders, eligibilityEpochBumps, hasLeaderships, isActiveBroker, leaderAndIsrUpdates, rebalanceLeaders, uncleanElections,
  type LeaderElectionEvent, type PartitionUpdates,
} from './replication-control.js';
import { NO_LEADER, type ControllerBug } from './partition-change.js';
import { randomTopicId, TopicCreationError, topicCreationRecords } from './topic-records.js';
import type {
  AlterPartitionItemResult, ControllerOutcomeOf, ControllerRequest, ControllerRequestOf, ControllerRequestType,
} from './requests.js';

export type ControllerEvent =
  | {
    readonly event: 'broker-registered'; readonly brokerId: number; readonly brokerEpoch: number;
    readonly incarnationId: string; readonly restarted: boolean;
  }
  | {
    readonly event: 'broker-fenced'; readonly brokerId: number; readonly brokerEpoch: number;
    readonly reason: 'session-timeout' | 'requested' | 'shutdown' | 'restarted';
  }
  | { readonly event: 'broker-unfenced'; readonly brokerId: number; readonly brokerEpoch: number }
  | { readonly event: 'broker-controlled-shutdown'; readonly brokerId: number; readonly brokerEpoch: number }
  | LeaderElectionEvent;

export interface ControllerDecision<K extends ControllerRequestType = ControllerRequestType> {
  readonly records: readonly MetadataRecord[];
  readonly outcome: ControllerOutcomeOf<K>;
  /** What these records do, for one log line each once committed. */
  readonly events: readonly ControllerEvent[];
}

export interface ControllerTickResult {
  readonly records: readonly MetadataRecord[];
  readonly events: readonly ControllerEvent[];
}

/**
 * 'heartbeats': KIP-631 as above. 'registration-only': a registration is unfenced at once and sessions
 * never expire — for a broker process that does not send heartbeats yet; the cluster wiring switches
 * to 'heartbeats'.
 */
export type BrokerLifecycle = 'heartbeats' | 'registration-only';

export interface ControllerCoreOptions {
  readonly config: RunnelConfig;
  /** Topic ids are random; tests and the simulator inject a seeded source. */
  readonly newTopicId?: () => string;
  /** The cluster's id (meta.properties): a registration naming another is INCONSISTENT_CLUSTER_ID. Unset: not checked. */
  readonly clusterId?: string;
  readonly brokerLifecycle?: BrokerLifecycle;
  /** leader.imbalance.check.interval.seconds in ms (tests and the simulator use short ones). */
  readonly leaderImbalanceCheckIntervalMs?: number;
  /** broker.session.timeout.ms, overriding the config (simulator). */
  readonly sessionTimeoutMs?: number;
  /** This controller's node id, as Kafka's feature errors name it ("Local controller N …"). */
  readonly nodeId?: number;
  /** Deliberate bugs for proving the simulator's checker (never set in production). */
  readonly bugs?: ReadonlySet<ControllerBug>;
}

interface BrokerSession {
  lastContactMs: number;
  /** The broker's last reported metadata offset (-1: none yet). */
  metadataOffset: number;
}

/** KRaft's BrokerControlState. */
type BrokerState = 'FENCED' | 'UNFENCED' | 'CONTROLLED_SHUTDOWN' | 'SHUTDOWN_NOW';

export class ControllerCore {
  private readonly newTopicId: () => string;
  private readonly lifecycle: BrokerLifecycle;
  private readonly sessionTimeoutMs: number;
  private readonly imbalanceCheckMs: number;
  private readonly sessions = new Map<number, BrokerSession>();
  /**
   * Per broker epoch, the offset of the first image that showed it (≥ its RegisterBroker record's
   * offset, so "caught up" is never granted early), and likewise the controlled-shutdown record.
   */
  private readonly registrationOffsets = new Map<number, { epoch: number; offset: number }>();
  private readonly shutdownOffsets = new Map<number, { epoch: number; offset: number }>();
  private nextImbalanceCheckMs = 0;

  constructor(private readonly options: ControllerCoreOptions) {
    this.newTopicId = options.newTopicId ?? randomTopicId;
    this.lifecycle = options.brokerLifecycle ?? 'registration-only';
    this.sessionTimeoutMs = options.sessionTimeoutMs ?? options.config['broker.session.timeout.ms'];
    this.imbalanceCheckMs = options.leaderImbalanceCheckIntervalMs ?? options.config['leader.imbalance.check.interval.seconds'] * 1000;
  }

  /** This node became the active controller at `nowMs`: every session starts now (BrokerHeartbeatManager is new). */
  activate(image: MetadataImage, nowMs: number): void {
    this.sessions.clear();
    this.registrationOffsets.clear();
    this.shutdownOffsets.clear();
    for (const b of image.brokers.values()) this.sessions.set(b.brokerId, { lastContactMs: nowMs, metadataOffset: -1 });
    this.observe(image);
    this.nextImbalanceCheckMs = nowMs + this.imbalanceCheckMs;
  }

  /**
   * Periodic work, one step per call so each is visible before the next (QuorumController's
   * maybeFenceOneStaleBroker): fence one broker whose session expired; else elect leaderless
   * partitions that allow unclean election; else, when due, rebalance preferred leaders.
   */
  tick(image: MetadataImage, nowMs: number): ControllerTickResult {
    this.observe(image);
    if (this.lifecycle === 'heartbeats') {
      for (const b of image.brokers.values()) {
        if (b.fenced) continue;
        const session = this.session(b.brokerId, nowMs);
        if (session.lastContactMs + this.sessionTimeoutMs < nowMs) {
          return this.fenceBroker(image, b.brokerId, 'session-timeout');
        }
      }
    }
    const unclean = uncleanElections(this.options.config, image);
    if (unclean.records.length > 0) return unclean;
    if (this.options.config['auto.leader.rebalance.enable'] && nowMs >= this.nextImbalanceCheckMs) {
      this.nextImbalanceCheckMs = nowMs + this.imbalanceCheckMs;
      return rebalanceLeaders(image, this.options.config['leader.imbalance.per.broker.percentage']);
    }
    return { records: [], events: [] };
  }

  /**
   * A heartbeat that waited in the queue past its deadline (Kafka: half the heartbeat interval after it
   * arrived): it only keeps the session alive and changes nothing else (processExpiredBrokerHeartbeat), so
   * a stale heartbeat cannot unfence a broker that has since died or asked to leave. Answers REQUEST_TIMED_OUT.
   * `nowMs` is when its deadline passed.
   */
  expiredHeartbeat(request: ControllerRequestOf<'brokerHeartbeat'>, image: MetadataImage, nowMs: number): ControllerDecision<'brokerHeartbeat'> {
    this.observe(image);
    const stale = brokerEpochError(image, request.brokerId, request.brokerEpoch);
    if (stale !== null) return stale as ControllerDecision<'brokerHeartbeat'>;
    const session = this.session(request.brokerId, nowMs);
    session.lastContactMs = Math.max(session.lastContactMs, nowMs);
    return failed(ErrorCode.REQUEST_TIMED_OUT, 'The heartbeat waited past its deadline.') as ControllerDecision<'brokerHeartbeat'>;
  }

  handle<K extends ControllerRequestType>(request: ControllerRequestOf<K>, image: MetadataImage, nowMs: number): ControllerDecision<K> {
    this.observe(image);
    return this.dispatch(request as ControllerRequest, image, nowMs) as ControllerDecision<K>;
  }

  private dispatch(request: ControllerRequest, image: MetadataImage, nowMs: number): ControllerDecision {
    switch (request.type) {
      case 'createTopic': {
        const planned = planCreateTopic(image, this.options.config, request.topic, this.newTopicId());
        return decide(planned, request.validateOnly, (v) => ({
          topicId: v.topicId, numPartitions: v.numPartitions, replicationFactor: v.replicationFactor, overrides: [...v.overrides],
        }));
      }
      case 'autoCreateTopic':
        return decide(planAutoCreate(image, request, this.newTopicId(), this.options.config['max.broker.partitions']), false, (topicId) => ({ topicId }));
      case 'deleteTopic': {
        const topic = request.name !== null ? topicByName(image, request.name) : image.topicsById.get(request.topicId ?? '');
        if (topic === undefined) {
          return request.name !== null
            ? failed(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, 'This server does not host this topic-partition.')
            : failed(ErrorCode.UNKNOWN_TOPIC_ID, 'This server does not host this topic ID.');
        }
        return decide(planDeleteTopic(topic), false, (t: TopicImage) => ({ name: t.name, topicId: t.topicId }));
      }
      case 'createPartitions':
        return decide(planCreatePartitions(image, request.input, this.options.config['max.broker.partitions']), request.validateOnly, (count) => ({ count }));
      case 'alterConfigs':
        return decide(
          planAlterConfigs(image, request.nodeId, request.resource, request.configs, request.mode, this.options.config), request.validateOnly, () => null,
        );
      case 'allocateProducerIds': {
        const stale = brokerEpochError(image, request.brokerId, request.brokerEpoch);
        if (stale !== null) return stale;
        return decide(planProducerIdBlock(image, request.brokerId), false, (producerIdStart) => ({
          producerIdStart, producerIdLen: PRODUCER_ID_BLOCK_SIZE,
        }));
      }
      case 'registerBroker':
        return this.registerBroker(request, image, nowMs);
      case 'brokerHeartbeat':
        return this.brokerHeartbeat(request, image, nowMs);
      case 'alterPartition':
        return this.alterPartition(request, image);
      case 'electLeaders': {
        const { results, change } = electLeaders(this.options.config, image, request);
        return { records: change.records, events: change.events, outcome: { ok: true, value: { partitions: results } } };
      }
      case 'updateFeatures':
        return decide(planUpdateFeatures(image, this.options.nodeId ?? -1, request.updates), request.validateOnly, () => null);
      default: {
        const never: never = request;
        throw new Error(`unknown controller request ${JSON.stringify(never)}`);
      }
    }
  }

  // ---- broker lifecycle ----

  /** ClusterControlManager.registerBroker. */
  private registerBroker(request: ControllerRequestOf<'registerBroker'>, image: MetadataImage, nowMs: number): ControllerDecision {
    if (this.options.clusterId !== undefined && request.clusterId !== this.options.clusterId) {
      return failed(ErrorCode.INCONSISTENT_CLUSTER_ID, `Expected cluster ID ${this.options.clusterId}, but got cluster ID ${request.clusterId}`);
    }
    const unsupported = registrationFeatureProblem(image, request.features ?? []);
    if (unsupported !== null) return failed(ErrorCode.UNSUPPORTED_VERSION, unsupported);
    const existing = image.brokers.get(request.brokerId);
    const sameIncarnation = existing !== undefined && existing.incarnationId === request.incarnationId;
    // Runnel beyond Kafka: a broker that names the registered incarnation as its previous one read it from
    // its data directory while holding the directory's lock, which proves that process is dead, so its
    // session is over now and the restart goes through as if the session had expired.
    const previousProvedDead = existing !== undefined && existing.incarnationId !== null &&
      request.previousIncarnationId === existing.incarnationId;
    if (existing !== undefined && !sameIncarnation && !previousProvedDead && this.hasValidSession(image, request.brokerId, nowMs)) {
      // The old process may still be alive: it must miss its session first (Kafka's DuplicateBrokerRegistration).
      return failed(ErrorCode.DUPLICATE_BROKER_REGISTRATION, 'Another broker is registered with that broker id.');
    }
    const records: MetadataRecord[] = [];
    const events: ControllerEvent[] = [];
    let brokerEpoch: number;
    let fenced: boolean;
    let inControlledShutdown = false;
    if (sameIncarnation) {
      // A retry of a registration that was committed: same epoch, same state (Kafka's "amending registration").
      brokerEpoch = existing.brokerEpoch;
      fenced = existing.fenced;
      inControlledShutdown = existing.inControlledShutdown;
    } else {
      brokerEpoch = existing === undefined ? 0 : existing.brokerEpoch + 1;
      fenced = this.lifecycle === 'heartbeats';
      events.push({
        event: 'broker-registered', brokerId: request.brokerId, brokerEpoch, incarnationId: request.incarnationId, restarted: existing !== undefined,
      });
      if (existing !== undefined && fenced) {
        // The previous incarnation is gone: it leads nothing and leaves every ISR (handleBrokerUncleanShutdown).
        const updates = leaderAndIsrUpdates(this.options.config, image, request.brokerId, NO_LEADER,
          (p) => p.isr.includes(request.brokerId), 'broker-restarted', this.options.bugs);
        records.push(...updates.records);
        events.push(...updates.events);
      }
    }
    records.push({
      type: 'RegisterBroker', brokerId: request.brokerId, brokerEpoch, host: request.host, port: request.port, rack: request.rack,
      fenced, incarnationId: request.incarnationId, ...(inControlledShutdown ? { inControlledShutdown } : {}),
      ...(request.features !== undefined && request.features.length > 0 ? { features: request.features.map((f) => ({ ...f })) } : {}),
    });
    if (!sameIncarnation && !fenced) {
      // 'registration-only': registered unfenced, so it takes back what waits for it, as an unfencing does.
      const updates = leaderAndIsrUpdates(this.options.config, image, NO_LEADER, request.brokerId, (p) => p.leader === NO_LEADER, 'broker-registered', this.options.bugs);
      records.push(...updates.records, ...this.eligibilityBumps(image, request.brokerId, updates.records));
      events.push(...updates.events);
    }
    this.sessions.set(request.brokerId, { lastContactMs: nowMs, metadataOffset: -1 });
    return { records, events, outcome: { ok: true, value: { brokerEpoch } } };
  }

  /** ReplicationControlManager.processBrokerHeartbeat with BrokerHeartbeatManager.calculateNextBrokerState. */
  private brokerHeartbeat(request: ControllerRequestOf<'brokerHeartbeat'>, image: MetadataImage, nowMs: number): ControllerDecision {
    const stale = brokerEpochError(image, request.brokerId, request.brokerEpoch);
    if (stale !== null) return stale;
    const broker = image.brokers.get(request.brokerId)!;
    // Controlled shutdown comes first (BrokerHeartbeatManager.currentBrokerState): a broker that asked to
    // leave only leaves; a delayed heartbeat of its own from before cannot unfence it again.
    const current: BrokerState = broker.inControlledShutdown ? 'CONTROLLED_SHUTDOWN' : broker.fenced ? 'FENCED' : 'UNFENCED';
    const registrationOffset = this.registrationOffsets.get(request.brokerId)?.offset ?? image.offset;
    const caughtUp = request.currentMetadataOffset >= registrationOffset;
    const next = this.nextState(current, request, caughtUp, image);
    let change: ControllerTickResult = { records: [], events: [] };
    if (next !== current) {
      if (next === 'FENCED' || next === 'SHUTDOWN_NOW') {
        if (!broker.fenced) change = this.fenceBroker(image, request.brokerId, next === 'FENCED' ? 'requested' : 'shutdown');
      } else if (next === 'UNFENCED') {
        change = this.unfenceBroker(image, request.brokerId);
      } else {
        change = this.controlledShutdown(image, request.brokerId);
      }
    }
    this.sessions.set(request.brokerId, { lastContactMs: nowMs, metadataOffset: request.currentMetadataOffset });
    return {
      records: change.records,
      events: change.events,
      outcome: {
        ok: true,
        value: {
          isCaughtUp: caughtUp,
          isFenced: next === 'FENCED' || next === 'SHUTDOWN_NOW' || (next === 'CONTROLLED_SHUTDOWN' && broker.fenced),
          shouldShutDown: next === 'SHUTDOWN_NOW',
        },
      },
    };
  }

  private nextState(
    current: BrokerState, request: ControllerRequestOf<'brokerHeartbeat'>, caughtUp: boolean, image: MetadataImage,
  ): BrokerState {
    switch (current) {
      case 'FENCED':
        if (request.wantShutDown) return 'SHUTDOWN_NOW';
        if (!request.wantFence && (caughtUp || this.lifecycle === 'registration-only')) return 'UNFENCED';
        return 'FENCED';
      case 'UNFENCED':
        if (request.wantFence) return request.wantShutDown ? 'SHUTDOWN_NOW' : 'FENCED';
        if (request.wantShutDown) return hasLeaderships(image, request.brokerId) ? 'CONTROLLED_SHUTDOWN' : 'SHUTDOWN_NOW';
        return 'UNFENCED';
      case 'CONTROLLED_SHUTDOWN': {
        if (hasLeaderships(image, request.brokerId)) return 'CONTROLLED_SHUTDOWN';
        // Only once every active broker has applied the shutdown's changes may it stop (lowestActiveOffset).
        const shutdownOffset = this.shutdownOffsets.get(request.brokerId)?.offset ?? image.offset;
        return shutdownOffset <= this.lowestActiveOffset(image, request.brokerId) ? 'SHUTDOWN_NOW' : 'CONTROLLED_SHUTDOWN';
      }
      case 'SHUTDOWN_NOW':
        return 'SHUTDOWN_NOW';
    }
  }

  /** The lowest metadata offset reported by an active broker other than `except` (none: no bound). */
  private lowestActiveOffset(image: MetadataImage, except: number): number {
    let lowest = Number.MAX_SAFE_INTEGER;
    for (const b of image.brokers.values()) {
      if (b.brokerId === except || !isActiveBroker(image, b.brokerId)) continue;
      lowest = Math.min(lowest, this.sessions.get(b.brokerId)?.metadataOffset ?? -1);
    }
    return lowest;
  }

  /** ReplicationControlManager.handleBrokerFenced: leaderships and ISR places move, then the FenceBroker record. */
  private fenceBroker(image: MetadataImage, brokerId: number, reason: 'session-timeout' | 'requested' | 'shutdown'): ControllerTickResult {
    const broker = image.brokers.get(brokerId)!;
    const updates = leaderAndIsrUpdates(this.options.config, image, brokerId, NO_LEADER, (p) => p.isr.includes(brokerId), `broker-fenced:${reason}`, this.options.bugs);
    return {
      records: [...updates.records, { type: 'FenceBroker', brokerId, brokerEpoch: broker.brokerEpoch }],
      events: [{ event: 'broker-fenced', brokerId, brokerEpoch: broker.brokerEpoch, reason }, ...updates.events],
    };
  }

  /** handleBrokerUnfenced: the UnfenceBroker record, then leaderless partitions whose ISR holds it elect it. */
  private unfenceBroker(image: MetadataImage, brokerId: number): ControllerTickResult {
    const broker = image.brokers.get(brokerId)!;
    const updates = leaderAndIsrUpdates(this.options.config, image, NO_LEADER, brokerId, (p) => p.leader === NO_LEADER, 'broker-unfenced', this.options.bugs);
    return {
      records: [{ type: 'UnfenceBroker', brokerId, brokerEpoch: broker.brokerEpoch }, ...updates.records, ...this.eligibilityBumps(image, brokerId, updates.records)],
      events: [{ event: 'broker-unfenced', brokerId, brokerEpoch: broker.brokerEpoch }, ...updates.events],
    };
  }

  /** A broker eligible for ISRs again makes every proposal formed before stale (eligibilityEpochBumps says why). */
  private eligibilityBumps(image: MetadataImage, brokerId: number, changed: readonly MetadataRecord[]): MetadataRecord[] {
    if (this.options.bugs?.has('no-eligibility-epoch-bump') === true) return [];
    return eligibilityEpochBumps(image, brokerId, changed.filter((r): r is PartitionChangeRecord => r.type === 'PartitionChange'));
  }

  /** handleBrokerInControlledShutdown: marked leaving, then its leaderships and ISR places move. */
  private controlledShutdown(image: MetadataImage, brokerId: number): ControllerTickResult {
    const broker = image.brokers.get(brokerId)!;
    const updates = leaderAndIsrUpdates(this.options.config, image, brokerId, NO_LEADER, (p) => p.isr.includes(brokerId), 'controlled-shutdown', this.options.bugs);
    return {
      records: [{ type: 'BrokerRegistrationChange', brokerId, brokerEpoch: broker.brokerEpoch, inControlledShutdown: true }, ...updates.records],
      events: [{ event: 'broker-controlled-shutdown', brokerId, brokerEpoch: broker.brokerEpoch }, ...updates.events],
    };
  }

  private hasValidSession(image: MetadataImage, brokerId: number, nowMs: number): boolean {
    const broker = image.brokers.get(brokerId);
    if (broker === undefined || broker.fenced) return false;
    if (this.lifecycle === 'registration-only') return false;
    return this.session(brokerId, nowMs).lastContactMs + this.sessionTimeoutMs >= nowMs;
  }

  private session(brokerId: number, nowMs: number): BrokerSession {
    let session = this.sessions.get(brokerId);
    if (session === undefined) {
      session = { lastContactMs: nowMs, metadataOffset: -1 };
      this.sessions.set(brokerId, session);
    }
    return session;
  }

  /** Notes the offsets at which registrations and controlled shutdowns first became visible. */
  private observe(image: MetadataImage): void {
    for (const b of image.brokers.values()) {
      const registered = this.registrationOffsets.get(b.brokerId);
      if (registered === undefined || registered.epoch !== b.brokerEpoch) {
        this.registrationOffsets.set(b.brokerId, { epoch: b.brokerEpoch, offset: image.offset });
      }
      const shutdown = this.shutdownOffsets.get(b.brokerId);
      if (!b.inControlledShutdown) this.shutdownOffsets.delete(b.brokerId);
      else if (shutdown === undefined || shutdown.epoch !== b.brokerEpoch) {
        this.shutdownOffsets.set(b.brokerId, { epoch: b.brokerEpoch, offset: image.offset });
      }
    }
  }

  // ---- partitions ----

  /** ReplicationControlManager.alterPartition: the broker epoch, then each partition on its own. */
  private alterPartition(request: ControllerRequestOf<'alterPartition'>, image: MetadataImage): ControllerDecision {
    const stale = brokerEpochError(image, request.brokerId, request.brokerEpoch);
    if (stale !== null) return stale;
    const records: MetadataRecord[] = [];
    const events: ControllerEvent[] = [];
    const results: AlterPartitionItemResult[] = [];
    const touched = new Set<string>();
    for (const item of request.partitions) {
      const key = `${item.topicId}/${item.partitionId}`;
      if (touched.has(key)) {
        results.push({
          topicId: item.topicId, partitionId: item.partitionId, errorCode: ErrorCode.INVALID_REQUEST, leader: NO_LEADER, leaderEpoch: -1,
          isr: [], partitionEpoch: -1, leaderRecoveryState: RECOVERED,
        });
        continue;
      }
      touched.add(key);
      const { result, change } = alterPartitionItem(this.options.config, image, request.brokerId, item, this.options.bugs);
      results.push(result);
      records.push(...change.records);
      events.push(...change.events);
    }
    return { records, events, outcome: { ok: true, value: { partitions: results } } };
  }
}

/** ClusterControlManager.checkBrokerEpoch. */
function brokerEpochError(image: MetadataImage, brokerId: number, brokerEpoch: number): ControllerDecision | null {
  const broker = image.brokers.get(brokerId);
  if (broker === undefined) return failed(ErrorCode.STALE_BROKER_EPOCH, `No broker registration found for broker id ${brokerId}`);
  if (broker.brokerEpoch !== brokerEpoch) {
    return failed(ErrorCode.STALE_BROKER_EPOCH, `Expected broker epoch ${broker.brokerEpoch}, but got broker epoch ${brokerEpoch}`);
  }
  return null;
}

function decide<T, V>(planned: Plan<T>, validateOnly: boolean, value: (v: T) => V): ControllerDecision {
  if (!planned.ok) return failed(planned.errorCode, planned.message);
  return {
    records: validateOnly ? [] : planned.records,
    events: [],
    outcome: { ok: true, value: value(planned.value) },
  } as ControllerDecision;
}

function failed(errorCode: number, message: string | null): ControllerDecision {
  return { records: [], events: [], outcome: { ok: false, errorCode, message } };
}

function planAutoCreate(
  image: MetadataImage,
  request: ControllerRequestOf<'autoCreateTopic'>,
  topicId: string,
  brokerPartitionsMax: number,
): Plan<string> {
  if (image.topicIdsByName.has(request.name)) {
    return { ok: false, errorCode: ErrorCode.TOPIC_ALREADY_EXISTS, message: `Topic '${request.name}' already exists.` };
  }
  const brokers = usableBrokers(image);
  try {
    const records = topicCreationRecords(
      request.name, topicId, request.numPartitions, request.replicationFactor, brokers, new Map(request.configs),
      placementStart(image, brokers),
    );
    const placed = records.flatMap((r) => (r.type === 'Partition' ? [r.replicas] : []));
    const limitError = brokerPartitionsError(image, brokerPartitionsMax, placed);
    if (limitError !== null) return { ok: false, ...limitError };
    return { ok: true, records, value: topicId };
  } catch (err) {
    if (err instanceof TopicCreationError) return { ok: false, errorCode: err.errorCode, message: err.message };
    throw err;
  }
}
