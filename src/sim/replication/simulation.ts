/**
 * Seeded simulation of partition replication (issue #22; DESIGN §5 "sim/"): the IO-free replication core
 * (src/replication/partition-replication.ts — follower states, HW over the maximal ISR, ISR proposals,
 * KIP-595 divergence, `truncationOffset`) and the real LeaderEpochCache, driven together with a model of
 * the KRaft controller's partition logic, under crashes, network partitions, message loss and
 * reordering. One seed decides everything (STYLE.md 2); invariants are checked after every event.
 *
 * Model: one partition, 3 or 5 replicas, one record per batch (offset = index). Each node has a log,
 * a durable end (fsync mode: a crash loses everything past it), a HW (its checkpoint is written at
 * flushes), the core, and its view of the committed partition state (metadata arrives late, in order).
 * The controller elects only from the ISR (clean election), fences a broker that misses its session
 * (crash or partition from the controller), removes fenced brokers from the ISR (never the last one),
 * and validates AlterPartition (leader epoch, partition epoch, eligible members) before committing.
 * Followers fetch with LastFetchedEpoch and acknowledge only flushed bytes; producers send acks=-1 to the
 * node they believe leads; consumers fetch with the leader epoch they know (KIP-320).
 *
 * Invariants:
 * - committed: a record any consumer read below a HW is never changed or lost — every node's log below
 *   its own HW agrees with it (replicas agree up to the HW);
 * - each consumer's HW never goes back (a leader serves consumers only once its HW reached the start of
 *   its epoch, Runnel's OFFSET_NOT_AVAILABLE rule — see replica-manager / delayed-fetch);
 * - every acknowledged acks=-1 write is, after the faults stop and the cluster heals, at its offset in
 *   every replica below the HW.
 * Deliberate bugs (each must be caught): HW = leader's log end; no truncation on divergence; ISR shrink
 * applied before the controller commits it; follower acknowledging before its flush.
 */
import { Prng } from '../../common/prng.js';
import { EventQueue } from '../event-queue.js';
import { LeaderEpochCache } from '../../storage/leader-epoch-cache.js';
import { PartitionReplication, truncationOffset, type IsrProposal, type LeaderAndIsr } from '../../replication/partition-replication.js';

export const REPLICATION_BUG_NAMES = ['hw-leader-log-end', 'no-truncation-on-divergence', 'isr-shrink-before-commit', 'ack-before-flush'] as const;
export type ReplicationBugName = (typeof REPLICATION_BUG_NAMES)[number];

export interface ReplicationSimOptions {
  readonly seed: number;
  readonly bugs?: ReadonlySet<ReplicationBugName>;
  readonly trace?: (line: string) => void;
  /** Simulated time with faults, then the healing phase. */
  readonly faultPhaseMs?: number;
}

export interface ReplicationSimResult {
  readonly seed: number;
  readonly ok: boolean;
  readonly failure: string | undefined;
  readonly replicas: number;
  readonly events: number;
  readonly timeMs: number;
  readonly acknowledged: number;
  readonly committed: number;
  readonly stats: Record<string, number>;
}

class InvariantViolation extends Error {
  override name = 'InvariantViolation';
}

const CONTROLLER = 0;
const REPLICA_LAG_TIME_MAX_MS = 300;
const SESSION_TIMEOUT_MS = 150;
const ALTER_PARTITION_TIMEOUT_MS = 200;
const FETCH_TIMEOUT_MS = 150;
const PRODUCE_TIMEOUT_MS = 400;
const FETCH_BATCHES_MAX = 4;
const HEAL_PHASE_MS = 20_000;
const EVENTS_MAX = 300_000;

interface Entry { readonly epoch: number; readonly value: number }

/** A node's partition log: records, durable end, HW and its checkpoint, the real epoch cache. */
class SimLog {
  entries: Entry[] = [];
  durableEnd = 0;
  highWatermark = 0;
  checkpointedHighWatermark = 0;
  epochs = new LeaderEpochCache();

  get end(): number { return this.entries.length; }
  latestEpoch(): number { return this.epochs.latestEpoch() ?? -1; }

  appendLeader(epoch: number, value: number): number {
    this.epochs.assign(epoch, this.end);
    this.entries.push({ epoch, value });
    return this.end - 1;
  }

  /** PartitionLog.appendAsFollower: the leader's entries at the leader's offsets, epochs from the batches. */
  appendFollower(baseOffset: number, entries: readonly Entry[]): void {
    if (baseOffset !== this.end) throw new InvariantViolation(`follower append at ${baseOffset} onto log end ${this.end}`);
    for (const entry of entries) {
      const latest = this.epochs.latestEpoch();
      if (latest === undefined || entry.epoch > latest) this.epochs.assign(entry.epoch, this.end);
      this.entries.push(entry);
    }
  }

  truncateTo(offset: number): void {
    // An epoch this node started as leader without appending sits at the log end: it goes too.
    this.epochs.truncateFromEnd(Math.min(offset, this.end));
    if (offset >= this.end) return;
    this.entries.length = offset;
    this.durableEnd = Math.min(this.durableEnd, offset);
    this.epochs.truncateFromEnd(offset);
    this.highWatermark = Math.min(this.highWatermark, offset);
  }

  flush(): void {
    this.durableEnd = this.end;
    this.checkpointedHighWatermark = this.highWatermark;
  }

