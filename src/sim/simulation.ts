/**
 * Deterministic simulation of a Raft cluster (TigerBeetle VOPR, Kafka RaftEventSimulationTest): one seed
 * drives the clock, the network, the disks, crashes and the client. Safety is checked after every
 * event; liveness (a leader, and a proposal applied everywhere) once the faults stop.
 */
import { InvariantError } from '../common/assert.js';
import { Prng } from '../common/prng.js';
import { bootstrapState } from '../raft/core/bootstrap.js';
import type { ConfChange } from '../raft/core/confchange.js';
import { RaftNode } from '../raft/core/raft.js';
import type { BugName, Message, NodeId, RaftConfig, Ready, Snapshot } from '../raft/core/types.js';
import { SafetyChecker, SafetyViolation } from './checker.js';
import { SimDisk } from './disk.js';
import { EventQueue } from './event-queue.js';
import { linksBetween, SimNetwork } from './network.js';
import { HashStateMachine } from './state-machine.js';
import { describeMessage, describeReady } from './trace.js';

export interface SimOptions {
  readonly seed: number;
  readonly bugs?: ReadonlySet<BugName>;
  /** Receives one line per event when tracing (--verbose). */
  readonly trace?: (line: string) => void;
  readonly faultPhaseMs?: number;
  readonly livenessBoundMs?: number;
  readonly eventsMax?: number;
}

export interface SimResult {
  readonly seed: number;
  readonly ok: boolean;
  readonly failure: string | undefined;
  readonly events: number;
  readonly voters: number;
  readonly observers: number;
  readonly timeMs: number;
  readonly committed: number;
  readonly readsChecked: number;
  readonly stats: SimStats;
}

export interface SimStats {
  crashes: number;
  restarts: number;
  partitions: number;
  confChangesProposed: number;
  transfers: number;
  snapshotsInstalled: number;
  compactions: number;
  elections: number;
}

type SimEvent =
  | { readonly kind: 'tick'; readonly node: NodeId; readonly incarnation: number }
  | { readonly kind: 'deliver'; readonly message: Message }
  | { readonly kind: 'disk'; readonly node: NodeId; readonly incarnation: number }
  | { readonly kind: 'restart'; readonly node: NodeId }
  | { readonly kind: 'crash'; readonly node: NodeId; readonly incarnation: number }
  | { readonly kind: 'cut'; readonly links: readonly (readonly [NodeId, NodeId])[]; readonly healAfterMs: number }
  | { readonly kind: 'heal'; readonly links: readonly (readonly [NodeId, NodeId])[] }
  | { readonly kind: 'fault' }
  | { readonly kind: 'client' }
  | { readonly kind: 'stop-faults' };

class SimNode {
  raft: RaftNode | undefined = undefined;
  incarnation = 0;
  pendingWrite: Ready | undefined = undefined;
  slowDisk = false;
  readonly machine = new HashStateMachine();
  readonly probes = new Set<string>();
  /** Last term in which this node was seen leading, to notice new leaders. */
  ledTerm = 0;
  constructor(readonly id: NodeId, readonly disk: SimDisk) {}
}

const TICK_MS = 10;

export class Simulation {
  private readonly prng: Prng;
  private readonly queue = new EventQueue<SimEvent>();
  private readonly network: SimNetwork;
  private readonly checker = new SafetyChecker();
  private readonly nodes = new Map<NodeId, SimNode>();
  private readonly rafts = new Map<NodeId, RaftNode | undefined>();
  private readonly durableTails = new Map<NodeId, { lastIndex: number; lastTerm: number }>();
  private readonly raftConfig: Omit<RaftConfig, 'id'>;
  private readonly compactEvery: number;
  private readonly voterCount: number;
  private readonly observerCount: number;
  private readonly faultPhaseMs: number;
  private readonly livenessBoundMs: number;
  private readonly eventsMax: number;
  private nowMs = 0;
  private events = 0;
  private faulty = true;
  private proposalCount = 0;
  private probeKeys: string[] = [];
  private readonly stats: SimStats = {
    crashes: 0, restarts: 0, partitions: 0, confChangesProposed: 0, transfers: 0, snapshotsInstalled: 0, compactions: 0, elections: 0,
  };

