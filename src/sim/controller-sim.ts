/**
 * Deterministic simulation of the controller over the simulated Raft (issue #21): one seed drives the
 * clock, the network, the disks, crashes, pauses, controlled shutdowns and admin requests.
 *
 * Every node is a combined broker + Raft node. The controller (ControllerCore behind a shell that, like
 * quorum-controller.ts, decides one request at a time against the latest applied image and answers only
 * once its batch is applied) runs on whichever node leads Raft, and only after that node has applied
 * every entry of earlier terms (its own term's first entry applied: KRaft's "caught up to the leader
 * epoch start"). Every node's image is built from the entries Raft commits (and replaced by snapshots).
 *
 * The brokers register with an incarnation id (a restarted one mostly naming, as previousIncarnationId, the
 * last incarnation its "data directory" recorded after a successful registration: the session of that
 * dead process then ends at once; sometimes without it, waiting the session out), heartbeat, stop heartbeating when paused or crashed,
 * shut down in a controlled way, and lead or follow partitions as their node's image says, with a small
 * model of the data plane: leaders append (leader epoch per offset), followers fetch from the leader
 * their image names at its leader epoch and truncate where they diverge, the leader's high watermark
 * is the minimum log end over its maximal ISR (KIP-497), ISR shrinks and expansions go to the
 * controller as AlterPartition requests with the leader and partition epochs the leader knows.
 *
 * Checked after every event, on every node's image: at most one leader per partition per leader epoch
 * (and one state per partition epoch); the leader is in the ISR; the ISR is a non-empty subset of the
 * replicas; leader and partition epochs never go back; no fenced or shutting-down broker leads; a
 * crashed or paused broker leads nothing for longer than the session timeout (plus slack) under a
 * controller that was active all that time; on the active controller's image, every ISR member (the
 * leader included) holds every acknowledged (below some leader's high watermark) record, unless the
 * partition saw an unclean election; acknowledged records never change; every AlterPartition the core
 * accepts names the current leader and partition epochs and adds only active brokers (KIP-704/903,
 * checked on the answer against the image it was decided on). At the end, after healing: a controller,
 * every broker registered and unfenced, and every node's image equal to the controller's.
 *
 * Faults: Raft's (crashes with torn writes, partitions, drops, duplicates, delays, slow disks, leadership
 * transfers, membership changes, snapshots) plus broker pauses shorter and longer than the session,
 * controlled shutdowns followed by restarts, and slow requests that wait up to 1.5 s in the controller's
 * queue (a heartbeat that waited past half the heartbeat interval only keeps its session, as in Kafka).
 */
import { InvariantError } from '../common/assert.js';
import { Prng } from '../common/prng.js';
import { resolveConfig } from '../config/config.js';
import { ControllerCore } from '../controller/core.js';
import type { ControllerBug } from '../controller/partition-change.js';
import type {
  ControllerOutcome, ControllerOutcomeOf, ControllerRequest, ControllerRequestOf, ControllerRequestType,
} from '../controller/requests.js';
import { applyRecords, EMPTY_IMAGE, imageRecords, topicConfigOverrides, type MetadataImage, type PartitionImage } from '../metadata/image.js';
import { decodeMetadataRecords, encodeMetadataRecords, RECOVERED, RECOVERING, type MetadataRecord } from '../metadata/records.js';
import { ErrorCode } from '../protocol/errors.js';
import { bootstrapState } from '../raft/core/bootstrap.js';
import type { ConfChange } from '../raft/core/confchange.js';
import { RaftNode } from '../raft/core/raft.js';
import type { Entry, Message, NodeId, RaftConfig, Ready, Snapshot } from '../raft/core/types.js';
import { SafetyViolation } from './checker.js';
import { SimDisk } from './disk.js';
import { EventQueue } from './event-queue.js';
import { linksBetween, SimNetwork } from './network.js';
import { SimLog } from './sim-log.js';
import { describeMessage } from './trace.js';

export interface ControllerSimOptions {
  readonly seed: number;
  readonly bugs?: ReadonlySet<ControllerBug>;
  readonly trace?: (line: string) => void;
  readonly faultPhaseMs?: number;
  readonly livenessBoundMs?: number;
  readonly eventsMax?: number;
}

export interface ControllerSimStats {
  crashes: number;
  pauses: number;
  controlledShutdowns: number;
  partitions: number;
  controllerChanges: number;
  fencings: number;
  elections: number;
  isrChanges: number;
  topicsCreated: number;
  requestsAnswered: number;
  snapshotsInstalled: number;
  /** Committed unclean elections, and RECOVERING partitions that became RECOVERED (KIP-704). */
  uncleanElections: number;
  recoveries: number;
  /** Registrations accepted that named the previous incarnation (the restart without the session wait). */
  restartsProvingPrevious: number;
}

export interface ControllerSimResult {
  readonly seed: number;
  readonly ok: boolean;
  readonly failure: string | undefined;
  readonly events: number;
  readonly nodes: number;
  readonly timeMs: number;
  readonly stats: ControllerSimStats;
}

// Time scale: Raft ticks every 10 ms (elections in 100-200 ms); broker sessions are scaled to match.
const TICK_MS = 10;
const HEARTBEAT_MS = 100;
const SESSION_MS = 600;
const CONTROLLER_TICK_MS = 50;
const BROKER_TIMER_MS = 50;
const REBALANCE_MS = 1500;
const REPLICA_LAG_MS = 300;
const REQUEST_TIMEOUT_MS = 400;
/** A request is processed only before this age; an ISR proposal is re-sent only after it (no two copies live). */
const REQUEST_DEADLINE_MS = 2000;
const SLOW_REQUEST_MAX_MS = 1500;
/** Commit latency under faults (slow disks, drops) plus a heartbeat and a controller tick. */
const FENCE_SLACK_MS = 1500;
const TOPICS_MAX = 5;
const LOG_LENGTH_MAX = 400;
const QUEUE_MAX = 200;

type Event =
  | { readonly kind: 'tick'; readonly node: NodeId; readonly incarnation: number }
  | { readonly kind: 'deliver'; readonly message: Message }
  | { readonly kind: 'disk'; readonly node: NodeId; readonly incarnation: number }
  | { readonly kind: 'restart'; readonly node: NodeId }
  | { readonly kind: 'crash'; readonly node: NodeId; readonly incarnation: number }
  | { readonly kind: 'heal'; readonly links: readonly (readonly [NodeId, NodeId])[] }
  | { readonly kind: 'fault' }
  | { readonly kind: 'stop-faults' }
  | { readonly kind: 'request'; readonly to: NodeId; readonly request: Envelope }
  | { readonly kind: 'reply'; readonly envelope: Envelope; readonly outcome: ControllerOutcome<unknown> }
  | { readonly kind: 'controller-tick'; readonly node: NodeId; readonly generation: number }
  | { readonly kind: 'broker'; readonly node: NodeId; readonly incarnation: number }
  | { readonly kind: 'resume'; readonly node: NodeId; readonly pause: number }
  | { readonly kind: 'process-restart'; readonly node: NodeId; readonly incarnation: number }
  | { readonly kind: 'admin' };

/** A request in flight: who sent it (a broker incarnation, or the admin client) and what for. */
interface Envelope {
  readonly id: number;
  /** Like Kafka's controller request deadlines: a request still queued after this is answered REQUEST_TIMED_OUT. */
  readonly deadlineMs: number;
  /** Time spent in a backed-up controller queue before it can be decided (a slow-request fault). */
  readonly queuedMs: number;
  readonly from: NodeId;
  /** The sending broker's process incarnation; -1: the admin client (answers are ignored). */
  readonly senderIncarnation: number;
  readonly request: ControllerRequest;
}

interface Proposal {
  readonly index: number;
  readonly term: number;
  readonly envelope: Envelope | undefined;
  readonly outcome: ControllerOutcome<unknown>;
}

class Controller {
  readonly queue: Envelope[] = [];
  inflight: Proposal | undefined = undefined;
  /** The periodic tick is due: it runs before the next queued request. */
  tickDue = false;
  constructor(readonly core: ControllerCore, readonly term: number, readonly generation: number, readonly sinceMs: number) {}
}

/** An ISR change sent and not yet settled: it counts for the high watermark until it is (KIP-497's maximal ISR). */
interface PendingIsr {
  envelopeId: number;
  sentMs: number;
  /** The controller answered and the answer does not say what was committed: wait for the metadata. */
  settled: boolean;
  readonly newIsr: readonly number[];
  readonly leaderEpoch: number;
  readonly partitionEpoch: number;
}