  /** kill -9: unflushed records are gone; recovery rebuilds the epoch cache from the batches. */
  crash(): void {
    this.entries.length = this.durableEnd;
    this.highWatermark = Math.min(this.checkpointedHighWatermark, this.durableEnd);
    this.epochs = new LeaderEpochCache();
    this.entries.forEach((entry, offset) => {
      const latest = this.epochs.latestEpoch();
      if (latest === undefined || entry.epoch > latest) this.epochs.assign(entry.epoch, offset);
    });
  }
}

type Message =
  | { kind: 'fetch'; from: number; to: number; incarnation: number; fetchId: number; fetchOffset: number; lastFetchedEpoch: number; currentLeaderEpoch: number }
  | { kind: 'fetch-response'; from: number; to: number; incarnation: number; fetchId: number; leaderEpoch: number; error?: string; leaderEnd?: number; diverging?: { epoch: number; endOffset: number }; baseOffset: number; entries: Entry[]; highWatermark: number }
  | { kind: 'alter-partition'; from: number; to: number; incarnation: number; proposal: IsrProposal }
  | { kind: 'alter-partition-response'; from: number; to: number; incarnation: number; proposal: IsrProposal; error?: string; state?: LeaderAndIsr }
  | { kind: 'metadata'; from: number; to: number; incarnation: number; version: number; state: LeaderAndIsr; fenced: number[]; registered: [number, number][] }
  | { kind: 'register'; from: number; to: number; incarnation: number };

type SimEvent =
  | { kind: 'deliver'; message: Message }
  | { kind: 'crash'; node: number }
  | { kind: 'restart'; node: number }
  | { kind: 'flush'; node: number; incarnation: number }
  | { kind: 'follower-fetch'; node: number; incarnation: number }
  | { kind: 'fetch-timeout'; node: number; incarnation: number; fetchId: number }
  | { kind: 'isr-check'; node: number; incarnation: number }
  | { kind: 'alter-timeout'; node: number; incarnation: number; proposal: IsrProposal }
  | { kind: 'session-check'; node: number; heartbeatIncarnation: number }
  | { kind: 'unfence'; node: number; incarnation: number }
  | { kind: 'produce' }
  | { kind: 'consume'; consumer: number }
  | { kind: 'partition-start' }
  | { kind: 'partition-end'; cut: readonly [number, number][] };

interface PendingProduce { readonly offset: number; readonly value: number; readonly epoch: number; readonly deadlineMs: number }

class SimNode {
  alive = true;
  incarnation = 0;
  log = new SimLog();
  core: PartitionReplication;
  metadataVersion = -1;
  fenced: ReadonlySet<number> = new Set();
  fetchId = 0;
  fetchInFlight: number | undefined;
  awaitingFlush = false;
  fetchScheduled = false;
  /** The no-truncation bug: after ignoring a divergence the follower stops sending its epoch. */
  skipEpochCheck = false;
  pendingProduces: PendingProduce[] = [];
  inFlightProposal: IsrProposal | undefined;
  /** This incarnation was registered and unfenced: it may act on metadata. */
  ready = false;
  /** Offsets below it were checked against the committed records (reset by truncation and crashes). */
  verifiedUpTo = 0;

  constructor(readonly id: number, private readonly bugs: ReadonlySet<ReplicationBugName>) {
    this.core = new PartitionReplication({ localId: id, replicaLagTimeMaxMs: REPLICA_LAG_TIME_MAX_MS });
  }

  reset(): void {
    this.core = new PartitionReplication({ localId: this.id, replicaLagTimeMaxMs: REPLICA_LAG_TIME_MAX_MS });
    this.metadataVersion = -1;
    this.fenced = new Set();
    this.fetchInFlight = undefined;
    this.awaitingFlush = false;
    this.fetchScheduled = false;
    this.skipEpochCheck = false;
    this.pendingProduces = [];
    this.inFlightProposal = undefined;
    this.ready = false;
    this.verifiedUpTo = Math.min(this.verifiedUpTo, this.log.end);
    void this.bugs;
  }
}

/** The controller's partition logic (KRaft's ReplicationControlManager + broker fencing, reduced). */
class SimController {
  state: LeaderAndIsr;
  version = 0;
  readonly fenced = new Set<number>();
  /** Last heartbeat time per broker (a broker reaching the controller heartbeats). */
  readonly lastHeartbeatMs = new Map<number, number>();
  /** The incarnation each broker registered with (KIP-631 incarnation id). */
  readonly registered = new Map<number, number>();

  constructor(replicas: readonly number[]) {
    this.state = { leader: replicas[0] as number, leaderEpoch: 0, partitionEpoch: 0, isr: [...replicas], replicas: [...replicas] };
  }

  private change(next: Partial<LeaderAndIsr>): void {
    const leaderChanged = next.leader !== undefined && next.leader !== this.state.leader;
    this.state = {
      ...this.state, ...next,
      leaderEpoch: this.state.leaderEpoch + (leaderChanged ? 1 : 0),
      partitionEpoch: this.state.partitionEpoch + 1,
    };
    this.version++;
  }

  /** Fencing removes the broker from the ISR (unless it is the last member) and elects a new leader from it. */
  fence(id: number): boolean {
    if (this.fenced.has(id)) return false;
    this.fenced.add(id);
    const isr = this.state.isr.length > 1 ? this.state.isr.filter((r) => r !== id) : this.state.isr;
    if (this.state.leader === id) {
      const leader = isr.find((r) => !this.fenced.has(r)) ?? -1;
      this.change({ isr, leader });
    } else if (isr.length !== this.state.isr.length) {
      this.change({ isr });
    } else {
      this.version++;
    }
    return true;
  }

  unfence(id: number): void {
    if (!this.fenced.delete(id)) return;
    if (this.state.leader === -1 && this.state.isr.includes(id)) this.change({ leader: id });
    else this.version++;
  }

