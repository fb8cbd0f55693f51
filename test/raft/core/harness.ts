/**
 * A scripted cluster for golden scenario tests: messages wait in a FIFO until the script delivers them,
 * disks persist at once, and dump() renders every node's state as text.
 */
import { Prng } from '../../../src/common/prng.js';
import { bootstrapState } from '../../../src/raft/core/bootstrap.js';
import type { ConfChange } from '../../../src/raft/core/confchange.js';
import { RaftNode } from '../../../src/raft/core/raft.js';
import type { ConfState, Entry, Message, NodeId, PersistedState, RaftConfig, ReadState } from '../../../src/raft/core/types.js';
import { describeMessage } from '../../../src/sim/trace.js';

interface Member {
  raft: RaftNode;
  durable: PersistedState;
  applied: Entry[];
  appliedIndex: number;
  readStates: ReadState[];
}

export const testConfig: Omit<RaftConfig, 'id'> = {
  electionTicks: 10,
  heartbeatTicks: 2,
  maxEntriesPerMessage: 16,
  maxInflightMessages: 4,
  checkQuorum: true,
  preVote: true,
};

export class ScriptedCluster {
  readonly members = new Map<NodeId, Member>();
  private pending: Message[] = [];
  private isolated = new Set<NodeId>();
  private transcript: string[] = [];

  constructor(conf: ConfState, private readonly config: Partial<RaftConfig> = {}) {
    const ids = [...conf.voters, ...conf.learners];
    for (const id of ids) {
      const durable = bootstrapState(conf);
      const raft = new RaftNode({ ...testConfig, ...config, id }, durable, new Prng(id));
      this.members.set(id, { raft, durable, applied: [], appliedIndex: 0, readStates: [] });
    }
  }

  node(id: NodeId): RaftNode { return this.member(id).raft; }
  applied(id: NodeId): Entry[] { return this.member(id).applied; }
  readStates(id: NodeId): ReadState[] { return this.member(id).readStates; }

  private member(id: NodeId): Member {
    const member = this.members.get(id);
    if (member === undefined) throw new Error(`no node ${id}`);
    return member;
  }

  /** Ticks one node until its role changes or count ticks passed. */
  tickUntilCampaign(id: NodeId, ticksMax = 100): void {
    const raft = this.node(id);
    const role = raft.role;
    for (let i = 0; i < ticksMax && raft.role === role; i++) this.tick(id);
  }

  /** Ticks the given nodes in turn, as time passes for all, until one of them starts campaigning. */
  tickUntilAnyCampaigns(ids: readonly NodeId[], roundsMax = 100): NodeId | undefined {
    for (let round = 0; round < roundsMax; round++) {
      for (const id of ids) {
        this.tick(id);
        if (this.node(id).role === 'pre-candidate' || this.node(id).role === 'candidate') return id;
      }
    }
    return undefined;
  }

  tick(id: NodeId, count = 1): void {
    for (let i = 0; i < count; i++) {
      this.node(id).tick();
      this.pump(id);
    }
  }

  propose(id: NodeId, text: string): void {
    this.node(id).propose(new TextEncoder().encode(text));
    this.pump(id);
  }

  proposeConfChange(id: NodeId, change: ConfChange): void {
    this.node(id).proposeConfChange(change);
    this.pump(id);
  }

  transferLeadership(from: NodeId, to: NodeId): void {
    this.node(from).transferLeadership(to);
    this.pump(from);
  }

  readIndex(id: NodeId, context: string): void {
    this.node(id).readIndex(context);
    this.pump(id);
  }

  compact(id: NodeId): void {
    const member = this.member(id);
    const index = member.raft.log.appliedIndex;
    member.raft.compact(index, new TextEncoder().encode(`state@${index}`));
    member.durable = { ...member.durable, snapshot: member.raft.log.snapshot, entries: member.durable.entries.filter((e) => e.index > index) };
  }

  isolate(id: NodeId): void { this.isolated.add(id); }
  heal(): void { this.isolated.clear(); }

  /** Delivers pending messages in order (and those they cause) until none is left; returns how many. */
  deliverAll(roundsMax = 1000, afterEach?: () => void): number {
    let delivered = 0;
    for (let round = 0; round < roundsMax && this.pending.length > 0; round++) {
      if (this.deliverOne()) delivered++;
      afterEach?.();
    }
    return delivered;
  }

  /** Delivers (or drops, across a partition) the oldest pending message. */
  deliverOne(): boolean {
    const message = this.pending.shift();
    if (message === undefined) return false;
    if (this.isolated.has(message.from) || this.isolated.has(message.to)) {
      this.transcript.push(`  drop    ${describeMessage(message)}`);
      return false;
    }
    this.transcript.push(`  deliver ${describeMessage(message)}`);
    this.node(message.to).step(message);
    this.pump(message.to);
    return true;
  }

  pendingMessages(): readonly Message[] { return this.pending; }

  /** Restarts a node from exactly what it persisted. */
  restart(id: NodeId): void {
    const member = this.member(id);
    member.raft = new RaftNode({ ...testConfig, ...this.config, id }, member.durable, new Prng(id * 1000));
    member.applied = [];
    member.appliedIndex = member.durable.snapshot.metadata.index;
  }

  private pump(id: NodeId): void {
    const member = this.member(id);
    for (let round = 0; round < 100 && member.raft.hasReady(); round++) {
      const ready = member.raft.ready();
      this.pending.push(...ready.messages);
      member.durable = persist(member.durable, ready);
      if (ready.snapshot !== undefined) member.appliedIndex = ready.snapshot.metadata.index;
      member.applied.push(...ready.committedEntries);
      const last = ready.committedEntries[ready.committedEntries.length - 1];
      if (last !== undefined) member.appliedIndex = last.index;
      member.readStates.push(...ready.readStates);
      this.pending.push(...member.raft.advance(ready).messages);
    }
  }

  /** Text of every node's state, preceded by the messages since the previous dump. */
  dump(label: string): string {
    const lines = [`== ${label}`, ...this.transcript];
    this.transcript = [];
    for (const [id, member] of this.members) {
      const s = member.raft.status();
      const terms = member.raft.log.slice(member.raft.log.firstIndex(), s.lastIndex + 1).map((e) => e.term).join(',');
      lines.push(`  node ${id}: ${s.role} term=${s.term} vote=${s.vote} leader=${s.leaderId} commit=${s.commitIndex} `
        + `applied=${member.appliedIndex} `
        + `snapshot=${s.snapshotIndex} log=[${terms}] voters=${s.confState.voters.join(',')} learners=${s.confState.learners.join(',')}`);
    }
    return lines.join('\n');
  }
}

function persist(durable: PersistedState, ready: ReturnType<RaftNode['ready']>): PersistedState {
  let { snapshot, entries } = durable;
  if (ready.snapshot !== undefined) {
    snapshot = ready.snapshot;
    entries = [];
  }
  const first = ready.entries[0];
  if (first !== undefined) entries = [...entries.filter((e) => e.index < first.index), ...ready.entries];
  return { hardState: ready.hardState ?? durable.hardState, snapshot, entries };
}