/** As the leader sees a follower: its log end at its last fetch at this leader epoch, and when it last was caught up. */
interface FollowerView {
  leaderEpoch: number;
  logEnd: number;
  caughtUpMs: number;
}

class Broker {
  /** Process incarnation (a restart makes a new one, and a new KIP-631 incarnation id). */
  process = 0;
  incarnationId = '';
  /**
   * The data directory's record of the last registered incarnation (src/node/broker-incarnation.ts): it
   * survives crashes, and is written only after a registration succeeded (sometimes the process dies first).
   */
  persistedIncarnationId: string | undefined = undefined;
  /** What this process sends as previousIncarnationId (sometimes nothing: a start without the file). */
  previousIncarnationId: string | undefined = undefined;
  brokerEpoch = -1;
  state: 'registering' | 'running' | 'shutting-down' | 'stopped' = 'registering';
  paused = 0;
  /**
   * This process's node image has reached its registration (a heartbeat answered isCaughtUp). Only then does
   * it lead or follow: a restarted node replays old metadata first, and Kafka's broker publishes no image
   * before its metadata loader has caught up.
   */
  caughtUp = false;
  /** Since when this broker cannot heartbeat (crashed, paused, stopped); undefined while it can. */
  deadSinceMs: number | undefined = 0;
  /** The last heartbeat any process of this broker sent: a death after it starts a new dead period. */
  lastHeartbeatSentMs = -1;

  markDead(nowMs: number): void {
    if (this.deadSinceMs === undefined || this.lastHeartbeatSentMs > this.deadSinceMs) this.deadSinceMs = nowMs;
  }
  lastHeartbeatMs = -1e9;
  readonly outstanding = new Map<string, { id: number; sentMs: number }>();
  readonly logs = new Map<string, SimLog>();
  /** Leader side, per partition key: followers' fetch state and the pending ISR change. */
  readonly followers = new Map<string, Map<number, FollowerView>>();
  readonly pendingIsr = new Map<string, PendingIsr>();
  /** Partition states learnt from AlterPartition answers, ahead of this node's image (Kafka applies the answer). */
  readonly answered = new Map<string, { leaderEpoch: number; partitionEpoch: number; isr: readonly number[] }>();
  readonly highWatermark = new Map<string, number>();
  /** The leader epoch this broker last started leading each partition at. */
  readonly ledEpoch = new Map<string, number>();
}

class SimNode {
  raft: RaftNode | undefined = undefined;
  incarnation = 0;
  pendingWrite: Ready | undefined = undefined;
  slowDisk = false;
  image: MetadataImage = EMPTY_IMAGE;
  controller: Controller | undefined = undefined;
  readonly broker = new Broker();
  /** Per partition key, the epochs this node's image last showed (they must never go back). */
  readonly seenEpochs = new Map<string, { leaderEpoch: number; partitionEpoch: number; isr: readonly number[] }>();
  constructor(readonly id: NodeId, readonly disk: SimDisk) {}
}

function isActive(image: MetadataImage, brokerId: number): boolean {
  const b = image.brokers.get(brokerId);
  return b !== undefined && !b.fenced && !b.inControlledShutdown;
}

function partitionKey(topicId: string, partition: number): string {
  return `${topicId}/${partition}`;
}

export class ControllerSimulation {
  private readonly prng: Prng;
  private readonly incarnationPrng: Prng;
  private readonly queue = new EventQueue<Event>();
  private readonly network: SimNetwork;
  private readonly nodes = new Map<NodeId, SimNode>();
  private readonly raftConfig: Omit<RaftConfig, 'id'>;
  private readonly compactEvery: number;
  private readonly nodeCount: number;
  private readonly voterCount: number;
  private readonly faultPhaseMs: number;
  private readonly livenessBoundMs: number;
  private readonly eventsMax: number;
  private readonly config = resolveConfig({ overrides: [['auto.leader.rebalance.enable', 'true']] }).config;
  private nowMs = 0;
  private events = 0;
  private faulty = true;
  private nextEnvelopeId = 1;
  /** When each request entered its controller's queue (its queueing time then elapses there). */
  private readonly receivedMs = new Map<number, number>();
  private topicSerial = 0;
  private controllerGeneration = 0;
  /** Slow-request probability: a request waits this long in a backed-up controller queue. */
  private slowRequestRate: number;
  /** Global facts every image must agree with. */
  private readonly leaderOfEpoch = new Map<string, number>();
  private readonly stateOfPartitionEpoch = new Map<string, string>();
  private readonly appliedEntries = new Map<number, { term: number; type: string; data: Uint8Array; records: readonly MetadataRecord[] }>();
  /** Per partition: the longest acknowledged prefix (leader epochs of offsets below a high watermark). */
  private readonly acknowledged = new Map<string, SimLog>();
  /** Per broker, the indexes of entries that made it eligible for ISRs (UnfenceBroker, an unfenced registration). */
  private readonly eligibleAt = new Map<number, number[]>();
  /** The image after the last committed entry indexed (every entry is first applied in index order). */
  private committedImage: MetadataImage = EMPTY_IMAGE;
  /** Per broker, whether the entries indexed so far leave it eligible. */
  private readonly eligibleNow = new Map<number, boolean>();
  /** Per partition key, the indexes of entries that set its partition epoch (Partition, PartitionChange). */
  private readonly epochSetAt = new Map<string, number[]>();
  /** Partitions that had an unclean election (their acknowledged data may legitimately be lost). */
  private readonly uncleanPartitions = new Set<string>();
  private readonly stats: ControllerSimStats = {
    crashes: 0, pauses: 0, controlledShutdowns: 0, partitions: 0, controllerChanges: 0, fencings: 0, elections: 0,
    isrChanges: 0, topicsCreated: 0, requestsAnswered: 0, snapshotsInstalled: 0, uncleanElections: 0, recoveries: 0,
    restartsProvingPrevious: 0,
  };

  constructor(private readonly options: ControllerSimOptions) {
    this.prng = new Prng(options.seed);
    // Its own stream, so the choices below leave every other draw of a seed where it was.
    this.incarnationPrng = new Prng((options.seed ^ 0x1cab) >>> 0);
    const prng = this.prng;
    this.voterCount = prng.chance(0.5) ? 3 : 5;
    this.nodeCount = this.voterCount + prng.int(0, 2);
    this.faultPhaseMs = options.faultPhaseMs ?? 5000;
    this.livenessBoundMs = options.livenessBoundMs ?? 8000;
    this.eventsMax = options.eventsMax ?? 600_000;
    this.compactEvery = prng.int(8, 60);
    this.slowRequestRate = prng.chance(0.5) ? 0 : prng.next() * 0.2;
    this.raftConfig = {
      electionTicks: 10,
      heartbeatTicks: 2,
      maxEntriesPerMessage: prng.pick([1, 2, 8, 64]),
      maxInflightMessages: prng.int(1, 8),
      checkQuorum: true,
      preVote: true,
    };
    this.network = new SimNetwork(prng, {
      dropRate: prng.chance(0.3) ? 0 : prng.next() * 0.1,
      duplicateRate: prng.next() * 0.05,
      maxDelayMs: prng.int(1, 20),
    });
    const ids = Array.from({ length: this.nodeCount }, (_, i) => i + 1);
    const initial = bootstrapState({ voters: ids.slice(0, this.voterCount), learners: ids.slice(this.voterCount) });
    for (const id of ids) {
      this.nodes.set(id, new SimNode(id, new SimDisk(initial)));
      this.startNode(id);
    }
  }

  run(): ControllerSimResult {
    this.queue.push(this.prng.int(200, 600), { kind: 'fault' });
    this.queue.push(this.prng.int(50, 300), { kind: 'admin' });
    this.queue.push(this.faultPhaseMs, { kind: 'stop-faults' });
    let failure: string | undefined;
    try {
      failure = this.loop();
    } catch (error) {
      if (!(error instanceof SafetyViolation || error instanceof InvariantError)) throw error;
      failure = `${error.name}: ${error.message}`;
    }
    return {
      seed: this.options.seed, ok: failure === undefined, failure, events: this.events, nodes: this.nodeCount,
      timeMs: this.nowMs, stats: this.stats,
    };
  }

  private loop(): string | undefined {
    const deadlineMs = this.faultPhaseMs + this.livenessBoundMs;
    while (this.events < this.eventsMax) {
      const next = this.queue.pop();
      if (next === undefined || next.timeMs > deadlineMs) break;
      this.nowMs = next.timeMs;
      this.events++;
      this.handle(next.event);
      this.checkAfterEvent();
      if (!this.faulty && this.converged()) return undefined;
    }
    return `liveness: ${this.notConvergedReason()} ${this.livenessBoundMs} ms after the faults stopped (${this.events} events)`;
  }