  /** AlterPartition validation (ReplicationControlManager.alterPartition), then the commit. */
  alterPartition(from: number, proposal: IsrProposal): { error?: string; state?: LeaderAndIsr } {
    if (from !== this.state.leader || proposal.leaderEpoch !== this.state.leaderEpoch) return { error: 'FENCED_LEADER_EPOCH' };
    if (proposal.partitionEpoch !== this.state.partitionEpoch) return { error: 'INVALID_UPDATE_VERSION' };
    if (!proposal.newIsr.includes(from)) return { error: 'INVALID_REQUEST' };
    if (proposal.newIsr.some((r) => this.fenced.has(r) && !this.state.isr.includes(r))) return { error: 'INELIGIBLE_REPLICA' };
    this.change({ isr: [...proposal.newIsr] });
    return { state: this.state };
  }
}

export function runReplicationSimulation(options: ReplicationSimOptions): ReplicationSimResult {
  return new ReplicationSimulation(options).run();
}

class ReplicationSimulation {
  private readonly prng: Prng;
  private readonly bugs: ReadonlySet<ReplicationBugName>;
  private readonly queue = new EventQueue<SimEvent>();
  private readonly nodes = new Map<number, SimNode>();
  private readonly controller: SimController;
  private readonly replicaCount: number;
  private readonly minInsyncReplicas: number;
  private readonly faultPhaseMs: number;
  private nowMs = 0;
  private startMs = 0;
  private events = 0;
  private faults = true;
  private readonly cutLinks = new Set<string>();
  private nextValue = 1;
  /** offset → value of every record a consumer has read below a HW. */
  private readonly committed = new Map<number, number>();
  /** offset → value of every acknowledged acks=-1 write. */
  private readonly acknowledged = new Map<number, number>();
  private readonly consumers: { knownEpoch: number; highWatermark: number }[] = [{ knownEpoch: -1, highWatermark: 0 }, { knownEpoch: -1, highWatermark: 0 }];
  private readonly stats: Record<string, number> = {};
  // Fault rates for this seed.
  private readonly dropRate: number;
  private readonly delayMaxMs: number;
  private readonly crashEveryMs: number;
  private readonly partitionEveryMs: number;

  constructor(private readonly options: ReplicationSimOptions) {
    this.prng = new Prng(options.seed);
    this.bugs = options.bugs ?? new Set();
    this.replicaCount = this.prng.nextUint32() % 4 === 0 ? 5 : 3;
    this.minInsyncReplicas = 1 + (this.prng.nextUint32() % 2);
    this.faultPhaseMs = options.faultPhaseMs ?? 4000 + (this.prng.nextUint32() % 4000);
    this.dropRate = (this.prng.nextUint32() % 10) / 100;
    this.delayMaxMs = 1 + (this.prng.nextUint32() % 30);
    this.crashEveryMs = 150 + (this.prng.nextUint32() % 800);
    this.partitionEveryMs = 300 + (this.prng.nextUint32() % 1500);
    // The injected clock is monotonic: it may start near 0 or far from it (a core must not treat 0 as "long ago").
    this.nowMs = this.prng.nextUint32() % 2 === 0 ? 0 : this.prng.nextUint32() % 100_000;
    this.startMs = this.nowMs;
    const replicas = Array.from({ length: this.replicaCount }, (_, i) => i + 1);
    for (const id of replicas) {
      const node = new SimNode(id, this.bugs);
      node.ready = true;
      this.nodes.set(id, node);
    }
    this.controller = new SimController(replicas);
  }

  run(): ReplicationSimResult {
    let failure: string | undefined;
    try {
      this.start();
      failure = this.loop();
      if (failure === undefined) this.checkFinal();
    } catch (err) {
      if (!(err instanceof InvariantViolation)) throw err;
      failure = err.message;
    }
    return {
      seed: this.options.seed, ok: failure === undefined, failure, replicas: this.replicaCount, events: this.events,
      timeMs: this.nowMs - this.startMs, acknowledged: this.acknowledged.size, committed: this.committed.size, stats: this.stats,
    };
  }

  private count(name: string): void {
    this.stats[name] = (this.stats[name] ?? 0) + 1;
  }

  private trace(line: string): void {
    this.options.trace?.(`t=${this.nowMs} #${this.events} ${line}`);
  }

  private random(n: number): number {
    return this.prng.nextUint32() % n;
  }

  private at(delayMs: number, event: SimEvent): void {
    this.queue.push(this.nowMs + delayMs, event);
  }

  private start(): void {
    this.publishMetadata();
    for (const node of this.nodes.values()) {
      this.at(1 + this.random(10), { kind: 'flush', node: node.id, incarnation: node.incarnation });
      this.at(REPLICA_LAG_TIME_MAX_MS / 2, { kind: 'isr-check', node: node.id, incarnation: node.incarnation });
      this.controller.lastHeartbeatMs.set(node.id, this.nowMs);
      this.controller.registered.set(node.id, node.incarnation);
      this.at(SESSION_TIMEOUT_MS, { kind: 'session-check', node: node.id, heartbeatIncarnation: 0 });
    }
    this.at(5, { kind: 'produce' });
    this.at(7, { kind: 'consume', consumer: 0 });
    this.at(11, { kind: 'consume', consumer: 1 });
    this.at(this.crashEveryMs, { kind: 'crash', node: 1 + this.random(this.replicaCount) });
    this.at(this.partitionEveryMs, { kind: 'partition-start' });
  }