  constructor(private readonly options: SimOptions) {
    this.prng = new Prng(options.seed);
    const prng = this.prng;
    this.voterCount = prng.chance(0.5) ? 3 : 5;
    this.observerCount = prng.int(1, 2);
    this.faultPhaseMs = options.faultPhaseMs ?? 8000;
    this.livenessBoundMs = options.livenessBoundMs ?? 6000;
    this.eventsMax = options.eventsMax ?? 400_000;
    this.compactEvery = prng.int(4, 40);
    this.raftConfig = {
      electionTicks: 10,
      heartbeatTicks: 2,
      maxEntriesPerMessage: prng.pick([1, 1, 2, 3, 8, 64]),
      maxInflightMessages: prng.int(1, 8),
      checkQuorum: true,
      preVote: true,
      bugs: options.bugs,
    };
    this.network = new SimNetwork(prng, {
      dropRate: prng.chance(0.3) ? 0 : prng.next() * 0.15,
      duplicateRate: prng.next() * 0.05,
      maxDelayMs: prng.int(1, 30),
    });
    const ids = Array.from({ length: this.voterCount + this.observerCount }, (_, i) => i + 1);
    const initial = bootstrapState({ voters: ids.slice(0, this.voterCount), learners: ids.slice(this.voterCount) });
    for (const id of ids) {
      this.nodes.set(id, new SimNode(id, new SimDisk(initial)));
      this.noteDurable(this.nodes.get(id)!);
      this.start(id);
    }
  }

  run(): SimResult {
    this.queue.push(this.prng.int(1, 100), { kind: 'fault' });
    this.queue.push(this.prng.int(1, 20), { kind: 'client' });
    this.queue.push(this.faultPhaseMs, { kind: 'stop-faults' });
    let failure: string | undefined;
    try {
      failure = this.loop();
    } catch (error) {
      if (!(error instanceof SafetyViolation || error instanceof InvariantError)) throw error;
      failure = `${error.name}: ${error.message}`;
    }
    return {
      seed: this.options.seed, ok: failure === undefined, failure, events: this.events,
      voters: this.voterCount, observers: this.observerCount, timeMs: this.nowMs,
      committed: this.checker.committedCount, readsChecked: this.checker.readsChecked, stats: this.stats,
    };
  }

  /** Returns undefined on success, else why liveness failed (safety failures throw). */
  private loop(): string | undefined {
    const deadlineMs = this.faultPhaseMs + this.livenessBoundMs;
    while (this.events < this.eventsMax) {
      const next = this.queue.pop();
      if (next === undefined || next.timeMs > deadlineMs) break;
      this.nowMs = next.timeMs;
      this.events++;
      this.handle(next.event);
      this.checker.afterEvent(this.rafts);
      this.checker.checkElectable(this.rafts, this.durableTails);
      if (!this.faulty && this.livenessMet()) return undefined;
    }
    return `liveness: no leader with a proposal applied on every member ${this.livenessBoundMs} ms after the faults stopped (${this.events} events)`;
  }

  private handle(event: SimEvent): void {
    switch (event.kind) {
      case 'tick': return this.onTick(event.node, event.incarnation);
      case 'deliver': return this.onDeliver(event.message);
      case 'disk': return this.onDiskDone(event.node, event.incarnation);
      case 'restart': return this.onRestart(event.node);
      case 'crash': return this.onScheduledCrash(event.node, event.incarnation);
      case 'cut': return this.onCut(event.links, event.healAfterMs);
      case 'heal': return this.onHeal(event.links);
      case 'fault': return this.onFault();
      case 'client': return this.onClient();
      case 'stop-faults': return this.onStopFaults();
    }
  }

  private trace(line: string): void {
    this.options.trace?.(`t=${this.nowMs} #${this.events} ${line}`);
  }

  // ---- nodes ---------------------------------------------------------------------------------------

  private start(id: NodeId): void {
    const node = this.nodes.get(id)!;
    const persisted = node.disk.load();
    node.raft = new RaftNode({ ...this.raftConfig, id }, persisted, new Prng(this.prng.nextUint32()));
    node.machine.install(persisted.snapshot);
    this.rafts.set(id, node.raft);
    this.checker.onRestart(id, node.raft);
    this.queue.push(this.nowMs + this.prng.int(1, TICK_MS), { kind: 'tick', node: id, incarnation: node.incarnation });
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
    this.trace(`deliver ${describeMessage(message)}`);
    if (message.type === 'vote' || message.type === 'pre-vote') this.checker.onVoteRequest(node.raft, message);
    node.raft.step(message);
    this.pump(node);
  }