  private handle(event: Event): void {
    switch (event.kind) {
      case 'tick': return this.onTick(event.node, event.incarnation);
      case 'deliver': return this.onDeliver(event.message);
      case 'disk': return this.onDiskDone(event.node, event.incarnation);
      case 'restart': return this.onRestart(event.node);
      case 'crash': return this.onScheduledCrash(event.node, event.incarnation);
      case 'heal': return this.network.restore(event.links);
      case 'fault': return this.onFault();
      case 'stop-faults': return this.onStopFaults();
      case 'request': return this.onRequest(event.to, event.request);
      case 'reply': return this.onReply(event.envelope, event.outcome);
      case 'controller-tick': return this.onControllerTick(event.node, event.generation);
      case 'broker': return this.onBrokerTimer(event.node, event.incarnation);
      case 'resume': return this.onResume(event.node, event.pause);
      case 'process-restart': return this.onProcessRestart(event.node, event.incarnation);
      case 'admin': return this.onAdmin();
    }
  }

  private trace(line: string): void {
    this.options.trace?.(`t=${this.nowMs} #${this.events} ${line}`);
  }

  private fail(message: string): never {
    throw new SafetyViolation(message);
  }

  // ---- Raft nodes ------------------------------------------------------------------------------------

  private startNode(id: NodeId): void {
    const node = this.nodes.get(id)!;
    const persisted = node.disk.load();
    node.raft = new RaftNode({ ...this.raftConfig, id }, persisted, new Prng(this.prng.nextUint32()));
    // A restarted node replays from its snapshot: its image may start behind where it was.
    node.seenEpochs.clear();
    this.installImage(node, persisted.snapshot);
    node.controller = undefined;
    this.queue.push(this.nowMs + this.prng.int(1, TICK_MS), { kind: 'tick', node: id, incarnation: node.incarnation });
    // The broker process starts with the node: a new KIP-631 incarnation.
    const broker = node.broker;
    broker.process++;
    broker.incarnationId = `n${id}-p${broker.process}`;
    // The previous process is dead (it crashed or stopped with this node): most starts prove it with the
    // incarnation their data directory kept, some start without it and wait out the old session (Kafka's rule).
    broker.previousIncarnationId = this.incarnationPrng.chance(0.75) ? broker.persistedIncarnationId : undefined;
    broker.brokerEpoch = -1;
    broker.state = 'registering';
    broker.caughtUp = false;
    broker.paused = 0;
    broker.deadSinceMs ??= this.nowMs;
    broker.outstanding.clear();
    broker.followers.clear();
    broker.pendingIsr.clear();
    broker.answered.clear();
    broker.highWatermark.clear();
    broker.ledEpoch.clear();
    this.queue.push(this.nowMs + this.prng.int(1, BROKER_TIMER_MS), { kind: 'broker', node: id, incarnation: node.incarnation });
  }

  private onTick(id: NodeId, incarnation: number): void {
    const node = this.nodes.get(id)!;
    if (node.incarnation !== incarnation || node.raft === undefined) return;
    node.raft.tick();
    this.pump(node);
    this.queue.push(this.nowMs + TICK_MS, { kind: 'tick', node: id, incarnation });
  }

  private onDeliver(message: Message): void {
    const node = this.nodes.get(message.to)!;
    if (node.raft === undefined || this.network.isBlocked(message.from, message.to)) return;
    if (this.options.trace !== undefined) this.trace(`deliver ${describeMessage(message)}`);
    node.raft.step(message);
    this.pump(node);
  }

  private send(messages: readonly Message[]): void {
    for (const message of messages) {
      for (const delayMs of this.network.delaysFor(message.from, message.to)) {
        this.queue.push(this.nowMs + delayMs, { kind: 'deliver', message });
      }
    }
  }

  private pump(node: SimNode): void {
    const raft = node.raft!;
    for (let round = 0; round < 64 && node.pendingWrite === undefined && raft.hasReady(); round++) {
      const ready = raft.ready();
      this.send(ready.messages);
      if (ready.snapshot === undefined) this.applyEntries(node, ready.committedEntries);
      const latencyMs = ready.mustSync ? (node.slowDisk ? this.prng.int(20, 150) : this.prng.int(0, 3)) : 0;
      if (latencyMs === 0) {
        this.completeWrite(node, ready);
      } else {
        node.pendingWrite = ready;
        this.queue.push(this.nowMs + latencyMs, { kind: 'disk', node: node.id, incarnation: node.incarnation });
      }
    }
    this.updateController(node);
  }

  private onDiskDone(id: NodeId, incarnation: number): void {
    const node = this.nodes.get(id)!;
    if (node.incarnation !== incarnation || node.pendingWrite === undefined) return;
    const ready = node.pendingWrite;
    node.pendingWrite = undefined;
    this.completeWrite(node, ready);
    this.pump(node);
  }

  private completeWrite(node: SimNode, ready: Ready): void {
    const raft = node.raft!;
    node.disk.write(ready);
    if (ready.snapshot !== undefined) {
      this.installImage(node, ready.snapshot);
      this.stats.snapshotsInstalled++;
      this.applyEntries(node, ready.committedEntries);
    }
    this.send(raft.advance(ready).messages);
    this.maybeCompact(node);
  }

  private applyEntries(node: SimNode, entries: readonly Entry[]): void {
    for (const entry of entries) {
      // Every node applies the same entry at an index (Raft's state machine safety, as the image sees it).
      let seen = this.appliedEntries.get(entry.index);
      if (seen === undefined) {
        seen = { term: entry.term, type: entry.type, data: entry.data, records: entry.type === 'normal' && entry.data.length > 0 ? decodeMetadataRecords(entry.data) : [] };
        this.appliedEntries.set(entry.index, seen);
        this.indexEntry(entry.index, seen.records);
      } else if (seen.term !== entry.term || seen.type !== entry.type || !Buffer.from(seen.data).equals(entry.data)) {
        this.fail(`node ${node.id} applied a different entry at ${entry.index}`);
      }
      const records = seen.records;
      const { image, delta } = applyRecords(node.image, records, entry.index);
      node.image = image;
      // A broker change can make any partition's leader ineligible: then every partition is checked.
      if (delta.changedBrokers.length > 0) this.checkImage(node);
      else for (const p of delta.changedPartitions) this.checkPartition(node, p);
      this.afterApply(node, entry);
    }
  }

  private indexEntry(index: number, records: readonly MetadataRecord[]): void {
    this.checkRecoveryTransitions(index, records);
    const push = <K>(map: Map<K, number[]>, key: K): void => {
      const list = map.get(key) ?? [];
      if (list.at(-1) !== index) list.push(index);
      map.set(key, list);
    };
    for (const r of records) {
      if (r.type === 'Partition' || r.type === 'PartitionChange') {
        push(this.epochSetAt, partitionKey(r.topicId, r.partitionId));
        continue;
      }
      // Only a change from ineligible to eligible counts (a registration retry of an unfenced broker is none).
      let eligible: boolean;
      if (r.type === 'UnfenceBroker') eligible = true;
      else if (r.type === 'FenceBroker') eligible = false;
      else if (r.type === 'RegisterBroker') eligible = !r.fenced && r.inControlledShutdown !== true;
      else if (r.type === 'BrokerRegistrationChange' && r.inControlledShutdown === true) eligible = false;
      else continue;
      if (eligible && this.eligibleNow.get(r.brokerId) !== true) push(this.eligibleAt, r.brokerId);
      this.eligibleNow.set(r.brokerId, eligible);
    }
  }