  private loop(): string | undefined {
    const endMs = this.startMs + this.faultPhaseMs + HEAL_PHASE_MS;
    while (this.events < EVENTS_MAX) {
      const next = this.queue.pop();
      if (next === undefined) return 'no events left';
      this.nowMs = next.timeMs;
      if (this.faults && this.nowMs - this.startMs >= this.faultPhaseMs) this.heal();
      if (!this.faults && this.converged()) return undefined;
      if (this.nowMs > endMs) return `liveness: not converged ${HEAL_PHASE_MS} ms after the faults stopped (${this.describeState()})`;
      this.events++;
      this.handle(next.event);
      this.checkInvariants();
    }
    return `liveness: ${EVENTS_MAX} events without converging (${this.describeState()})`;
  }

  private describeState(): string {
    const s = this.controller.state;
    const nodes = [...this.nodes.values()].map((n) => `${n.id}:${n.alive ? '' : 'down,'}end=${n.log.end},hw=${n.log.highWatermark},epoch=${n.core.leaderEpoch}`).join(' ');
    return `controller leader=${s.leader} epoch=${s.leaderEpoch} isr=[${s.isr}] fenced=[${[...this.controller.fenced]}]; ${nodes}`;
  }

  /** Faults stop: links heal and every crashed node restarts. */
  private heal(): void {
    this.faults = false;
    this.cutLinks.clear();
    for (const node of this.nodes.values()) if (!node.alive) this.at(1 + this.random(20), { kind: 'restart', node: node.id });
    this.trace('faults stop');
  }

  /** Healed: full ISR, one leader everyone agrees on, every replica at the leader's end, HW at the end. */
  private converged(): boolean {
    const s = this.controller.state;
    if (s.leader < 0 || s.isr.length !== this.replicaCount || this.controller.fenced.size > 0) return false;
    const leader = this.nodes.get(s.leader) as SimNode;
    if (!leader.alive || !leader.core.isLeader || leader.core.leaderEpoch !== s.leaderEpoch) return false;
    if (leader.log.highWatermark !== leader.log.end || leader.pendingProduces.length > 0) return false;
    for (const node of this.nodes.values()) {
      if (!node.alive || node.core.leaderEpoch !== s.leaderEpoch || node.log.end !== leader.log.end) return false;
    }
    return true;
  }

  // ---------------------------------------------------------------- events

  private handle(event: SimEvent): void {
    switch (event.kind) {
      case 'deliver': return this.deliver(event.message);
      case 'crash': return this.crash(event.node);
      case 'restart': return this.restart(event.node);
      case 'flush': return this.flush(event.node, event.incarnation);
      case 'follower-fetch': return this.followerFetch(event.node, event.incarnation);
      case 'fetch-timeout': return this.fetchTimeout(event.node, event.incarnation, event.fetchId);
      case 'isr-check': return this.isrCheck(event.node, event.incarnation);
      case 'alter-timeout': return this.alterTimeout(event.node, event.incarnation, event.proposal);
      case 'session-check': return this.sessionCheck(event.node);
      case 'unfence': return this.unfence(event.node, event.incarnation);
      case 'produce': return this.produce();
      case 'consume': return this.consume(event.consumer);
      case 'partition-start': return this.partitionStart();
      case 'partition-end': return this.partitionEnd(event.cut);
      default: {
        const never: never = event;
        throw new Error(`unknown event ${JSON.stringify(never)}`);
      }
    }
  }

  private linkKey(a: number, b: number): string {
    return a < b ? `${a}-${b}` : `${b}-${a}`;
  }

  private send(message: Message): void {
    if (this.cutLinks.has(this.linkKey(message.from, message.to))) { this.count('dropped-partition'); return; }
    if (this.faults && this.prng.nextUint32() % 1000 < this.dropRate * 1000) { this.count('dropped'); return; }
    // Each message its own delay: messages between two nodes are reordered, as on separate connections.
    this.at(1 + this.random(this.delayMaxMs), { kind: 'deliver', message });
  }

  private deliver(message: Message): void {
    if (message.to === CONTROLLER) {
      if (message.kind === 'alter-partition') return this.controllerAlterPartition(message);
      if (message.kind === 'register') return this.controllerRegister(message.from, message.incarnation);
      return;
    }
    const node = this.nodes.get(message.to) as SimNode;
    if (!node.alive) return;
    switch (message.kind) {
      case 'metadata': return this.applyMetadata(node, message.version, message.state, message.fenced, message.registered);
      case 'fetch': return this.leaderServeFetch(node, message);
      case 'fetch-response': return this.followerHandleResponse(node, message);
      case 'alter-partition-response': return this.leaderAlterResponse(node, message);
      default: return;
    }
  }

  private publishMetadata(): void {
    for (const node of this.nodes.values()) {
      this.send({ kind: 'metadata', from: CONTROLLER, to: node.id, incarnation: node.incarnation, version: this.controller.version, state: this.controller.state, fenced: [...this.controller.fenced], registered: [...this.controller.registered] });
    }
  }

  // ---------------------------------------------------------------- crashes and the controller

  private crash(id: number): void {
    if (this.faults) this.at(this.crashEveryMs / 2 + this.random(this.crashEveryMs), { kind: 'crash', node: 1 + this.random(this.replicaCount) });
    const node = this.nodes.get(id) as SimNode;
    if (!node.alive || !this.faults) return;
    // Keep a majority of replicas up most of the time, but allow everything down now and then.
    const up = [...this.nodes.values()].filter((n) => n.alive).length;
    if (up <= 1 && this.random(4) !== 0) return;
    this.count('crash');
    this.trace(`crash ${id} (end ${node.log.end}, durable ${node.log.durableEnd}, hw ${node.log.highWatermark})`);
    node.alive = false;
    node.incarnation++;
    node.log.crash();
    node.reset();
    this.at(20 + this.random(400), { kind: 'restart', node: id });
  }

