/**
 * Raft's safety properties (thesis §3.6, Figure 3.2), checked after every simulated event. A
 * violation throws SafetyViolation; the simulator reports it with the seed that replays it.
 */
import type { RaftNode } from '../raft/core/raft.js';
import type { Entry, NodeId, PreVoteMessage, VoteMessage, VoteResponseMessage } from '../raft/core/types.js';

/** The last entry a node would campaign with after a crash: only durable state survives. */
export interface DurableTail {
  readonly lastIndex: number;
  readonly lastTerm: number;
}

export class SafetyViolation extends Error {
  override name = 'SafetyViolation';
}

export function entryKey(entry: Entry): string {
  return `${entry.type}:${entry.term}:${Buffer.from(entry.data).toString('latin1')}`;
}

interface CommittedEntry {
  readonly key: string;
  readonly term: number;
  /** Lowest term in which some node saw it committed: every later leader must hold it. */
  observedTerm: number;
}

interface NodeTrack {
  commitIndex: number;
  recordedIndex: number;
  wasLeader: boolean;
  leaderTerm: number;
}

export class SafetyChecker {
  private leaders = new Map<number, NodeId>();
  private committed = new Map<number, CommittedEntry>();
  private applied = new Map<number, { key: string; hash: number }>();
  private logEntries = new Map<string, { key: string; prevTerm: number | undefined }>();
  private tracks = new Map<NodeId, NodeTrack>();
  /** Indices first seen committed during the current event. */
  private fresh: number[] = [];
  private readsIssued = new Map<string, number>();
  private maxCommitIndexValue = 0;
  private highestCommittedIndex = 0;
  /** For each (pre-)vote request key: the claimed log and the voter's log at each delivery. */
  private voteRequests = new Map<string, { claimed: DurableTail; voter: DurableTail }[]>();
  readsChecked = 0;

  get maxCommitIndex(): number { return this.maxCommitIndexValue; }
  get committedCount(): number { return this.committed.size; }

  /** A node restarted: its volatile commit point may legitimately be lower than before the crash. */
  onRestart(id: NodeId, raft: RaftNode): void {
    this.tracks.set(id, { commitIndex: raft.log.commitIndex, recordedIndex: raft.log.snapshot.metadata.index, wasLeader: false, leaderTerm: 0 });
  }

  /** Log matching (thesis §3.5): one entry per (index, term), and equal entries have equal predecessors. */
  onEntriesPersisting(raft: RaftNode, entries: readonly Entry[]): void {
    for (const entry of entries) {
      const prevTerm = raft.log.term(entry.index - 1);
      const slot = `${entry.index}/${entry.term}`;
      const key = entryKey(entry);
      const seen = this.logEntries.get(slot);
      if (seen === undefined) {
        this.logEntries.set(slot, { key, prevTerm });
        continue;
      }
      if (seen.key !== key) this.fail(`log matching: two entries at index ${entry.index} term ${entry.term} (${seen.key} vs ${key}) on node ${raft.id}`);
      if (seen.prevTerm !== undefined && prevTerm !== undefined && seen.prevTerm !== prevTerm) {
        this.fail(`log matching: entry ${slot} follows term ${prevTerm} on node ${raft.id}, term ${seen.prevTerm} elsewhere`);
      }
    }
  }

  afterEvent(nodes: ReadonlyMap<NodeId, RaftNode | undefined>): void {
    this.fresh.length = 0;
    for (const [id, raft] of nodes) {
      const track = this.tracks.get(id);
      if (raft !== undefined && track !== undefined) this.checkCommit(raft, track);
    }
    for (const [id, raft] of nodes) {
      const track = this.tracks.get(id);
      if (raft !== undefined && track !== undefined) this.checkLeader(raft, track);
    }
  }