  /**
   * KIP-704 on the committed record stream (entries are first applied in index order, so `committedImage`
   * is the image after each entry): a leader elected from outside the ISR makes the partition RECOVERING
   * with the ISR just that leader, and nothing else makes a RECOVERED partition RECOVERING.
   */
  private checkRecoveryTransitions(index: number, records: readonly MetadataRecord[]): void {
    const before = this.committedImage;
    const after = applyRecords(before, records, index).image;
    this.committedImage = after;
    for (const r of records) {
      if (r.type !== 'PartitionChange') continue;
      const p0 = before.topicsById.get(r.topicId)?.partitions[r.partitionId];
      const p1 = after.topicsById.get(r.topicId)?.partitions[r.partitionId];
      if (p0 === undefined || p1 === undefined) continue;
      const unclean = p1.leader !== -1 && p1.leader !== p0.leader && !p0.isr.includes(p1.leader);
      const was = p0.leaderRecoveryState ?? RECOVERED;
      const now = p1.leaderRecoveryState ?? RECOVERED;
      const where = `${r.topicId}/${r.partitionId} at offset ${index}`;
      if (unclean && (now !== RECOVERING || p1.isr.length !== 1 || p1.isr[0] !== p1.leader)) {
        this.fail(`unclean election of ${p1.leader} (ISR was ${p0.isr}) left ${where} ${now === RECOVERING ? 'RECOVERING' : 'RECOVERED'} with ISR ${p1.isr}`);
      }
      if (was === RECOVERED && now === RECOVERING && !unclean) this.fail(`${where} became RECOVERING without an unclean election`);
      if (unclean) this.stats.uncleanElections++;
      if (was === RECOVERING && now === RECOVERED) this.stats.recoveries++;
    }
  }

  /** The last index ≤ offset in an ascending list (-1: none). */
  private static lastAtOrBefore(list: readonly number[] | undefined, offset: number): number {
    if (list === undefined) return -1;
    for (let i = list.length - 1; i >= 0; i--) if (list[i]! <= offset) return list[i]!;
    return -1;
  }

  private installImage(node: SimNode, snapshot: Snapshot): void {
    const index = snapshot.metadata.index;
    if (index === 0 || snapshot.data.length === 0) {
      node.image = EMPTY_IMAGE;
      return;
    }
    node.image = applyRecords(EMPTY_IMAGE, decodeMetadataRecords(snapshot.data), index).image;
    this.checkImage(node);
  }

  /** The image as the snapshot (KRaft writes the image's records into its snapshots). */
  private maybeCompact(node: SimNode): void {
    const raft = node.raft!;
    const index = node.image.offset;
    if (index - raft.log.snapshot.metadata.index < this.compactEvery) return;
    if (index > raft.log.appliedIndex || index > raft.log.stableIndex) return;
    raft.compact(index, encodeMetadataRecords(imageRecords(node.image)));
    node.disk.saveSnapshot(raft.log.snapshot);
  }

  private crash(node: SimNode): void {
    const ready = node.pendingWrite;
    if (ready !== undefined && this.prng.chance(0.5)) node.disk.writeTorn(ready, this.prng.int(0, ready.entries.length));
    node.raft = undefined;
    node.pendingWrite = undefined;
    node.incarnation++;
    this.stopController(node, 'crash');
    node.broker.markDead(this.nowMs);
    this.stats.crashes++;
    this.trace(`crash node ${node.id}`);
    this.queue.push(this.nowMs + this.prng.int(50, 1500), { kind: 'restart', node: node.id });
  }

  private onScheduledCrash(id: NodeId, incarnation: number): void {
    const node = this.nodes.get(id)!;
    if (this.faulty && node.incarnation === incarnation && node.raft !== undefined) this.crash(node);
  }

  private onRestart(id: NodeId): void {
    const node = this.nodes.get(id)!;
    if (node.raft !== undefined) return;
    this.trace(`restart node ${id}`);
    this.startNode(id);
  }

  // ---- the controller shell --------------------------------------------------------------------------

  /** Active exactly while leading Raft with every earlier term applied (a new leader waits for its first entry). */
  private updateController(node: SimNode): void {
    const raft = node.raft;
    const ctl = node.controller;
    if (ctl !== undefined && (raft === undefined || raft.role !== 'leader' || raft.term !== ctl.term)) {
      this.stopController(node, 'lost leadership');
    }
    if (raft === undefined || raft.role !== 'leader' || node.controller !== undefined) return;
    const applied = raft.log.appliedIndex;
    if (applied < raft.log.firstIndex() - 1 || raft.log.term(applied) !== raft.term) return;
    const core = new ControllerCore({
      config: this.config, brokerLifecycle: 'heartbeats', clusterId: 'sim', bugs: this.options.bugs,
      sessionTimeoutMs: SESSION_MS, leaderImbalanceCheckIntervalMs: REBALANCE_MS,
      newTopicId: () => `00000000-0000-4000-8000-${String(++this.topicSerial).padStart(12, '0')}`,
    });
    core.activate(node.image, this.nowMs);
    const generation = ++this.controllerGeneration;
    node.controller = new Controller(core, raft.term, generation, this.nowMs);
    this.stats.controllerChanges++;
    this.trace(`controller active on node ${node.id} term ${raft.term} at offset ${node.image.offset}`);
    this.queue.push(this.nowMs + CONTROLLER_TICK_MS, { kind: 'controller-tick', node: node.id, generation });
  }

  private stopController(node: SimNode, why: string): void {
    const ctl = node.controller;
    if (ctl === undefined) return;
    node.controller = undefined;
    this.trace(`controller on node ${node.id} stopped: ${why}`);
    const notController: ControllerOutcome<unknown> = { ok: false, errorCode: ErrorCode.NOT_CONTROLLER, message: why };
    if (ctl.inflight?.envelope !== undefined) this.reply(node.id, ctl.inflight.envelope, notController);
    for (const envelope of ctl.queue) this.reply(node.id, envelope, notController);
  }

  private onRequest(to: NodeId, envelope: Envelope): void {
    const node = this.nodes.get(to)!;
    if (node.raft === undefined) return;
    this.receivedMs.set(envelope.id, this.nowMs - envelope.queuedMs);
    const ctl = node.controller;
    if (ctl === undefined) {
      this.reply(to, envelope, { ok: false, errorCode: ErrorCode.NOT_CONTROLLER, message: 'not the active controller' });
      return;
    }
    if (ctl.queue.length >= QUEUE_MAX) {
      this.reply(to, envelope, { ok: false, errorCode: ErrorCode.THROTTLING_QUOTA_EXCEEDED, message: 'queue full' });
      return;
    }
    ctl.queue.push(envelope);
    this.drive(node);
  }

  /** Decides queued requests one at a time, each only once the previous batch is applied here. */
  private drive(node: SimNode): void {
    const ctl = node.controller;
    while (ctl !== undefined && node.controller === ctl && ctl.inflight === undefined && (ctl.tickDue || ctl.queue.length > 0)) {
      if (ctl.tickDue) {
        // Periodic work is queued like a request (Kafka's periodic controller events), never skipped for busy queues.
        ctl.tickDue = false;
        this.runTick(node, ctl);
        continue;
      }
      const envelope = ctl.queue.shift()!;
      const receivedMs = this.receivedMs.get(envelope.id) ?? this.nowMs;
      this.receivedMs.delete(envelope.id);
      if (envelope.request.type === 'brokerHeartbeat' && this.nowMs - receivedMs > HEARTBEAT_MS / 2) {
        // Kafka's heartbeat deadline: half the heartbeat interval after it arrived.
        this.reply(node.id, envelope, ctl.core.expiredHeartbeat(envelope.request, node.image, receivedMs + HEARTBEAT_MS / 2).outcome);
        continue;
      }
      if (this.nowMs > envelope.deadlineMs) {
        this.reply(node.id, envelope, { ok: false, errorCode: ErrorCode.REQUEST_TIMED_OUT, message: 'deadline passed' });
        continue;
      }
      const decision = ctl.core.handle(envelope.request, node.image, this.nowMs);
      this.checkDecision(node.image, envelope.request, decision.outcome);
      if (this.options.trace !== undefined) {
        this.trace(`controller ${node.id} decides ${JSON.stringify(envelope.request)} -> ${JSON.stringify(decision.outcome)} records ${JSON.stringify(decision.records)}`);
      }
      if (decision.records.length === 0) {
        this.reply(node.id, envelope, decision.outcome);
        continue;
      }
      this.propose(node, ctl, decision.records, envelope, decision.outcome);
    }
  }

  private propose(node: SimNode, ctl: Controller, records: readonly MetadataRecord[], envelope: Envelope | undefined, outcome: ControllerOutcome<unknown>): void {
    const result = node.raft!.propose(encodeMetadataRecords(records));
    if (!result.ok) {
      if (envelope !== undefined) this.reply(node.id, envelope, { ok: false, errorCode: ErrorCode.NOT_CONTROLLER, message: result.reason });
      return;
    }
    ctl.inflight = { index: result.index, term: result.term, envelope, outcome };
    this.pump(node);
  }