  private restart(id: number): void {
    const node = this.nodes.get(id) as SimNode;
    if (node.alive) return;
    this.count('restart');
    node.alive = true;
    node.incarnation++;
    this.trace(`restart ${id} (end ${node.log.end}, hw ${node.log.highWatermark})`);
    this.at(1 + this.random(10), { kind: 'flush', node: id, incarnation: node.incarnation });
    this.at(REPLICA_LAG_TIME_MAX_MS / 2, { kind: 'isr-check', node: id, incarnation: node.incarnation });
    this.send({ kind: 'register', from: id, to: CONTROLLER, incarnation: node.incarnation });
  }

  /** A new incarnation registers: the old one is fenced first (KIP-631), unfenced once caught up. */
  private controllerRegister(id: number, incarnation: number): void {
    if (this.controller.registered.get(id) === incarnation) return;
    this.controller.registered.set(id, incarnation);
    this.controller.lastHeartbeatMs.set(id, this.nowMs);
    if (this.controller.fence(id)) this.trace(`controller fences ${id} (re-registration)`);
    this.publishMetadata();
    this.at(10 + this.random(50), { kind: 'unfence', node: id, incarnation });
  }

  private unfence(id: number, incarnation: number): void {
    const node = this.nodes.get(id) as SimNode;
    if (!node.alive || node.incarnation !== incarnation || this.cutLinks.has(this.linkKey(id, CONTROLLER))) return;
    this.controller.unfence(id);
    this.trace(`controller unfences ${id} -> leader ${this.controller.state.leader} epoch ${this.controller.state.leaderEpoch} isr [${this.controller.state.isr}]`);
    this.publishMetadata();
  }

  /** Heartbeats: a live broker that reaches the controller is fine; one silent for a session is fenced. */
  private sessionCheck(id: number): void {
    const node = this.nodes.get(id) as SimNode;
    const reachable = node.alive && !this.cutLinks.has(this.linkKey(id, CONTROLLER));
    if (reachable) {
      this.controller.lastHeartbeatMs.set(id, this.nowMs);
      // The heartbeat carries the incarnation (a lost registration is retried this way), and the
      // broker pulls the metadata it has not seen (brokers fetch the metadata log).
      if (this.controller.registered.get(id) !== node.incarnation) this.controllerRegister(id, node.incarnation);
      if (node.metadataVersion < this.controller.version) {
        this.send({ kind: 'metadata', from: CONTROLLER, to: id, incarnation: node.incarnation, version: this.controller.version, state: this.controller.state, fenced: [...this.controller.fenced], registered: [...this.controller.registered] });
      }
    }
    if (!reachable && this.nowMs - (this.controller.lastHeartbeatMs.get(id) ?? 0) >= SESSION_TIMEOUT_MS && this.controller.fence(id)) {
      this.count('fence');
      this.trace(`controller fences ${id} (session) -> leader ${this.controller.state.leader} epoch ${this.controller.state.leaderEpoch} isr [${this.controller.state.isr}]`);
      this.publishMetadata();
    }
    if (reachable && this.controller.fenced.has(id) && !this.faultsBlockUnfence(id)) {
      this.at(10, { kind: 'unfence', node: id, incarnation: node.incarnation });
    }
    this.at(SESSION_TIMEOUT_MS / 3, { kind: 'session-check', node: id, heartbeatIncarnation: 0 });
  }

  private faultsBlockUnfence(id: number): boolean {
    return !(this.nodes.get(id) as SimNode).alive;
  }

  private controllerAlterPartition(message: Extract<Message, { kind: 'alter-partition' }>): void {
    const answer = this.controller.alterPartition(message.from, message.proposal);
    this.count(answer.error === undefined ? 'isr-change' : 'isr-change-refused');
    if (answer.error === undefined) {
      this.trace(`controller commits ISR [${this.controller.state.isr}] pe ${this.controller.state.partitionEpoch}`);
      this.publishMetadata();
    }
    this.send({ kind: 'alter-partition-response', from: CONTROLLER, to: message.from, incarnation: message.incarnation, proposal: message.proposal, ...answer });
  }

  private partitionStart(): void {
    if (!this.faults) return;
    this.at(this.partitionEveryMs, { kind: 'partition-start' });
    const ids = [CONTROLLER, ...this.nodes.keys()];
    const victim = ids[this.random(ids.length)] as number;
    const cut: [number, number][] = ids.filter((id) => id !== victim && this.random(3) !== 0).map((id) => [victim, id]);
    for (const [a, b] of cut) this.cutLinks.add(this.linkKey(a, b));
    this.count('partition');
    this.trace(`partition: ${victim} cut from [${cut.map(([, b]) => b)}]`);
    this.at(50 + this.random(600), { kind: 'partition-end', cut });
  }

  private partitionEnd(cut: readonly [number, number][]): void {
    for (const [a, b] of cut) this.cutLinks.delete(this.linkKey(a, b));
  }

  // ---------------------------------------------------------------- metadata on a node