  /**
   * Leader completeness, before anyone is elected (thesis §3.6.3 proof): a voter missing a committed
   * entry must not be able to collect a quorum of votes from logs (as durable on disk) that are no
   * more up to date than its own. Catches Figure 3.7 (committing an old-term entry by counting) the
   * moment it happens, not only when the unlucky election follows.
   */
  checkElectable(nodes: ReadonlyMap<NodeId, RaftNode | undefined>, durable: ReadonlyMap<NodeId, DurableTail>): void {
    const highest = this.highestCommittedIndex;
    const committed = this.committed.get(highest);
    if (committed === undefined) return;
    for (const raft of nodes.values()) {
      if (raft === undefined || holdsCommitted(raft, highest, committed.term)) continue;
      const conf = raft.log.confState;
      if (!conf.voters.includes(raft.id)) continue;
      const lastIndex = raft.log.lastIndex();
      const lastTerm = raft.log.lastTerm();
      let votes = 0;
      for (const voter of conf.voters) {
        const tail = durable.get(voter);
        if (tail !== undefined && (lastTerm > tail.lastTerm || (lastTerm === tail.lastTerm && lastIndex >= tail.lastIndex))) votes++;
      }
      if (votes >= Math.floor(conf.voters.length / 2) + 1) {
        this.fail(`leader completeness: node ${raft.id} (last ${lastIndex}/${lastTerm}) could win an election without committed index ${highest} (${committed.key})`);
      }
    }
  }

  private checkLeader(raft: RaftNode, track: NodeTrack): void {
    const isLeader = raft.role === 'leader';
    if (isLeader) {
      const existing = this.leaders.get(raft.term);
      if (existing === undefined) this.leaders.set(raft.term, raft.id);
      else if (existing !== raft.id) this.fail(`election safety: nodes ${existing} and ${raft.id} both leader in term ${raft.term}`);
      if (!track.wasLeader || track.leaderTerm !== raft.term) this.checkLeaderCompleteness(raft);
      else this.checkFreshCommitted(raft);
    }
    track.wasLeader = isLeader;
    track.leaderTerm = raft.term;
  }

  /** Leader completeness (thesis §3.6.3): a leader holds every entry committed in an earlier term. */
  private checkLeaderCompleteness(raft: RaftNode): void {
    for (const [index, entry] of this.committed) {
      if (entry.observedTerm < raft.term) this.checkLeaderHolds(raft, index, entry);
    }
  }

  private checkFreshCommitted(raft: RaftNode): void {
    for (const index of this.fresh) {
      const entry = this.committed.get(index)!;
      if (entry.observedTerm < raft.term) this.checkLeaderHolds(raft, index, entry);
    }
  }

  private checkLeaderHolds(raft: RaftNode, index: number, entry: CommittedEntry): void {
    const log = raft.log;
    if (index <= log.snapshot.metadata.index) return;
    if (index > log.lastIndex()) {
      this.fail(`leader completeness: leader ${raft.id} of term ${raft.term} lacks committed index ${index} (${entry.key})`);
    }
    const key = entryKey(log.entryAt(index));
    if (key !== entry.key) this.fail(`leader completeness: leader ${raft.id} of term ${raft.term} has ${key} at committed index ${index}, committed was ${entry.key}`);
  }

  private checkCommit(raft: RaftNode, track: NodeTrack): void {
    const log = raft.log;
    if (log.commitIndex < track.commitIndex) this.fail(`commitIndex of node ${raft.id} went back from ${track.commitIndex} to ${log.commitIndex}`);
    track.commitIndex = log.commitIndex;
    if (log.commitIndex > this.maxCommitIndexValue) this.maxCommitIndexValue = log.commitIndex;
    const from = Math.max(track.recordedIndex + 1, log.firstIndex());
    for (let index = from; index <= log.commitIndex; index++) this.recordCommitted(raft, log.entryAt(index));
    track.recordedIndex = Math.max(track.recordedIndex, log.commitIndex);
  }