  private send(messages: readonly Message[]): void {
    for (const message of messages) {
      if ((message.type === 'vote-response' || message.type === 'pre-vote-response') && !message.reject) this.checker.onVoteGrant(message);
      for (const delayMs of this.network.delaysFor(message.from, message.to)) {
        this.queue.push(this.nowMs + delayMs, { kind: 'deliver', message });
      }
    }
  }

  /** Drives one node's Ready loop: send, apply, write (maybe slowly), then advance. */
  private pump(node: SimNode): void {
    const raft = node.raft!;
    for (let round = 0; round < 64 && node.pendingWrite === undefined && raft.hasReady(); round++) {
      const ready = raft.ready();
      if (this.options.trace !== undefined) this.trace(`node ${node.id} ${describeReady(ready)}`);
      this.checker.onEntriesPersisting(raft, ready.entries);
      this.send(ready.messages);
      // A snapshot is installed once durable, and entries after it are applied only on top of it.
      if (ready.snapshot === undefined) this.applyEntries(node, ready);
      for (const read of ready.readStates) this.checker.onReadState(node.id, read.context, read.index);
      this.noticeNewLeader(node);
      const latencyMs = ready.mustSync ? this.diskLatencyMs(node) : 0;
      if (latencyMs === 0) {
        this.completeWrite(node, ready);
      } else {
        node.pendingWrite = ready;
        this.queue.push(this.nowMs + latencyMs, { kind: 'disk', node: node.id, incarnation: node.incarnation });
      }
    }
  }

  /**
   * Most Raft bugs live in the moments after an election (old-term entries not yet covered by the
   * new leader's first entry, Figure 3.7), so a new leader sometimes dies or is cut off right away.
   */
  private noticeNewLeader(node: SimNode): void {
    const raft = node.raft!;
    if (raft.role !== 'leader' || node.ledTerm === raft.term) return;
    node.ledTerm = raft.term;
    this.stats.elections++;
    if (!this.faulty || !this.prng.chance(0.2)) return;
    const delayMs = this.prng.int(1, 40);
    if (this.prng.chance(0.5)) {
      this.queue.push(this.nowMs + delayMs, { kind: 'crash', node: node.id, incarnation: node.incarnation });
    } else {
      const others = [...this.nodes.keys()].filter((id) => id !== node.id);
      const links = linksBetween([node.id], others, this.prng.chance(0.3));
      this.queue.push(this.nowMs + delayMs, { kind: 'cut', links, healAfterMs: this.prng.int(50, 1000) });
    }
  }

  private onScheduledCrash(id: NodeId, incarnation: number): void {
    const node = this.nodes.get(id)!;
    if (this.faulty && node.incarnation === incarnation && node.raft !== undefined) this.crash(node);
  }

  private diskLatencyMs(node: SimNode): number {
    return node.slowDisk ? this.prng.int(20, 150) : this.prng.int(0, 3);
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
    const durableCommitIndex = node.disk.durableCommitIndex;
    node.disk.write(ready);
    this.noteDurable(node);
    if (node.disk.durableCommitIndex < durableCommitIndex) {
      throw new SafetyViolation(`durable commitIndex of node ${node.id} went back from ${durableCommitIndex}`);
    }
    if (ready.snapshot !== undefined) {
      this.installSnapshot(node, ready.snapshot);
      this.applyEntries(node, ready);
    }
    this.send(raft.advance(ready).messages);
    this.maybeCompact(node);
  }

  private applyEntries(node: SimNode, ready: Ready): void {
    for (const entry of ready.committedEntries) this.applyEntry(node, entry);
  }

  private applyEntry(node: SimNode, entry: Ready['committedEntries'][number]): void {
    node.machine.apply(entry);
    this.checker.onApply(node.id, entry, node.machine.hash);
    const text = Buffer.from(entry.data).toString('latin1');
    if (text.startsWith('probe')) node.probes.add(text);
  }

  private installSnapshot(node: SimNode, snapshot: Snapshot): void {
    node.machine.install(snapshot);
    this.stats.snapshotsInstalled++;
    this.checker.onInstallSnapshot(node.id, snapshot.metadata.index, node.machine.hash);
    this.trace(`node ${node.id} installed snapshot at ${snapshot.metadata.index}`);
  }