  /** The one serial path of a partition's role (replica-manager.applyPartition). */
  private applyMetadata(node: SimNode, version: number, state: LeaderAndIsr, fenced: readonly number[], registered: readonly [number, number][]): void {
    if (version <= node.metadataVersion) return;
    // A restarted node takes no role until the controller registered this incarnation and unfenced it
    // (the old incarnation's leaderships were moved away with a new epoch by then): leading again at
    // the old epoch after losing its unflushed tail would reuse offsets a follower already holds.
    if (!node.ready) {
      const own = registered.find(([id]) => id === node.id);
      if (own?.[1] !== node.incarnation || fenced.includes(node.id)) return;
      node.ready = true;
    }
    node.metadataVersion = version;
    node.fenced = new Set(fenced);
    const before = { leader: node.core.leader, epoch: node.core.leaderEpoch };
    const role = node.core.applyCommitted(state, this.nowMs, node.log.end);
    if (role === 'stale') return;
    if (role === 'became-leader') {
      this.trace(`${node.id} becomes leader epoch ${state.leaderEpoch} at end ${node.log.end} hw ${node.log.highWatermark}`);
      if (node.log.latestEpoch() < state.leaderEpoch) node.log.epochs.assign(state.leaderEpoch, node.log.end);
      node.fetchInFlight = undefined;
    }
    if (role === 'follower' && (before.leader !== state.leader || before.epoch !== state.leaderEpoch)) {
      node.fetchInFlight = undefined;
      this.failPendingProduces(node);
      this.scheduleFetch(node, 0);
    }
    this.maybeAdvanceHighWatermark(node);
  }

  // ---------------------------------------------------------------- leader

  private leaderServeFetch(node: SimNode, message: Extract<Message, { kind: 'fetch' }>): void {
    const reply = (fields: Partial<Extract<Message, { kind: 'fetch-response' }>>): void => this.send({
      kind: 'fetch-response', from: node.id, to: message.from, incarnation: message.incarnation, fetchId: message.fetchId,
      leaderEpoch: node.core.leaderEpoch, baseOffset: message.fetchOffset, entries: [], highWatermark: node.log.highWatermark, ...fields,
    });
    if (message.currentLeaderEpoch < node.core.leaderEpoch) return reply({ error: 'FENCED_LEADER_EPOCH' });
    if (message.currentLeaderEpoch > node.core.leaderEpoch) return reply({ error: 'UNKNOWN_LEADER_EPOCH' });
    const check = node.core.checkFollowerFetch(
      message.from, message.fetchOffset, message.lastFetchedEpoch, message.currentLeaderEpoch, 0, node.log.end,
      (epoch) => node.log.epochs.endOffsetFor(epoch, node.log.end),
    );
    if (check.kind === 'error') return reply({ error: check.errorCode, leaderEnd: node.log.end });
    if (check.kind === 'diverging') { this.count('diverging'); return reply({ diverging: { epoch: check.epoch, endOffset: check.endOffset } }); }
    const entries = node.log.entries.slice(message.fetchOffset, message.fetchOffset + FETCH_BATCHES_MAX);
    node.core.recordFollowerFetch(message.from, message.fetchOffset, node.log.end, this.nowMs);
    this.maybeAdvanceHighWatermark(node);
    const expand = node.core.expandProposal(message.from, node.log.highWatermark, (id) => !node.fenced.has(id));
    if (expand !== undefined) this.sendProposal(node, expand);
    reply({ entries, highWatermark: node.log.highWatermark });
  }

  private maybeAdvanceHighWatermark(node: SimNode): void {
    if (!node.core.isLeader) return;
    const candidate = this.bugs.has('hw-leader-log-end')
      ? node.log.end
      : node.core.highWatermarkCandidate(node.log.durableEnd, node.log.end, this.nowMs, (id) => !node.fenced.has(id));
    if (candidate > node.log.highWatermark) node.log.highWatermark = candidate;
    this.completeProduces(node);
  }

  private isrCheck(id: number, incarnation: number): void {
    const node = this.nodes.get(id) as SimNode;
    if (!node.alive || node.incarnation !== incarnation) return;
    this.at(REPLICA_LAG_TIME_MAX_MS / 2, { kind: 'isr-check', node: id, incarnation });
    if (!node.core.isLeader) return;
    const proposal = node.core.pendingProposal ?? node.core.shrinkProposal(node.log.end, this.nowMs);
    if (proposal === undefined) return;
    if (proposal.kind === 'shrink' && this.bugs.has('isr-shrink-before-commit')) {
      // The bug: the leader uses the smaller ISR before the controller has committed it.
      node.core.applyCommitted({ ...this.currentState(node), isr: proposal.newIsr }, this.nowMs, node.log.end);
      this.maybeAdvanceHighWatermark(node);
    }
    this.sendProposal(node, proposal);
  }

  private currentState(node: SimNode): LeaderAndIsr {
    const c = node.core;
    return { leader: c.leader, leaderEpoch: c.leaderEpoch, partitionEpoch: c.partitionEpoch, isr: c.isr, replicas: c.replicas };
  }

  private sendProposal(node: SimNode, proposal: IsrProposal): void {
    if (node.inFlightProposal !== undefined) return;
    node.inFlightProposal = proposal;
    this.send({ kind: 'alter-partition', from: node.id, to: CONTROLLER, incarnation: node.incarnation, proposal });
    this.at(ALTER_PARTITION_TIMEOUT_MS, { kind: 'alter-timeout', node: node.id, incarnation: node.incarnation, proposal });
  }

  /** No answer: the proposal stays in flight (it may have been committed) and is sent again. */
  private alterTimeout(id: number, incarnation: number, proposal: IsrProposal): void {
    const node = this.nodes.get(id) as SimNode;
    if (!node.alive || node.incarnation !== incarnation) return;
    if (node.inFlightProposal === proposal) node.inFlightProposal = undefined;
  }