  /** A node applied entries: answer the controller's in-flight batch once it is applied (or gone). */
  private afterApply(node: SimNode, entry: Entry): void {
    const ctl = node.controller;
    const inflight = ctl?.inflight;
    if (ctl === undefined || inflight === undefined || entry.index < inflight.index) return;
    ctl.inflight = undefined;
    const ours = entry.index === inflight.index && entry.term === inflight.term;
    if (inflight.envelope !== undefined) {
      this.reply(node.id, inflight.envelope, ours ? inflight.outcome : { ok: false, errorCode: ErrorCode.NOT_CONTROLLER, message: 'overwritten' });
    }
    // The rest of the queue waits for this event to finish applying; decide on the next turn.
    this.queue.push(this.nowMs, { kind: 'controller-tick', node: node.id, generation: -ctl.generation });
  }

  private onControllerTick(id: NodeId, generation: number): void {
    const node = this.nodes.get(id)!;
    const ctl = node.controller;
    if (ctl === undefined || Math.abs(generation) !== ctl.generation || node.raft === undefined) return;
    if (generation < 0) {
      this.drive(node);
      return;
    }
    this.queue.push(this.nowMs + CONTROLLER_TICK_MS, { kind: 'controller-tick', node: id, generation });
    ctl.tickDue = true;
    this.drive(node);
  }

  private runTick(node: SimNode, ctl: Controller): void {
    const id = node.id;
    const { records, events } = ctl.core.tick(node.image, this.nowMs);
    for (const e of events) {
      if (e.event === 'broker-fenced') this.stats.fencings++;
      if (e.event === 'leader-election') this.stats.elections++;
    }
    if (records.length > 0 && this.options.trace !== undefined) this.trace(`controller ${id} tick records ${JSON.stringify(records)}`);
    if (records.length > 0) this.propose(node, ctl, records, undefined, { ok: true, value: null });
  }

  private reply(from: NodeId, envelope: Envelope, outcome: ControllerOutcome<unknown>): void {
    if (envelope.senderIncarnation < 0) return;
    this.stats.requestsAnswered++;
    for (const delayMs of this.network.delaysFor(from, envelope.from)) {
      this.queue.push(this.nowMs + (from === envelope.from ? 0 : delayMs), { kind: 'reply', envelope, outcome });
    }
  }

  /**
   * Sends a request to the node a broker or the admin client believes is the controller. The network may
   * duplicate and delay it like any message. Runnel's channel does not duplicate a request on one
   * connection, but it can deliver an old copy late: ControllerClient.send retries an attempt that got no
   * answer at the next voter while RpcClient keeps the first connection (and its unsent bytes) open, so
   * the first copy can reach a voter after the leader saw another copy's answer — and that voter can be
   * active by then (seed 146807). The duplicates here stand for those late copies.
   */
  private sendRequest(from: NodeId, senderIncarnation: number, request: ControllerRequest): number {
    const id = this.nextEnvelopeId++;
    const to = this.controllerGuess(from);
    const slow = this.faulty && this.prng.chance(this.slowRequestRate) ? this.prng.int(100, SLOW_REQUEST_MAX_MS) : 0;
    const envelope: Envelope = { id, deadlineMs: this.nowMs + REQUEST_DEADLINE_MS, queuedMs: slow, from, senderIncarnation, request };
    for (const delayMs of this.network.delaysFor(from, to)) {
      this.queue.push(this.nowMs + (from === to ? 0 : delayMs) + slow, { kind: 'request', to, request: envelope });
    }
    return id;
  }

  /** The Raft leader this node knows of, else a random node (KRaft brokers learn the controller from the quorum). */
  private controllerGuess(from: NodeId): NodeId {
    const leaderId = this.nodes.get(from)?.raft?.leaderId;
    if (leaderId !== undefined && leaderId > 0 && this.prng.chance(0.9)) return leaderId;
    return this.prng.pick([...this.nodes.keys()]);
  }

  // ---- brokers ---------------------------------------------------------------------------------------

  private onBrokerTimer(id: NodeId, incarnation: number): void {
    const node = this.nodes.get(id)!;
    if (node.incarnation !== incarnation || node.raft === undefined) return;
    this.queue.push(this.nowMs + BROKER_TIMER_MS, { kind: 'broker', node: id, incarnation });
    const broker = node.broker;
    if (broker.paused > 0 || broker.state === 'stopped') return;
    for (const [kind, sent] of broker.outstanding) {
      if (this.nowMs - sent.sentMs > REQUEST_TIMEOUT_MS) broker.outstanding.delete(kind);
    }
    if (broker.state === 'registering') {
      if (!broker.outstanding.has('register')) {
        const sent = this.sendRequest(id, broker.process, {
          type: 'registerBroker', brokerId: id, incarnationId: broker.incarnationId, clusterId: 'sim', host: 'sim', port: id, rack: id % 2 === 0 ? 'even' : 'odd',
          ...(broker.previousIncarnationId !== undefined ? { previousIncarnationId: broker.previousIncarnationId } : {}),
        });
        broker.outstanding.set('register', { id: sent, sentMs: this.nowMs });
      }
      return;
    }
    if (this.nowMs - broker.lastHeartbeatMs >= HEARTBEAT_MS && !broker.outstanding.has('heartbeat')) {
      broker.lastHeartbeatMs = this.nowMs;
      broker.lastHeartbeatSentMs = this.nowMs;
      const sent = this.sendRequest(id, broker.process, {
        type: 'brokerHeartbeat', brokerId: id, brokerEpoch: broker.brokerEpoch, currentMetadataOffset: node.image.offset,
        wantFence: false, wantShutDown: broker.state === 'shutting-down',
      });
      broker.outstanding.set('heartbeat', { id: sent, sentMs: this.nowMs });
    }
    this.replicate(node);
  }

  private onReply(envelope: Envelope, outcome: ControllerOutcome<unknown>): void {
    const node = this.nodes.get(envelope.from)!;
    const broker = node.broker;
    if (node.raft === undefined || envelope.senderIncarnation !== broker.process || broker.state === 'stopped') return;
    const request = envelope.request;
    const kind = request.type === 'registerBroker' ? 'register' : 'heartbeat';
    if (request.type !== 'alterPartition' && broker.outstanding.get(kind)?.id === envelope.id) broker.outstanding.delete(kind);
    if (!outcome.ok) {
      if (outcome.errorCode === ErrorCode.STALE_BROKER_EPOCH && broker.state !== 'registering') {
        broker.state = 'registering';
        if (request.type === 'alterPartition') this.settleIsr(broker, request, envelope.id, 'clear');
      }
      // NOT_CONTROLLER, REQUEST_TIMED_OUT, a full queue: the proposal stays pending and is re-sent (AlterPartitionManager).
      return;
    }
    switch (request.type) {
      case 'registerBroker': {
        if (broker.state !== 'registering') return;
        broker.brokerEpoch = (outcome as ControllerOutcomeOf<'registerBroker'> & { ok: true }).value.brokerEpoch;
        broker.state = 'running';
        if (request.previousIncarnationId !== undefined) this.stats.restartsProvingPrevious++;
        // Written after the registration, durably; a crash before the write leaves the older id (next start waits).
        if (this.incarnationPrng.chance(0.9)) broker.persistedIncarnationId = broker.incarnationId;
        broker.lastHeartbeatMs = -1e9;
        return;
      }
      case 'brokerHeartbeat': {
        const value = (outcome as ControllerOutcomeOf<'brokerHeartbeat'> & { ok: true }).value;
        if (request.brokerEpoch !== broker.brokerEpoch) return;
        if (value.isCaughtUp) broker.caughtUp = true;
        if (!value.isFenced && broker.deadSinceMs !== undefined) broker.deadSinceMs = undefined;
        if (value.shouldShutDown && broker.state === 'shutting-down') {
          broker.state = 'stopped';
          broker.markDead(this.nowMs);
          this.trace(`broker ${node.id} shut down`);
          // The process exits (its Raft node with it, as in combined mode) and is started again.
          this.queue.push(this.nowMs + this.prng.int(10, 200), { kind: 'process-restart', node: node.id, incarnation: node.incarnation });
        }
        return;
      }
      case 'alterPartition': {
        const item = (outcome as ControllerOutcomeOf<'alterPartition'> & { ok: true }).value.partitions[0]!;
        const key = partitionKey(item.topicId, item.partitionId);
        if (broker.pendingIsr.get(key)?.envelopeId !== envelope.id) return;
        if (item.errorCode === ErrorCode.NONE) {
          this.stats.isrChanges++;
          broker.answered.set(key, { leaderEpoch: item.leaderEpoch, partitionEpoch: item.partitionEpoch, isr: item.isr });
          this.settleIsr(broker, request, envelope.id, 'clear');
        } else if (item.errorCode === ErrorCode.INELIGIBLE_REPLICA || item.errorCode === ErrorCode.INVALID_REQUEST) {
          // Refused against the very partition epoch it named: nothing of it was committed.
          this.settleIsr(broker, request, envelope.id, 'clear');
        } else {
          // A newer state exists (it may hold an earlier copy of this proposal): keep the maximal ISR until the metadata shows it.
          this.settleIsr(broker, request, envelope.id, 'settle');
        }
        return;
      }
      default:
        return;
    }
  }