  /** Committed entries are never lost or changed (thesis §3.6.3, state machine safety). */
  private recordCommitted(raft: RaftNode, entry: Entry): void {
    const key = entryKey(entry);
    const existing = this.committed.get(entry.index);
    if (existing === undefined) {
      const committed: CommittedEntry = { key, term: entry.term, observedTerm: raft.term };
      this.committed.set(entry.index, committed);
      this.fresh.push(entry.index);
      if (entry.index > this.highestCommittedIndex) this.highestCommittedIndex = entry.index;
      return;
    }
    if (existing.key !== key) this.fail(`committed entry changed at index ${entry.index}: ${existing.key} then ${key} on node ${raft.id}`);
    if (raft.term < existing.observedTerm) existing.observedTerm = raft.term;
  }

  /** State machine safety (thesis §3.6.3): no two nodes apply different entries at one index. */
  onApply(id: NodeId, entry: Entry, hashAfter: number): void {
    const key = entryKey(entry);
    const existing = this.applied.get(entry.index);
    if (existing === undefined) {
      this.applied.set(entry.index, { key, hash: hashAfter });
      return;
    }
    if (existing.key !== key) this.fail(`state machine safety: node ${id} applied ${key} at ${entry.index}, another applied ${existing.key}`);
    if (existing.hash !== hashAfter) this.fail(`state machine safety: node ${id} state hash differs at ${entry.index}`);
  }

  onInstallSnapshot(id: NodeId, index: number, hash: number): void {
    const existing = this.applied.get(index);
    if (existing !== undefined && existing.hash !== hash) this.fail(`snapshot installed on node ${id} at ${index} differs from the applied state`);
  }

  onVoteRequest(voter: RaftNode, m: VoteMessage | PreVoteMessage): void {
    const key = `${m.type}:${m.from}>${m.to}@${m.term}`;
    const deliveries = this.voteRequests.get(key) ?? [];
    deliveries.push({ claimed: { lastIndex: m.lastIndex, lastTerm: m.lastTerm }, voter: { lastIndex: voter.log.lastIndex(), lastTerm: voter.log.lastTerm() } });
    this.voteRequests.set(key, deliveries);
  }

  /**
   * Election restriction (thesis §3.6.1, §9.6): a vote or pre-vote is granted only to a log at least as
   * up to date as the voter's when it received the request (some delivery of it must justify the grant).
   */
  onVoteGrant(m: VoteResponseMessage): void {
    const requestType = m.type === 'vote-response' ? 'vote' : 'pre-vote';
    const deliveries = this.voteRequests.get(`${requestType}:${m.to}>${m.from}@${m.term}`) ?? [];
    if (deliveries.some((d) => upToDate(d.claimed, d.voter))) return;
    const last = deliveries[deliveries.length - 1];
    const detail = last === undefined ? 'that it never received' : `whose log ${last.claimed.lastIndex}/${last.claimed.lastTerm} is behind its own ${last.voter.lastIndex}/${last.voter.lastTerm}`;
    this.fail(`election restriction: node ${m.from} granted a ${requestType} in term ${m.term} to node ${m.to} ${detail}`);
  }

  /** A linearizable read must reflect every entry committed before it was issued (thesis §6.4). */
  onReadIssued(context: string): void {
    this.readsIssued.set(context, this.maxCommitIndexValue);
  }

  onReadState(id: NodeId, context: string, index: number): void {
    const floor = this.readsIssued.get(context);
    if (floor === undefined) return;
    this.readsChecked++;
    if (index < floor) this.fail(`stale read on node ${id}: read index ${index} < commitIndex ${floor} at issue`);
  }

  private fail(message: string): never {
    throw new SafetyViolation(message);
  }
}

/** Compared by term: the log-matching check already makes (index, term) name one entry. */
function holdsCommitted(raft: RaftNode, index: number, term: number): boolean {
  const log = raft.log;
  return index <= log.snapshot.metadata.index || log.term(index) === term;
}

/** Is log a at least as up to date as log b (thesis §3.6.1)? */
function upToDate(a: DurableTail, b: DurableTail): boolean {
  return a.lastTerm > b.lastTerm || (a.lastTerm === b.lastTerm && a.lastIndex >= b.lastIndex);
}