  /** Snapshot the state machine now and then, so followers that fall behind need InstallSnapshot. */
  private maybeCompact(node: SimNode): void {
    const raft = node.raft!;
    const index = node.machine.appliedIndex;
    if (index - raft.log.snapshot.metadata.index < this.compactEvery) return;
    if (index > raft.log.appliedIndex || index > raft.log.stableIndex) return;
    raft.compact(index, node.machine.encode());
    this.stats.compactions++;
    node.disk.saveSnapshot(raft.log.snapshot);
  }

  private noteDurable(node: SimNode): void {
    this.durableTails.set(node.id, { lastIndex: node.disk.lastIndex(), lastTerm: node.disk.lastTerm() });
  }

  private crash(node: SimNode): void {
    const ready = node.pendingWrite;
    if (ready !== undefined && this.prng.chance(0.5)) node.disk.writeTorn(ready, this.prng.int(0, ready.entries.length));
    this.noteDurable(node);
    node.raft = undefined;
    node.pendingWrite = undefined;
    this.stats.crashes++;
    node.incarnation++;
    this.rafts.set(node.id, undefined);
    this.trace(`crash node ${node.id}${ready !== undefined ? ' during a write' : ''}`);
    this.queue.push(this.nowMs + this.prng.int(20, 800), { kind: 'restart', node: node.id });
  }

  private onRestart(id: NodeId): void {
    const node = this.nodes.get(id)!;
    if (node.raft !== undefined) return;
    this.trace(`restart node ${id}`);
    this.stats.restarts++;
    this.start(id);
  }

  // ---- faults --------------------------------------------------------------------------------------

  private onFault(): void {
    if (!this.faulty) return;
    const roll = this.prng.next();
    if (roll < 0.18) this.crashRandom();
    else if (roll < 0.4) this.partitionRandom();
    else if (roll < 0.5) this.toggleSlowDisk();
    else if (roll < 0.6) this.transferRandom();
    else if (roll < 0.75) this.changeConfRandom();
    else if (roll < 0.8) this.changeNetworkFaults();
    this.queue.push(this.nowMs + this.prng.int(20, 250), { kind: 'fault' });
  }

  private liveNodes(): SimNode[] {
    return [...this.nodes.values()].filter((node) => node.raft !== undefined);
  }

  private crashRandom(): void {
    const live = this.liveNodes();
    if (live.length === 0) return;
    const leader = live.find((node) => node.raft!.role === 'leader');
    this.crash(leader !== undefined && this.prng.chance(0.5) ? leader : this.prng.pick(live));
  }

  private partitionRandom(): void {
    const ids = this.prng.shuffle([...this.nodes.keys()]);
    const shape = this.prng.int(0, 3);
    const leader = this.leader();
    let links: [NodeId, NodeId][];
    if (shape === 3 && leader !== undefined) links = linksBetween([leader.id], ids, this.prng.chance(0.3));
    else if (shape === 0) links = linksBetween(ids.slice(0, 1), ids.slice(1), false);
    else if (shape === 1) links = linksBetween(ids.slice(0, this.prng.int(1, ids.length - 1)), ids, false);
    else links = linksBetween(ids.slice(0, 1), ids.slice(1, this.prng.int(2, ids.length)), true);
    this.onCut(links.filter(([a, b]) => a !== b), this.prng.int(50, 1500));
  }

  private onCut(links: readonly (readonly [NodeId, NodeId])[], healAfterMs: number): void {
    if (!this.faulty) return;
    this.network.cut(links);
    this.stats.partitions++;
    this.trace(`partition ${links.map(([a, b]) => `${a}>${b}`).join(' ')} for ${healAfterMs}ms`);
    this.queue.push(this.nowMs + healAfterMs, { kind: 'heal', links });
  }

  private onHeal(links: readonly (readonly [NodeId, NodeId])[]): void {
    this.network.restore(links);
    this.trace(`heal ${links.length} links`);
  }

  private toggleSlowDisk(): void {
    const node = this.prng.pick([...this.nodes.values()]);
    node.slowDisk = !node.slowDisk;
    this.trace(`node ${node.id} disk ${node.slowDisk ? 'slow' : 'fast'}`);
  }