  private settleIsr(broker: Broker, request: ControllerRequestOf<'alterPartition'>, envelopeId: number, how: 'clear' | 'settle'): void {
    const item = request.partitions[0]!;
    const key = partitionKey(item.topicId, item.partitionId);
    const pending = broker.pendingIsr.get(key);
    if (pending?.envelopeId !== envelopeId) return;
    if (how === 'clear') broker.pendingIsr.delete(key);
    else pending.settled = true;
  }

  private log(broker: Broker, key: string): SimLog {
    let log = broker.logs.get(key);
    if (log === undefined) {
      log = new SimLog();
      broker.logs.set(key, log);
    }
    return log;
  }

  /** The data plane, as far as the controller cares: appends, fetches, high watermarks, ISR proposals. */
  private replicate(node: SimNode): void {
    const broker = node.broker;
    if ((broker.state !== 'running' && broker.state !== 'shutting-down') || !broker.caughtUp) return;
    for (const topic of node.image.topicsById.values()) {
      for (const p of topic.partitions) {
        const key = partitionKey(p.topicId, p.partitionId);
        if (p.leader === node.id) this.lead(node, p, key);
        else if (p.replicas.includes(node.id) && p.leader > 0) this.fetch(node, p, key);
      }
    }
  }

  private lead(node: SimNode, image: PartitionImage, key: string): void {
    const broker = node.broker;
    const answered = broker.answered.get(key);
    const p: PartitionImage = answered !== undefined && answered.leaderEpoch === image.leaderEpoch && answered.partitionEpoch > image.partitionEpoch
      ? { ...image, isr: answered.isr, partitionEpoch: answered.partitionEpoch }
      : image;
    const log = this.log(broker, key);
    let views = broker.followers.get(key);
    if (views === undefined || broker.ledEpoch.get(key) !== p.leaderEpoch) {
      // Becoming leader: every follower is unknown; ISR members count as caught up now (Kafka's Partition.makeLeader).
      broker.ledEpoch.set(key, p.leaderEpoch);
      views = new Map(p.replicas.filter((r) => r !== node.id).map((r) => [r, { leaderEpoch: p.leaderEpoch, logEnd: 0, caughtUpMs: p.isr.includes(r) ? this.nowMs : -1 }]));
      broker.followers.set(key, views);
      broker.pendingIsr.delete(key);
      broker.answered.delete(key);
    }
    // Appends (acks=all producers), bounded so a seed stays small.
    if (log.length < LOG_LENGTH_MAX && this.prng.chance(0.5)) log.append(p.leaderEpoch, this.prng.int(1, 3));
    let pending = broker.pendingIsr.get(key);
    if (pending !== undefined && (pending.leaderEpoch !== p.leaderEpoch || p.partitionEpoch > pending.partitionEpoch)) {
      // The metadata shows a newer partition state: the proposal was applied or overtaken.
      broker.pendingIsr.delete(key);
      pending = undefined;
    }
    // KIP-497: the high watermark waits for every member of the maximal ISR (committed ISR plus a pending addition).
    const maximal = new Set([...p.isr, ...(pending?.newIsr ?? [])]);
    let hw = log.length;
    for (const r of maximal) if (r !== node.id) hw = Math.min(hw, views.get(r)?.logEnd ?? 0);
    if (hw > (broker.highWatermark.get(key) ?? 0)) {
      broker.highWatermark.set(key, hw);
      this.acknowledge(key, SimLog.copyOf(log, hw), `leader ${node.id} epoch ${p.leaderEpoch}`);
    }
    if (pending !== undefined) {
      if (!pending.settled && this.nowMs - pending.sentMs > REQUEST_DEADLINE_MS) {
        // No copy of it can still be processed: send it again, unchanged.
        pending.envelopeId = this.sendAlterPartition(node, p, pending.newIsr, pending.leaderEpoch, pending.partitionEpoch);
        pending.sentMs = this.nowMs;
      }
      return;
    }
    const hwNow = broker.highWatermark.get(key) ?? 0;
    let newIsr: number[] | undefined;
    const lagging = p.isr.filter((r) => r !== node.id && this.nowMs - (views.get(r)?.caughtUpMs ?? -1e9) > REPLICA_LAG_MS);
    if (lagging.length > 0) newIsr = p.isr.filter((r) => !lagging.includes(r));
    else {
      const joining = p.replicas.find((r) => r !== node.id && !p.isr.includes(r) && (views.get(r)?.caughtUpMs ?? -1) >= 0 && views.get(r)!.logEnd >= hwNow);
      if (joining !== undefined) newIsr = [...p.isr, joining];
    }
    if (newIsr === undefined) return;
    const envelopeId = this.sendAlterPartition(node, p, newIsr, p.leaderEpoch, p.partitionEpoch);
    broker.pendingIsr.set(key, { envelopeId, sentMs: this.nowMs, settled: false, newIsr, leaderEpoch: p.leaderEpoch, partitionEpoch: p.partitionEpoch });
  }

  private sendAlterPartition(node: SimNode, p: PartitionImage, newIsr: readonly number[], leaderEpoch: number, partitionEpoch: number): number {
    return this.sendRequest(node.id, node.broker.process, {
      type: 'alterPartition', brokerId: node.id, brokerEpoch: node.broker.brokerEpoch,
      // The leader reports RECOVERED with every ISR change (Kafka's Partition.makeLeader marks it so locally).
      partitions: [{ topicId: p.topicId, partitionId: p.partitionId, leaderEpoch, partitionEpoch, newIsr: [...newIsr], leaderRecoveryState: RECOVERED }],
    });
  }

  /** A follower fetches from the leader its image names, at that leader epoch (KIP-320/595 fencing). */
  private fetch(node: SimNode, p: PartitionImage, key: string): void {
    const leaderNode = this.nodes.get(p.leader);
    if (leaderNode === undefined || leaderNode.raft === undefined || this.network.isBlocked(node.id, p.leader) || this.network.isBlocked(p.leader, node.id)) return;
    const leaderBroker = leaderNode.broker;
    if (leaderBroker.paused > 0 || !leaderBroker.caughtUp || (leaderBroker.state !== 'running' && leaderBroker.state !== 'shutting-down')) return;
    const leaderView = leaderNode.image.topicsById.get(p.topicId)?.partitions[p.partitionId];
    if (leaderView === undefined || leaderView.leader !== p.leader || leaderView.leaderEpoch !== p.leaderEpoch) return;
    const leaderLog = this.log(leaderBroker, key);
    const mine = this.log(node.broker, key);
    // Truncate where the logs diverge (the leader-epoch check of KIP-101/279), then copy a chunk.
    mine.truncate(mine.commonPrefix(leaderLog));
    mine.copyFrom(leaderLog, this.prng.int(1, 20));
    const views = leaderBroker.followers.get(key);
    if (views === undefined || leaderBroker.ledEpoch.get(key) !== p.leaderEpoch) return;
    const previous = views.get(node.id);
    const caughtUp = mine.length === leaderLog.length;
    views.set(node.id, {
      leaderEpoch: p.leaderEpoch, logEnd: mine.length,
      caughtUpMs: caughtUp ? this.nowMs : previous?.leaderEpoch === p.leaderEpoch ? previous.caughtUpMs : -1,
    });
  }

  /** A leader's high watermark moved: acknowledged records never change, and every ISR member holds them. */
  private acknowledge(key: string, prefix: SimLog, by: string): void {
    const acked = this.acknowledged.get(key);
    if (acked !== undefined && !this.uncleanPartitions.has(key) && prefix.commonPrefix(acked) < Math.min(acked.length, prefix.length)) {
      this.fail(`${by} acknowledged ${key} as ${prefix.describe()}, earlier acknowledged ${acked.describe()}`);
    }
    if (acked === undefined || prefix.length > acked.length) this.acknowledged.set(key, prefix);
    this.checkIsrHoldsAcknowledged(key);
  }