  private leaderAlterResponse(node: SimNode, message: Extract<Message, { kind: 'alter-partition-response' }>): void {
    if (message.incarnation !== node.incarnation) return;
    if (node.inFlightProposal === message.proposal) node.inFlightProposal = undefined;
    if (message.state !== undefined) {
      node.core.applyCommitted(message.state, this.nowMs, node.log.end);
      this.maybeAdvanceHighWatermark(node);
    } else if (message.error === 'INELIGIBLE_REPLICA' || message.error === 'INVALID_REQUEST') {
      node.core.proposalRejected(message.proposal);
    }
  }

  // ---------------------------------------------------------------- follower

  private scheduleFetch(node: SimNode, delayMs: number): void {
    if (node.fetchScheduled) return;
    node.fetchScheduled = true;
    this.at(delayMs, { kind: 'follower-fetch', node: node.id, incarnation: node.incarnation });
  }

  private followerFetch(id: number, incarnation: number): void {
    const node = this.nodes.get(id) as SimNode;
    if (!node.alive || node.incarnation !== incarnation) return;
    node.fetchScheduled = false;
    const leader = node.core.leader;
    if (node.core.isLeader || leader < 0 || node.fetchInFlight !== undefined) return;
    // fsync mode: the fetch offset acknowledges; only flushed bytes may be acknowledged.
    if (node.log.durableEnd < node.log.end && !this.bugs.has('ack-before-flush')) {
      node.awaitingFlush = true;
      return;
    }
    const fetchId = ++node.fetchId;
    node.fetchInFlight = fetchId;
    this.send({
      kind: 'fetch', from: id, to: leader, incarnation: node.incarnation, fetchId, fetchOffset: node.log.end,
      lastFetchedEpoch: node.skipEpochCheck ? -1 : node.log.latestEpoch(), currentLeaderEpoch: node.core.leaderEpoch,
    });
    this.at(FETCH_TIMEOUT_MS, { kind: 'fetch-timeout', node: id, incarnation: node.incarnation, fetchId });
  }

  private fetchTimeout(id: number, incarnation: number, fetchId: number): void {
    const node = this.nodes.get(id) as SimNode;
    if (!node.alive || node.incarnation !== incarnation || node.fetchInFlight !== fetchId) return;
    node.fetchInFlight = undefined;
    this.scheduleFetch(node, 0);
  }

  private followerHandleResponse(node: SimNode, message: Extract<Message, { kind: 'fetch-response' }>): void {
    if (message.incarnation !== node.incarnation || node.fetchInFlight !== message.fetchId) return;
    node.fetchInFlight = undefined;
    // Moved on meanwhile (new leader or epoch): the answer is for a fetch that no longer exists.
    if (node.core.isLeader || node.core.leader !== message.from || node.core.leaderEpoch !== message.leaderEpoch) return this.scheduleFetch(node, 0);
    if (message.error !== undefined) {
      if (message.error === 'OFFSET_OUT_OF_RANGE' && message.leaderEnd !== undefined && message.leaderEnd < node.log.end) {
        this.truncate(node, message.leaderEnd);
        return this.scheduleFetch(node, 0);
      }
      return this.scheduleFetch(node, 20);
    }
    if (message.diverging !== undefined) {
      if (this.bugs.has('no-truncation-on-divergence')) {
        node.skipEpochCheck = true;
      } else {
        this.truncate(node, truncationOffset(message.diverging, (epoch) => node.log.epochs.endOffsetFor(epoch, node.log.end), node.log.end));
      }
      return this.scheduleFetch(node, 0);
    }
    if (message.entries.length > 0) {
      if (message.baseOffset !== node.log.end) return this.scheduleFetch(node, 0);
      node.log.appendFollower(message.baseOffset, message.entries);
    }
    const hw = Math.min(message.highWatermark, node.log.end);
    if (hw > node.log.highWatermark) node.log.highWatermark = hw;
    this.scheduleFetch(node, message.entries.length > 0 ? 0 : 5 + this.random(20));
  }

  private truncate(node: SimNode, offset: number): void {
    if (offset < node.log.end) this.count('truncate');
    this.trace(`${node.id} truncates to ${offset} (end ${node.log.end}, hw ${node.log.highWatermark})`);
    node.log.truncateTo(offset);
    node.verifiedUpTo = Math.min(node.verifiedUpTo, node.log.end);
  }

  private flush(id: number, incarnation: number): void {
    const node = this.nodes.get(id) as SimNode;
    if (!node.alive || node.incarnation !== incarnation) return;
    node.log.flush();
    this.at(1 + this.random(15), { kind: 'flush', node: id, incarnation });
    this.maybeAdvanceHighWatermark(node);
    if (node.awaitingFlush) {
      node.awaitingFlush = false;
      this.scheduleFetch(node, 0);
    }
  }

  // ---------------------------------------------------------------- clients

  /** The node a client believes leads: the controller's state as of a little while ago. */
  private believedLeader(): SimNode | undefined {
    // Clients learn metadata from any node; pick a random live node's view.
    const live = [...this.nodes.values()].filter((n) => n.alive);
    const view = live[this.random(Math.max(1, live.length))];
    return view === undefined || view.core.leader < 0 ? undefined : this.nodes.get(view.core.leader);
  }

  private produce(): void {
    this.at(2 + this.random(15), { kind: 'produce' });
    if (!this.faults) return;
    const node = this.believedLeader();
    if (node === undefined || !node.alive || !node.core.isLeader) return;
    if (node.core.isr.length < this.minInsyncReplicas) { this.count('not-enough-replicas'); return; }
    const value = this.nextValue++;
    const offset = node.log.appendLeader(node.core.leaderEpoch, value);
    node.pendingProduces.push({ offset, value, epoch: node.core.leaderEpoch, deadlineMs: this.nowMs + PRODUCE_TIMEOUT_MS });
    this.count('produce');
    this.maybeAdvanceHighWatermark(node);
  }