  private changeNetworkFaults(): void {
    this.network.faults = {
      dropRate: this.prng.chance(0.3) ? 0 : this.prng.next() * 0.2,
      duplicateRate: this.prng.next() * 0.05,
      maxDelayMs: this.prng.int(1, 40),
    };
  }

  private leader(): SimNode | undefined {
    const leaders = this.liveNodes().filter((node) => node.raft!.role === 'leader');
    if (leaders.length === 0) return undefined;
    return leaders.reduce((a, b) => (b.raft!.term > a.raft!.term ? b : a));
  }

  private transferRandom(): void {
    const leader = this.leader();
    if (leader === undefined) return;
    const others = leader.raft!.log.confState.voters.filter((id) => id !== leader.id);
    if (others.length === 0) return;
    const target = this.prng.pick(others);
    this.trace(`transfer leadership ${leader.id} -> ${target}`);
    if (leader.raft!.transferLeadership(target)) this.stats.transfers++;
    this.pump(leader);
  }

  /** Single-server changes: promote an observer, demote or remove a voter, add or drop an observer. */
  private changeConfRandom(): void {
    const leader = this.leader();
    if (leader === undefined) return;
    const conf = leader.raft!.log.confState;
    const outsiders = [...this.nodes.keys()].filter((id) => !conf.voters.includes(id) && !conf.learners.includes(id));
    const choices: ConfChange[] = [];
    for (const id of conf.learners) {
      if (conf.voters.length < 5) choices.push({ type: 'add-voter', nodeId: id });
      choices.push({ type: 'remove-node', nodeId: id });
    }
    for (const id of conf.voters) {
      if (conf.voters.length > 3) choices.push({ type: 'add-learner', nodeId: id }, { type: 'remove-node', nodeId: id });
    }
    for (const id of outsiders) choices.push({ type: 'add-learner', nodeId: id });
    if (choices.length === 0) return;
    const change = this.prng.pick(choices);
    const result = leader.raft!.proposeConfChange(change);
    if (result.ok) this.stats.confChangesProposed++;
    this.trace(`conf change ${change.type} ${change.nodeId} at ${leader.id}: ${result.ok ? `index ${result.index}` : result.reason}`);
    this.pump(leader);
  }

  private onStopFaults(): void {
    this.faulty = false;
    this.network.healAll();
    this.network.faults = { dropRate: 0, duplicateRate: 0, maxDelayMs: Math.min(this.network.faults.maxDelayMs, 10) };
    for (const node of this.nodes.values()) {
      node.slowDisk = false;
      if (node.raft === undefined) this.onRestart(node.id);
    }
    this.trace('faults stopped; network healed; all nodes up');
  }

  // ---- client --------------------------------------------------------------------------------------

  private onClient(): void {
    if (this.faulty) this.clientDuringFaults();
    else this.clientProbe();
    this.queue.push(this.nowMs + this.prng.int(5, 40), { kind: 'client' });
  }

  private clientDuringFaults(): void {
    const live = this.liveNodes();
    if (live.length === 0) return;
    const leader = this.leader();
    const target = leader !== undefined && this.prng.chance(0.8) ? leader : this.prng.pick(live);
    if (this.prng.chance(0.25)) {
      const context = `read-${++this.proposalCount}`;
      this.checker.onReadIssued(context);
      target.raft!.readIndex(context);
    } else {
      target.raft!.propose(Buffer.from(`p${++this.proposalCount}`));
    }
    this.pump(target);
  }

  /** After the faults stop, a fresh proposal must reach every member. */
  private clientProbe(): void {
    const leader = this.leader();
    if (leader === undefined) return;
    const key = `probe${this.probeKeys.length + 1}`;
    if (leader.raft!.propose(Buffer.from(key)).ok) this.probeKeys.push(key);
    this.pump(leader);
  }

  private livenessMet(): boolean {
    const leader = this.leader();
    if (leader === undefined) return false;
    const conf = leader.raft!.log.confState;
    const members = [...conf.voters, ...conf.learners].map((id) => this.nodes.get(id)!);
    return this.probeKeys.some((key) => members.every((node) => node.probes.has(key)));
  }
}

export function runSimulation(options: SimOptions): SimResult {
  return new Simulation(options).run();
}