  /** On the controller's (latest) image: every ISR member's log holds every acknowledged record. */
  private checkIsrHoldsAcknowledged(key: string): void {
    const acked = this.acknowledged.get(key);
    const controller = this.activeControllerNode();
    if (acked === undefined || controller === undefined || this.uncleanPartitions.has(key)) return;
    const [topicId, partition] = [key.slice(0, key.lastIndexOf('/')), Number(key.slice(key.lastIndexOf('/') + 1))];
    const p = controller.image.topicsById.get(topicId)?.partitions[partition];
    if (p === undefined) return;
    for (const r of p.isr) {
      const log = this.nodes.get(r)!.broker.logs.get(key) ?? new SimLog();
      if (!log.hasPrefix(acked)) {
        this.fail(`ISR member ${r} of ${key} (ISR ${p.isr}, partition epoch ${p.partitionEpoch}) lacks acknowledged records: has ${log.describe()}, acknowledged ${acked.describe()}`);
      }
    }
  }

  /**
   * The controller whose image holds the latest committed metadata. A leader whose term is below one a
   * running node already knows has been deposed and has not noticed yet (cut off, it steps down only after
   * an election timeout, CheckQuorum): its image can lag what the newer term committed, so it is not the
   * active controller. Seed 129743: the term-2 controller committed an ISR shrink and crashed; the cut-off
   * term-1 leader's image still showed the old ISR, and the check blamed a crashed replica for records
   * acknowledged under the shrunk ISR.
   */
  private activeControllerNode(): SimNode | undefined {
    const leader = this.leaderNode();
    if (leader?.controller === undefined) return undefined;
    for (const node of this.nodes.values()) {
      if (node.raft !== undefined && node.raft.term > leader.raft!.term) return undefined;
    }
    return leader;
  }

  private onProcessRestart(id: NodeId, incarnation: number): void {
    const node = this.nodes.get(id)!;
    if (node.incarnation !== incarnation || node.raft === undefined) return;
    this.crash(node);
  }

  private onResume(id: NodeId, pause: number): void {
    const broker = this.nodes.get(id)!.broker;
    if (broker.paused !== pause) return;
    broker.paused = 0;
    this.trace(`broker ${id} resumed`);
  }

  // ---- admin client ----------------------------------------------------------------------------------

  private onAdmin(): void {
    this.queue.push(this.nowMs + this.prng.int(50, 300), { kind: 'admin' });
    const live = [...this.nodes.values()].filter((n) => n.raft !== undefined);
    if (live.length === 0) return;
    const from = this.prng.pick(live);
    const topics = [...from.image.topicsById.values()];
    const roll = this.prng.next();
    let request: ControllerRequest;
    if (topics.length < TOPICS_MAX && (topics.length === 0 || roll < 0.3)) {
      const configs = this.prng.chance(0.15) ? [{ name: 'unclean.leader.election.enable', value: 'true' }] : [];
      request = {
        type: 'createTopic', validateOnly: false,
        topic: { name: `t${this.prng.int(1, 12)}`, numPartitions: this.prng.int(1, 6), replicationFactor: this.prng.int(1, 3), assignments: [], configs },
      };
      this.stats.topicsCreated++;
    } else if (roll < 0.4 && topics.length > 0) {
      const t = this.prng.pick(topics);
      request = { type: 'createPartitions', validateOnly: false, input: { name: t.name, count: Math.min(t.partitions.length + this.prng.int(1, 2), 8), assignments: null } };
    } else if (roll < 0.5 && topics.length > 0) {
      request = { type: 'deleteTopic', name: this.prng.pick(topics).name, topicId: null };
    } else if (roll < 0.7) {
      request = { type: 'electLeaders', electionType: this.prng.chance(0.8) ? 0 : 1, partitions: null };
    } else if (roll < 0.8 && topics.length > 0) {
      request = {
        type: 'alterConfigs', nodeId: from.id, validateOnly: false, mode: 'incremental',
        resource: { resourceType: 2, resourceName: this.prng.pick(topics).name },
        configs: [{ name: 'unclean.leader.election.enable', value: this.prng.chance(0.3) ? 'true' : 'false', configOperation: 0 }],
      };
    } else {
      request = { type: 'allocateProducerIds', brokerId: from.id, brokerEpoch: from.broker.brokerEpoch };
    }
    this.sendRequest(from.id, -1, request);
  }

  // ---- faults ----------------------------------------------------------------------------------------

  private onFault(): void {
    if (!this.faulty) return;
    const roll = this.prng.next();
    const live = [...this.nodes.values()].filter((n) => n.raft !== undefined);
    if (roll < 0.15 && live.length > 0) {
      const leader = live.find((n) => n.raft!.role === 'leader');
      this.crash(leader !== undefined && this.prng.chance(0.4) ? leader : this.prng.pick(live));
    } else if (roll < 0.35) {
      this.partitionRandom();
    } else if (roll < 0.5 && live.length > 0) {
      this.pauseBroker(this.prng.pick(live));
    } else if (roll < 0.6 && live.length > 0) {
      const node = this.prng.pick(live);
      if (node.broker.state === 'running' && node.broker.paused === 0) {
        node.broker.state = 'shutting-down';
        this.stats.controlledShutdowns++;
        this.trace(`controlled shutdown of broker ${node.id}`);
      }
    } else if (roll < 0.68) {
      const node = this.prng.pick([...this.nodes.values()]);
      node.slowDisk = !node.slowDisk;
    } else if (roll < 0.76 && live.length > 0) {
      this.transferLeadership();
    } else if (roll < 0.82) {
      this.changeConf();
    }
    this.queue.push(this.nowMs + this.prng.int(50, 400), { kind: 'fault' });
  }

  /** A broker stops heartbeating and serving for a while (a GC pause, a stuck disk), its Raft node still up. */
  private pauseBroker(node: SimNode): void {
    const broker = node.broker;
    if (broker.paused > 0) return;
    broker.paused = this.prng.int(1, 1e9);
    broker.markDead(this.nowMs);
    this.stats.pauses++;
    const durationMs = this.prng.chance(0.5) ? this.prng.int(50, SESSION_MS / 2) : this.prng.int(SESSION_MS, 3 * SESSION_MS);
    this.trace(`pause broker ${node.id} for ${durationMs}ms`);
    this.queue.push(this.nowMs + durationMs, { kind: 'resume', node: node.id, pause: broker.paused });
  }

  private partitionRandom(): void {
    const ids = this.prng.shuffle([...this.nodes.keys()]);
    const cut = ids.slice(0, this.prng.int(1, Math.max(1, Math.floor(ids.length / 2))));
    const links = linksBetween(cut, ids.filter((id) => !cut.includes(id)), this.prng.chance(0.2));
    this.network.cut(links);
    this.stats.partitions++;
    this.trace(`partition ${cut.join(',')} | rest`);
    this.queue.push(this.nowMs + this.prng.int(100, 1500), { kind: 'heal', links });
  }

  private leaderNode(): SimNode | undefined {
    let best: SimNode | undefined;
    for (const node of this.nodes.values()) {
      if (node.raft?.role === 'leader' && (best === undefined || node.raft.term > best.raft!.term)) best = node;
    }
    return best;
  }

  private transferLeadership(): void {
    const leader = this.leaderNode();
    if (leader === undefined) return;
    const others = leader.raft!.log.confState.voters.filter((id) => id !== leader.id);
    if (others.length === 0) return;
    leader.raft!.transferLeadership(this.prng.pick(others));
    this.pump(leader);
  }

  private changeConf(): void {
    const leader = this.leaderNode();
    if (leader === undefined) return;
    const conf = leader.raft!.log.confState;
    const choices: ConfChange[] = [];
    for (const id of conf.learners) if (conf.voters.length < 5) choices.push({ type: 'add-voter', nodeId: id });
    for (const id of conf.voters) if (conf.voters.length > 3) choices.push({ type: 'add-learner', nodeId: id });
    if (choices.length === 0) return;
    leader.raft!.proposeConfChange(this.prng.pick(choices));
    this.pump(leader);
  }

  private onStopFaults(): void {
    this.faulty = false;
    this.network.healAll();
    this.network.faults = { dropRate: 0, duplicateRate: 0, maxDelayMs: Math.min(this.network.faults.maxDelayMs, 10) };
    for (const node of this.nodes.values()) {
      node.slowDisk = false;
      node.broker.paused = 0;
      if (node.raft === undefined) this.onRestart(node.id);
    }
    this.trace('faults stopped; network healed; all nodes up');
  }

  // ---- invariants ------------------------------------------------------------------------------------

  /** One node's image changed: structure, epochs, fencing, global agreement. */
  private checkImage(node: SimNode): void {
    for (const topic of node.image.topicsById.values()) for (const p of topic.partitions) this.checkPartition(node, p);
  }