  /** DelayedProduce: done once the HW passes the record (with the ISR ≥ min.insync.replicas). */
  private completeProduces(node: SimNode): void {
    if (node.pendingProduces.length === 0) return;
    const still: PendingProduce[] = [];
    for (const p of node.pendingProduces) {
      if (node.log.highWatermark > p.offset) {
        if (node.core.isr.length >= this.minInsyncReplicas) this.acknowledge(node, p);
        else this.count('not-enough-replicas-after-append');
      } else if (this.nowMs < p.deadlineMs) {
        still.push(p);
      } else {
        this.count('produce-timeout');
      }
    }
    node.pendingProduces = still;
  }

  private acknowledge(node: SimNode, p: PendingProduce): void {
    const entry = node.log.entries[p.offset];
    if (entry === undefined || entry.value !== p.value) throw new InvariantViolation(`leader ${node.id} acknowledges value ${p.value} at ${p.offset} but holds ${entry?.value}`);
    const previous = this.acknowledged.get(p.offset);
    if (previous !== undefined && previous !== p.value) throw new InvariantViolation(`offset ${p.offset} acknowledged twice: values ${previous} and ${p.value}`);
    this.acknowledged.set(p.offset, p.value);
    this.count('acknowledged');
  }

  private failPendingProduces(node: SimNode): void {
    this.count('produce-not-leader');
    node.pendingProduces = [];
  }

  private consume(index: number): void {
    this.at(3 + this.random(20), { kind: 'consume', consumer: index });
    const consumer = this.consumers[index] as { knownEpoch: number; highWatermark: number };
    const node = this.believedLeader();
    if (node === undefined || !node.alive) return;
    if (node.core.leaderEpoch > consumer.knownEpoch) consumer.knownEpoch = node.core.leaderEpoch;
    // KIP-320: the consumer fetches with the epoch it knows; an older leader fences it out.
    if (!node.core.isLeader || node.core.leaderEpoch !== consumer.knownEpoch) return;
    // OFFSET_NOT_AVAILABLE until the new leader's HW reaches the start of its epoch.
    if (node.log.highWatermark < node.core.epochStartOffset) { this.count('offset-not-available'); return; }
    const hw = node.log.highWatermark;
    if (hw < consumer.highWatermark) throw new InvariantViolation(`consumer ${index} saw HW ${consumer.highWatermark}, now ${hw} from leader ${node.id} epoch ${node.core.leaderEpoch}`);
    consumer.highWatermark = hw;
    for (let offset = 0; offset < hw; offset++) {
      const value = (node.log.entries[offset] as Entry).value;
      const known = this.committed.get(offset);
      if (known === undefined) this.committed.set(offset, value);
      else if (known !== value) throw new InvariantViolation(`committed offset ${offset} was ${known}, leader ${node.id} now serves ${value}`);
    }
    this.count('consume');
  }

  // ---------------------------------------------------------------- invariants

  /** After every event: every node's log below its own HW agrees with what consumers read (committed). */
  private checkInvariants(): void {
    for (const node of this.nodes.values()) {
      if (node.log.highWatermark > node.log.end) throw new InvariantViolation(`node ${node.id}: HW ${node.log.highWatermark} > log end ${node.log.end}`);
      node.verifiedUpTo = Math.min(node.verifiedUpTo, node.log.end);
      const limit = Math.min(node.log.highWatermark, this.committed.size);
      for (let offset = node.verifiedUpTo; offset < limit; offset++) this.checkCommitted(node, offset);
      node.verifiedUpTo = Math.max(node.verifiedUpTo, limit);
    }
  }

  private checkCommitted(node: SimNode, offset: number): void {
    const known = this.committed.get(offset);
    const entry = node.log.entries[offset];
    if (known !== undefined && entry !== undefined && entry.value !== known) {
      throw new InvariantViolation(`node ${node.id} holds ${entry.value} at committed offset ${offset} (committed ${known}) below its HW ${node.log.highWatermark}`);
    }
  }

  /** After healing: every acknowledged write and every committed record is on every replica, below the HW. */
  private checkFinal(): void {
    const leader = this.nodes.get(this.controller.state.leader) as SimNode;
    for (const node of this.nodes.values()) {
      for (let offset = 0; offset < node.log.highWatermark; offset++) this.checkCommitted(node, offset);
      for (const [offset, value] of this.acknowledged) {
        const entry = node.log.entries[offset];
        if (entry?.value !== value) throw new InvariantViolation(`acknowledged value ${value} at offset ${offset} lost on node ${node.id} (holds ${entry?.value})`);
      }
      for (let offset = 0; offset < leader.log.end; offset++) {
        if (node.log.entries[offset]?.value !== leader.log.entries[offset]?.value || node.log.entries[offset]?.epoch !== leader.log.entries[offset]?.epoch) {
          throw new InvariantViolation(`node ${node.id} differs from leader ${leader.id} at offset ${offset} after healing`);
        }
      }
    }
    if (leader.log.highWatermark < this.acknowledged.size) {
      // Acknowledged offsets are not dense (timeouts), but every one must be below the healed HW.
      for (const offset of this.acknowledged.keys()) if (offset >= leader.log.highWatermark) throw new InvariantViolation(`acknowledged offset ${offset} above the healed HW ${leader.log.highWatermark}`);
    }
  }
}