  /** One partition of one node's image: structure, epochs, fencing, global agreement. */
  private checkPartition(node: SimNode, p: PartitionImage): void {
    const image = node.image;
    const key = partitionKey(p.topicId, p.partitionId);
    const where = (): string => `${image.topicsById.get(p.topicId)?.name}-${p.partitionId} on node ${node.id} at offset ${image.offset}`;
    if (new Set(p.replicas).size !== p.replicas.length || p.replicas.length === 0) this.fail(`replicas ${p.replicas} of ${where()}`);
    if (p.isr.length === 0) this.fail(`empty ISR of ${where()}`);
    // KIP-704: a leader recovering from an unclean election keeps the ISR to itself.
    if (p.leaderRecoveryState === RECOVERING && p.isr.length !== 1) this.fail(`RECOVERING with ISR ${p.isr} of ${where()}`);
    if (!p.isr.every((r) => p.replicas.includes(r))) this.fail(`ISR ${p.isr} not within replicas ${p.replicas} of ${where()}`);
    if (p.leader !== -1) {
      if (!p.isr.includes(p.leader)) this.fail(`leader ${p.leader} not in ISR ${p.isr} of ${where()}`);
      const b = image.brokers.get(p.leader);
      if (b === undefined || b.fenced || b.inControlledShutdown) {
        this.fail(`leader ${p.leader} of ${where()} is ${b === undefined ? 'unregistered' : b.fenced ? 'fenced' : 'in controlled shutdown'}`);
      }
    }
    const seen = node.seenEpochs.get(key);
    if (seen !== undefined && (p.leaderEpoch < seen.leaderEpoch || p.partitionEpoch < seen.partitionEpoch)) {
      this.fail(`epochs of ${where()} went back: leader ${seen.leaderEpoch} -> ${p.leaderEpoch}, partition ${seen.partitionEpoch} -> ${p.partitionEpoch}`);
    }
    if (seen !== undefined && seen.partitionEpoch === p.partitionEpoch) return;
    // An unclean election (topic config, or ElectLeaders with UNCLEAN): a leader from outside the previous ISR.
    if (seen !== undefined && p.leader !== -1 && p.leaderEpoch !== seen.leaderEpoch && !seen.isr.includes(p.leader)) this.uncleanPartitions.add(key);
    const topicName = image.topicsById.get(p.topicId)!.name;
    if (topicConfigOverrides(image, topicName).get('unclean.leader.election.enable') === 'true') this.uncleanPartitions.add(key);
    node.seenEpochs.set(key, { leaderEpoch: p.leaderEpoch, partitionEpoch: p.partitionEpoch, isr: p.isr });
    const epochKey = `${key}@${p.leaderEpoch}`;
    const leader = this.leaderOfEpoch.get(epochKey);
    if (leader === undefined) this.leaderOfEpoch.set(epochKey, p.leader);
    else if (leader !== p.leader) this.fail(`two leaders (${leader}, ${p.leader}) in leader epoch ${p.leaderEpoch} of ${where()}`);
    const stateKey = `${key}#${p.partitionEpoch}`;
    const state = `${p.leader}/${p.leaderEpoch}/${p.isr.join(',')}/${p.replicas.join(',')}`;
    const known = this.stateOfPartitionEpoch.get(stateKey);
    if (known === undefined) this.stateOfPartitionEpoch.set(stateKey, state);
    else if (known !== state) this.fail(`partition epoch ${p.partitionEpoch} of ${where()} is ${state} here, ${known} elsewhere`);
    // The latest committed state (the active controller's image): its ISR, leader included, holds every acknowledged record.
    if (node.controller !== undefined) this.checkIsrHoldsAcknowledged(key);
  }

  /**
   * KIP-704, checked on the answer whatever the core's code: an AlterPartition is accepted only when it
   * names the partition's current leader epoch and partition epoch, comes from the leader, and keeps the
   * ISR within the replicas with only active brokers added.
   */
  private checkDecision(image: MetadataImage, request: ControllerRequest, outcome: ControllerOutcome<unknown>): void {
    if (request.type !== 'alterPartition' || !outcome.ok) return;
    const results = (outcome as ControllerOutcomeOf<'alterPartition'> & { ok: true }).value.partitions;
    for (const [i, item] of request.partitions.entries()) {
      if (results[i]?.errorCode !== ErrorCode.NONE) continue;
      const p = image.topicsById.get(item.topicId)?.partitions[item.partitionId];
      const why = p === undefined ? 'unknown partition'
        : p.leader !== request.brokerId ? `requester ${request.brokerId} is not the leader ${p.leader}`
        : p.leaderEpoch !== item.leaderEpoch ? `leader epoch ${item.leaderEpoch}, current ${p.leaderEpoch}`
        : p.partitionEpoch !== item.partitionEpoch ? `partition epoch ${item.partitionEpoch}, current ${p.partitionEpoch}`
        : !item.newIsr.every((r) => p.replicas.includes(r)) ? `ISR ${item.newIsr} outside replicas ${p.replicas}`
        : !item.newIsr.every((r) => p.isr.includes(r) || isActive(image, r)) ? `ISR ${item.newIsr} adds an inactive broker`
        : undefined;
      if (why !== undefined) this.fail(`AlterPartition of ${item.topicId}/${item.partitionId} accepted: ${why}`);
      // An INELIGIBLE_REPLICA refusal is final (replication-control.ts eligibilityEpochBumps): a broker added
      // at a partition epoch was eligible all along since that epoch was set, so no copy of a proposal refused
      // while it was fenced can be accepted after it is unfenced (seed 146807).
      const key = partitionKey(item.topicId, item.partitionId);
      const epochSet = ControllerSimulation.lastAtOrBefore(this.epochSetAt.get(key), image.offset);
      for (const r of item.newIsr) {
        if (p!.isr.includes(r)) continue;
        const eligible = ControllerSimulation.lastAtOrBefore(this.eligibleAt.get(r), image.offset);
        if (eligible > epochSet) {
          this.fail(`AlterPartition of ${key} accepted: adds broker ${r}, eligible again at offset ${eligible}, to partition epoch ${item.partitionEpoch} set at offset ${epochSet}`);
        }
      }
    }
  }

  private checkAfterEvent(): void {
    const leader = this.leaderNode();
    const ctl = leader?.controller;
    if (leader === undefined || ctl === undefined) return;
    // A broker that cannot heartbeat leads nothing once its session has run out under this controller.
    for (const node of this.nodes.values()) {
      const dead = node.broker.deadSinceMs;
      if (dead === undefined) continue;
      const since = Math.max(dead, ctl.sinceMs);
      if (this.nowMs - since <= SESSION_MS + FENCE_SLACK_MS) continue;
      const b = leader.image.brokers.get(node.id);
      if (b !== undefined && !b.fenced && this.aliveAndHeartbeating(node)) continue;
      for (const topic of leader.image.topicsById.values()) {
        for (const p of topic.partitions) {
          if (p.leader === node.id) this.fail(`broker ${node.id}, down since ${dead} ms, still leads ${topic.name}-${p.partitionId} under the controller active since ${ctl.sinceMs} ms`);
        }
      }
    }
  }

  private aliveAndHeartbeating(node: SimNode): boolean {
    return node.raft !== undefined && node.broker.paused === 0 && node.broker.state !== 'stopped';
  }

  // ---- the end --------------------------------------------------------------------------------------

  private converged(): boolean {
    return this.notConvergedReason() === undefined;
  }

  private notConvergedReason(): string | undefined {
    const leader = this.leaderNode();
    if (leader?.controller === undefined) return 'no active controller';
    for (const node of this.nodes.values()) {
      const b = leader.image.brokers.get(node.id);
      if (b === undefined || b.fenced || node.broker.state !== 'running') return `broker ${node.id} not registered and unfenced`;
    }
    if (leader.controller.inflight !== undefined || leader.controller.queue.length > 0) return 'controller busy';
    const expected = JSON.stringify(imageRecords(leader.image));
    for (const node of this.nodes.values()) {
      if (node.image.offset !== leader.image.offset) return `node ${node.id} at offset ${node.image.offset}, controller at ${leader.image.offset}`;
      if (JSON.stringify(imageRecords(node.image)) !== expected) this.fail(`node ${node.id}'s image differs from the controller's at offset ${node.image.offset}`);
    }
    return undefined;
  }
}

export function runControllerSimulation(options: ControllerSimOptions): ControllerSimResult {
  return new ControllerSimulation(options).run();
}
