/**
 * The Raft state machine, free of IO (etcd-io/raft raft.go + rawnode.go). Inputs: step(), tick(),
 * propose(), proposeConfChange(), transferLeadership(), readIndex(), compact(). Output: a Ready,
 * acknowledged with advance(). Time is ticks, randomness is an injected Prng.
 */
import { invariant } from '../../common/assert.js';
import type { Prng } from '../../common/prng.js';
import { applyConfChange, encodeConfState, isMember, isVoter, quorumSize, type ConfChange } from './confchange.js';
import { RaftLog } from './log.js';
import { Progress } from './progress.js';
import {
  NONE,
  type Advanced,
  type AppendMessage,
  type AppendResponseMessage,
  type BugName,
  type ConfState,
  type Entry,
  type EntryType,
  type HardState,
  type HeartbeatMessage,
  type HeartbeatResponseMessage,
  type Message,
  type NodeId,
  type PersistedState,
  type PreVoteMessage,
  type ProposeResult,
  type RaftConfig,
  type ReadState,
  type Ready,
  type Role,
  type Snapshot,
  type SnapshotMessage,
  type VoteMessage,
} from './types.js';

interface PendingRead {
  readonly context: string;
  readonly index: number;
  readonly from: NodeId;
  readonly acks: Set<NodeId>;
}

type CampaignKind = 'pre-vote' | 'vote' | 'transfer';

/** Messages that acknowledge state which must be durable first (thesis §3.8). */
const AFTER_PERSIST: ReadonlySet<Message['type']> = new Set(['vote', 'vote-response', 'append-response']);

export interface RaftStatus {
  readonly id: NodeId;
  readonly role: Role;
  readonly term: number;
  readonly vote: NodeId;
  readonly leaderId: NodeId;
  readonly commitIndex: number;
  readonly appliedIndex: number;
  readonly stableIndex: number;
  readonly lastIndex: number;
  readonly lastTerm: number;
  readonly snapshotIndex: number;
  readonly confState: ConfState;
  readonly transferee: NodeId;
}

export class RaftNode {
  readonly id: NodeId;
  private termValue: number;
  private vote: NodeId;
  private roleValue: Role = 'follower';
  private leaderIdValue: NodeId = NONE;
  private readonly raftLog: RaftLog;
  private progress = new Map<NodeId, Progress>();
  private votes = new Map<NodeId, boolean>();
  private electionElapsed = 0;
  private heartbeatElapsed = 0;
  private randomizedElectionTicks = 0;
  private transferee: NodeId = NONE;
  private pendingReads: PendingRead[] = [];
  private readStates: ReadState[] = [];
  private messagesNow: Message[] = [];
  private messagesAfterPersist: Message[] = [];
  private persistedHardState: HardState;
  private outstanding: { ready: Ready; after: Message[] } | undefined = undefined;
  private readyCount = 0;
  private readonly bugs: ReadonlySet<BugName>;

  constructor(private readonly config: RaftConfig, persisted: PersistedState, private readonly prng: Prng) {
    invariant(config.id !== NONE, 'node id must be positive');
    invariant(config.heartbeatTicks > 0 && config.electionTicks > config.heartbeatTicks, 'electionTicks must exceed heartbeatTicks');
    this.id = config.id;
    this.bugs = config.bugs ?? new Set();
    this.raftLog = new RaftLog(persisted.snapshot, persisted.entries, persisted.hardState.commitIndex);
    this.termValue = persisted.hardState.term;
    this.vote = persisted.hardState.vote;
    this.persistedHardState = this.hardState();
    this.resetElectionTimer();
  }

  // ---- observation ---------------------------------------------------------------------------------

  get term(): number { return this.termValue; }
  get role(): Role { return this.roleValue; }
  get leaderId(): NodeId { return this.leaderIdValue; }
  get log(): RaftLog { return this.raftLog; }

  status(): RaftStatus {
    return {
      id: this.id, role: this.roleValue, term: this.termValue, vote: this.vote, leaderId: this.leaderIdValue,
      commitIndex: this.raftLog.commitIndex, appliedIndex: this.raftLog.appliedIndex,
      stableIndex: this.raftLog.stableIndex, lastIndex: this.raftLog.lastIndex(), lastTerm: this.raftLog.lastTerm(),
      snapshotIndex: this.raftLog.snapshot.metadata.index, confState: this.raftLog.confState, transferee: this.transferee,
    };
  }

  progressOf(id: NodeId): Progress | undefined { return this.progress.get(id); }

  // ---- inputs --------------------------------------------------------------------------------------

  tick(): void {
    if (this.roleValue === 'leader') this.tickHeartbeat();
    else this.tickElection();
  }

  propose(data: Uint8Array): ProposeResult {
    return this.proposeEntry('normal', data);
  }

  /** One voter added or removed at a time, only after the leader committed in its term (thesis §4.1, bug fix of §4.1.1). */
  proposeConfChange(change: ConfChange): ProposeResult {
    if (this.roleValue === 'leader' && !this.canChangeConf()) {
      return { ok: false, reason: 'conf-change-pending', leaderId: this.id };
    }
    const next = applyConfChange(this.raftLog.confState, change);
    if (this.roleValue === 'leader' && next === undefined) {
      return { ok: false, reason: 'invalid-conf-change', leaderId: this.id };
    }
    return this.proposeEntry('conf-change', next === undefined ? new Uint8Array() : encodeConfState(next));
  }

  /** Leadership transfer (thesis §3.10): catch the target up, then tell it to campaign at once. */
  transferLeadership(to: NodeId): boolean {
    if (this.roleValue !== 'leader' || to === this.id || !isVoter(this.raftLog.confState, to)) return false;
    if (this.transferee === to) return true;
    this.transferee = to;
    this.electionElapsed = 0;
    const pr = this.progress.get(to)!;
    if (pr.match === this.raftLog.lastIndex()) this.send({ type: 'timeout-now', from: this.id, to, term: this.termValue });
    else this.sendAppend(to);
    return true;
  }

  /**
   * Linearizable read (thesis §6.4): the answer arrives as a ReadState once a quorum confirmed this
   * leadership. Returns false when no leader is known (the caller retries).
   */
  readIndex(context: string): boolean {
    if (this.roleValue === 'leader') return this.leaderReadIndex(this.id, context);
    if (this.leaderIdValue === NONE) return false;
    this.send({ type: 'read-index', from: this.id, to: this.leaderIdValue, term: this.termValue, context });
    return true;
  }

  /** The application snapshotted its state through index: drop the log before it (thesis §5.1). */
  compact(index: number, data: Uint8Array): void {
    this.raftLog.compact(index, data);
  }

  step(m: Message): void {
    invariant(m.to === this.id, () => `message for ${m.to} stepped into ${this.id}`);
    if (m.term > this.termValue) {
      if (!this.acceptHigherTerm(m)) return;
    } else if (m.term < this.termValue) {
      this.stepLowerTerm(m);
      return;
    }
    this.stepCurrentTerm(m);
  }

  // ---- Ready / advance ---------------------------------------------------------------------------

  hasReady(): boolean {
    if (this.outstanding !== undefined) return false;
    return !sameHardState(this.hardState(), this.persistedHardState)
      || this.raftLog.unstableSnapshot !== undefined
      || this.raftLog.unstableEntries().length > 0
      || this.messagesNow.length > 0 || this.messagesAfterPersist.length > 0 || this.readStates.length > 0
      || this.raftLog.nextCommittedEntries(this.applyBound()).length > 0;
  }

  ready(): Ready {
    invariant(this.outstanding === undefined, 'ready() called before the previous Ready was advanced');
    const hardState = this.hardState();
    const changed = !sameHardState(hardState, this.persistedHardState);
    const snapshot = this.raftLog.unstableSnapshot;
    const entries = this.raftLog.unstableEntries();
    const ready: Ready = {
      id: ++this.readyCount,
      hardState: changed ? hardState : undefined,
      snapshot,
      entries,
      messages: this.messagesNow,
      committedEntries: this.raftLog.nextCommittedEntries(this.applyBound()),
      readStates: this.readStates,
      // A new commitIndex alone needs no fsync: a stale one on disk is safe (etcd MustSync).
      mustSync: hardState.term !== this.persistedHardState.term || hardState.vote !== this.persistedHardState.vote
        || snapshot !== undefined || entries.length > 0,
    };
    this.outstanding = { ready, after: this.messagesAfterPersist };
    this.messagesNow = [];
    this.messagesAfterPersist = [];
    this.readStates = [];
    return ready;
  }

  /** The Ready's state is durable: release the messages that depended on it. */
  advance(ready: Ready): Advanced {
    invariant(this.outstanding?.ready === ready, 'advance() of a Ready that is not outstanding');
    const after = this.outstanding.after;
    this.outstanding = undefined;
    if (ready.hardState !== undefined) this.persistedHardState = ready.hardState;
    if (ready.snapshot !== undefined) this.raftLog.stableSnapshotTo(ready.snapshot);
    const last = ready.entries[ready.entries.length - 1];
    if (last !== undefined) this.raftLog.stableTo(last.index, last.term);
    const lastApplied = ready.committedEntries[ready.committedEntries.length - 1];
    if (lastApplied !== undefined) this.raftLog.appliedTo(lastApplied.index);
    if (this.roleValue === 'leader') this.leaderPersisted();
    return { messages: after };
  }

  private applyBound(): number {
    return this.bugs.has('apply-before-persist') ? this.raftLog.lastIndex() : this.raftLog.stableIndex;
  }

  private hardState(): HardState {
    return { term: this.termValue, vote: this.vote, commitIndex: this.raftLog.commitIndex };
  }

  // ---- term handling (etcd raft.Step) ----------------------------------------------------------------

  private acceptHigherTerm(m: Message): boolean {
    if (m.type === 'vote' || m.type === 'pre-vote') {
      const force = m.type === 'vote' && m.transfer;
      // Leader lease (thesis §4.2.3 / §9.6): a follower that heard from a live leader ignores campaigns.
      const inLease = this.config.checkQuorum && this.leaderIdValue !== NONE && this.electionElapsed < this.config.electionTicks;
      if (inLease && !force) return false;
    }
    if (m.type === 'pre-vote') return true;
    if (m.type === 'pre-vote-response' && !m.reject) return true;
    const fromLeader = m.type === 'append' || m.type === 'heartbeat' || m.type === 'snapshot';
    this.becomeFollower(m.term, fromLeader ? m.from : NONE);
    return true;
  }

  private stepLowerTerm(m: Message): void {
    if ((this.config.checkQuorum || this.config.preVote) && (m.type === 'append' || m.type === 'heartbeat')) {
      // A stale leader cut off by PreVote would otherwise never learn the new term (etcd raft.go).
      this.send({ type: 'append-response', from: this.id, to: m.from, term: this.termValue, index: 0, reject: false, hintIndex: 0, hintTerm: 0 });
    } else if (m.type === 'pre-vote') {
      this.send({ type: 'pre-vote-response', from: this.id, to: m.from, term: this.termValue, reject: true });
    }
  }

  private stepCurrentTerm(m: Message): void {
    if (m.type === 'vote' || m.type === 'pre-vote') {
      this.handleVoteRequest(m);
      return;
    }
    switch (this.roleValue) {
      case 'leader': this.stepLeader(m); return;
      case 'candidate':
      case 'pre-candidate': this.stepCandidate(m); return;
      case 'follower': this.stepFollower(m); return;
    }
  }

  private handleVoteRequest(m: VoteMessage | PreVoteMessage): void {
    const canVote = this.vote === m.from
      || (this.vote === NONE && this.leaderIdValue === NONE)
      || (m.type === 'pre-vote' && m.term > this.termValue)
      || (m.type === 'vote' && this.bugs.has('vote-twice'));
    const skipLogCheck = this.bugs.has('skip-vote-log-check') || (m.type === 'pre-vote' && this.bugs.has('skip-prevote-log-check'));
    const upToDate = skipLogCheck || this.raftLog.isUpToDate(m.lastIndex, m.lastTerm);
    const responseType = m.type === 'vote' ? 'vote-response' : 'pre-vote-response';
    if (canVote && upToDate) {
      this.send({ type: responseType, from: this.id, to: m.from, term: m.term, reject: false });
      if (m.type === 'vote') {
        this.electionElapsed = 0;
        this.vote = m.from;
      }
    } else {
      this.send({ type: responseType, from: this.id, to: m.from, term: this.termValue, reject: true });
    }
  }

  // ---- roles ---------------------------------------------------------------------------------------

  private becomeFollower(term: number, leaderId: NodeId): void {
    if (term !== this.termValue) {
      this.termValue = term;
      this.vote = NONE;
    }
    this.roleValue = 'follower';
    this.leaderIdValue = leaderId;
    this.resetRoleState();
  }

  private becomePreCandidate(): void {
    invariant(this.roleValue !== 'leader', 'leader cannot pre-campaign');
    this.roleValue = 'pre-candidate';
    this.leaderIdValue = NONE;
    this.resetRoleState();
  }

  private becomeCandidate(): void {
    invariant(this.roleValue !== 'leader', 'leader cannot campaign');
    this.termValue += 1;
    this.vote = this.id;
    this.roleValue = 'candidate';
    this.leaderIdValue = NONE;
    this.resetRoleState();
  }

  private becomeLeader(): void {
    invariant(this.roleValue === 'candidate', 'only a candidate becomes leader');
    this.roleValue = 'leader';
    this.leaderIdValue = this.id;
    this.resetRoleState();
    this.resetProgress();
    // A leader commits an entry of its own term before anything else (thesis §3.6.2, §6.4).
    this.appendEntries([{ type: 'normal', data: new Uint8Array() }]);
    this.broadcastAppend();
  }

  private resetRoleState(): void {
    this.votes.clear();
    this.electionElapsed = 0;
    this.heartbeatElapsed = 0;
    this.transferee = NONE;
    this.pendingReads = [];
    this.progress.clear();
    this.resetElectionTimer();
  }

  private resetElectionTimer(): void {
    // Randomized in [electionTicks, 2*electionTicks) to split votes rarely (thesis §3.4).
    this.randomizedElectionTicks = this.config.electionTicks + this.prng.int(0, this.config.electionTicks - 1);
  }

  private resetProgress(): void {
    this.progress.clear();
    const next = this.raftLog.lastIndex() + 1;
    for (const id of this.members()) this.progress.set(id, new Progress(next, this.config.maxInflightMessages));
    this.progress.get(this.id)?.maybeUpdate(this.selfMatch());
  }

  private members(): NodeId[] {
    const conf = this.raftLog.confState;
    return [...conf.voters, ...conf.learners];
  }

  // ---- elections -----------------------------------------------------------------------------------

  /** A sole voter is the quorum by itself: it need not wait out an election timeout (a standalone node). */
  campaignIfSoleVoter(): void {
    const voters = this.raftLog.confState.voters;
    if (this.roleValue === 'leader' || voters.length !== 1 || voters[0] !== this.id) return;
    this.campaign(this.config.preVote ? 'pre-vote' : 'vote');
  }

  private tickElection(): void {
    this.electionElapsed++;
    if (!this.promotable() || this.electionElapsed < this.randomizedElectionTicks) return;
    this.electionElapsed = 0;
    this.campaign(this.config.preVote ? 'pre-vote' : 'vote');
  }

  private promotable(): boolean {
    return isVoter(this.raftLog.confState, this.id);
  }

  private campaign(kind: CampaignKind): void {
    if (kind === 'pre-vote') this.becomePreCandidate();
    else this.becomeCandidate();
    const voteTerm = kind === 'pre-vote' ? this.termValue + 1 : this.termValue;
    if (this.recordVote(this.id, true)) return;
    for (const to of this.raftLog.confState.voters) {
      if (to === this.id) continue;
      const base = { from: this.id, to, term: voteTerm, lastIndex: this.raftLog.lastIndex(), lastTerm: this.raftLog.lastTerm() };
      if (kind === 'pre-vote') this.send({ type: 'pre-vote', ...base });
      else this.send({ type: 'vote', ...base, transfer: kind === 'transfer' });
    }
  }

  /** Records a vote; returns true when the election ended (won or lost). */
  private recordVote(from: NodeId, granted: boolean): boolean {
    const conf = this.raftLog.confState;
    if (!isVoter(conf, from)) return false;
    if (!this.votes.has(from)) this.votes.set(from, granted);
    let grants = 0;
    let rejects = 0;
    for (const id of conf.voters) {
      const vote = this.votes.get(id);
      if (vote === true) grants++;
      if (vote === false) rejects++;
    }
    const quorum = quorumSize(conf);
    if (grants >= quorum) {
      if (this.roleValue === 'pre-candidate') this.campaign('vote');
      else this.becomeLeader();
      return true;
    }
    if (rejects > conf.voters.length - quorum) {
      this.becomeFollower(this.termValue, NONE);
      return true;
    }
    return false;
  }

  private stepCandidate(m: Message): void {
    switch (m.type) {
      case 'append':
      case 'heartbeat':
      case 'snapshot':
        this.becomeFollower(m.term, m.from);
        this.stepFollower(m);
        return;
      case 'pre-vote-response':
        if (this.roleValue === 'pre-candidate') this.recordVote(m.from, !m.reject);
        return;
      case 'vote-response':
        if (this.roleValue === 'candidate') this.recordVote(m.from, !m.reject);
        return;
      default:
        return;
    }
  }

  // ---- follower ------------------------------------------------------------------------------------

  private stepFollower(m: Message): void {
    switch (m.type) {
      case 'append':
        this.heardFromLeader(m.from);
        this.handleAppend(m);
        return;
      case 'heartbeat':
        this.heardFromLeader(m.from);
        this.handleHeartbeat(m);
        return;
      case 'snapshot':
        this.heardFromLeader(m.from);
        this.handleSnapshot(m);
        return;
      case 'timeout-now':
        if (this.promotable()) this.campaign('transfer');
        return;
      case 'read-index-response':
        this.readStates.push({ context: m.context, index: m.index });
        return;
      default:
        return;
    }
  }

  private heardFromLeader(leaderId: NodeId): void {
    this.electionElapsed = 0;
    this.leaderIdValue = leaderId;
  }

  private handleAppend(m: AppendMessage): void {
    const log = this.raftLog;
    if (m.prevIndex < log.commitIndex) {
      this.respondAppend(m.from, log.commitIndex);
      return;
    }
    const lastNewIndex = log.maybeAppend(m.prevIndex, m.prevTerm, m.commitIndex, m.entries);
    if (lastNewIndex !== undefined) {
      this.respondAppend(m.from, lastNewIndex);
      return;
    }
    const hintIndex = log.findConflictByTerm(Math.min(m.prevIndex, log.lastIndex()), m.prevTerm);
    this.send({
      type: 'append-response', from: this.id, to: m.from, term: this.termValue, index: m.prevIndex, reject: true,
      hintIndex, hintTerm: log.term(hintIndex) ?? 0,
    });
  }

  private respondAppend(to: NodeId, index: number): void {
    this.send({ type: 'append-response', from: this.id, to, term: this.termValue, index, reject: false, hintIndex: 0, hintTerm: 0 });
  }

  private handleHeartbeat(m: HeartbeatMessage): void {
    // The leader sends min(match, commitIndex), so this never exceeds what we acknowledged (etcd).
    this.raftLog.commitTo(m.commitIndex);
    this.send({ type: 'heartbeat-response', from: this.id, to: m.from, term: this.termValue, context: m.context });
  }

  private handleSnapshot(m: SnapshotMessage): void {
    const snapshot = m.snapshot;
    const meta = snapshot.metadata;
    const log = this.raftLog;
    if (meta.index <= log.commitIndex) {
      this.respondAppend(m.from, log.commitIndex);
      return;
    }
    if (log.matchTerm(meta.index, meta.term)) {
      // We already hold the entries: only fast-forward the commit point (etcd raft.restore).
      log.commitTo(meta.index);
      this.respondAppend(m.from, meta.index);
      return;
    }
    log.restore(snapshot);
    this.respondAppend(m.from, log.lastIndex());
  }

  // ---- leader --------------------------------------------------------------------------------------

  private tickHeartbeat(): void {
    this.heartbeatElapsed++;
    this.electionElapsed++;
    this.tickSnapshotTimeouts();
    if (this.electionElapsed >= this.config.electionTicks) {
      this.electionElapsed = 0;
      // CheckQuorum (thesis §6.2): a leader that cannot reach a majority steps down.
      if (this.config.checkQuorum && !this.quorumActive()) {
        this.becomeFollower(this.termValue, NONE);
        return;
      }
      this.transferee = NONE;
    }
    if (this.heartbeatElapsed >= this.config.heartbeatTicks) {
      this.heartbeatElapsed = 0;
      this.broadcastHeartbeat('');
    }
  }

  /** A snapshot message may be lost: after an election timeout, probe again (which resends it). */
  private tickSnapshotTimeouts(): void {
    for (const pr of this.progress.values()) {
      if (pr.state !== 'snapshot') continue;
      pr.snapshotElapsedTicks++;
      if (pr.snapshotElapsedTicks >= this.config.electionTicks) pr.becomeProbe();
    }
  }

  private quorumActive(): boolean {
    const conf = this.raftLog.confState;
    let active = 0;
    for (const id of conf.voters) {
      const pr = this.progress.get(id);
      if (id === this.id || pr?.recentActive === true) active++;
      if (pr !== undefined) pr.recentActive = false;
    }
    return active >= quorumSize(conf);
  }

  private stepLeader(m: Message): void {
    const pr = this.progress.get(m.from);
    if (m.type === 'read-index') {
      this.leaderReadIndex(m.from, m.context);
      return;
    }
    if (pr === undefined) return;
    if (m.type === 'append-response') this.handleAppendResponse(m, pr);
    else if (m.type === 'heartbeat-response') this.handleHeartbeatResponse(m, pr);
  }

  private handleAppendResponse(m: AppendResponseMessage, pr: Progress): void {
    pr.recentActive = true;
    if (m.reject) {
      const hintNext = m.hintTerm > 0 ? this.raftLog.findConflictByTerm(m.hintIndex, m.hintTerm) + 1 : m.hintIndex + 1;
      if (pr.maybeDecreaseTo(m.index, hintNext)) {
        if (pr.state === 'replicate') pr.becomeProbe();
        this.sendAppend(m.from);
      }
      return;
    }
    if (!pr.maybeUpdate(m.index)) return;
    if (pr.state === 'probe') pr.becomeReplicate();
    else if (pr.state === 'snapshot' && pr.match >= pr.pendingSnapshotIndex) pr.becomeProbe();
    if (this.maybeCommit()) this.broadcastAppend();
    else this.sendAppendsWhileOpen(m.from);
    if (m.from === this.transferee && pr.match === this.raftLog.lastIndex()) {
      this.send({ type: 'timeout-now', from: this.id, to: m.from, term: this.termValue });
    }
  }

  private handleHeartbeatResponse(m: HeartbeatResponseMessage, pr: Progress): void {
    pr.recentActive = true;
    pr.onHeartbeatResponse();
    if (pr.match < this.raftLog.lastIndex()) this.sendAppend(m.from);
    if (m.context !== '') this.ackRead(m.context, m.from);
  }

  private sendAppendsWhileOpen(to: NodeId): void {
    for (let i = 0; i < this.config.maxInflightMessages; i++) {
      const pr = this.progress.get(to);
      if (pr === undefined || pr.next > this.raftLog.lastIndex() || !this.sendAppend(to)) return;
    }
  }

  private leaderPersisted(): void {
    this.progress.get(this.id)?.maybeUpdate(this.selfMatch());
    if (this.maybeCommit()) this.broadcastAppend();
  }

  /**
   * The leader counts itself only for entries on its own disk. The injected bug counts what it merely
   * appended, which loses acknowledged entries when the leader crashes before its fsync.
   */
  private selfMatch(): number {
    return this.bugs.has('apply-before-persist') ? this.raftLog.lastIndex() : this.raftLog.stableIndex;
  }

  /** Commit by counting replicas, only for an entry of the current term (thesis §3.6.2, Figure 3.7). */
  private maybeCommit(): boolean {
    const conf = this.raftLog.confState;
    const matches = conf.voters.map((id) => this.progress.get(id)?.match ?? 0).sort((a, b) => b - a);
    const quorumIndex = matches[quorumSize(conf) - 1] ?? 0;
    const log = this.raftLog;
    if (quorumIndex <= log.commitIndex) return false;
    if (log.term(quorumIndex) !== this.termValue && !this.bugs.has('commit-old-term')) return false;
    log.commitTo(quorumIndex);
    this.afterCommit();
    return true;
  }

  /** Thesis §4.2.2: a leader that is no longer a voter steps down once that configuration is committed. */
  private afterCommit(): void {
    const log = this.raftLog;
    if (!isVoter(log.confState, this.id) && log.commitIndex >= log.confStateIndex) {
      this.broadcastAppend();
      this.becomeFollower(this.termValue, NONE);
    }
  }

  private proposeEntry(type: EntryType, data: Uint8Array): ProposeResult {
    if (this.roleValue !== 'leader') return { ok: false, reason: 'not-leader', leaderId: this.leaderIdValue };
    if (this.transferee !== NONE) return { ok: false, reason: 'transferring', leaderId: this.id };
    const entry = this.appendEntries([{ type, data }]);
    this.broadcastAppend();
    return { ok: true, index: entry.index, term: entry.term };
  }

  private canChangeConf(): boolean {
    const log = this.raftLog;
    return log.lastConfChangeIndex() <= log.commitIndex && log.term(log.commitIndex) === this.termValue;
  }

  private appendEntries(items: readonly { type: EntryType; data: Uint8Array }[]): Entry {
    const log = this.raftLog;
    let index = log.lastIndex();
    const entries = items.map((item) => ({ index: ++index, term: this.termValue, type: item.type, data: item.data }));
    log.append(entries);
    if (entries.some((e) => e.type === 'conf-change')) this.reconcileProgress();
    this.progress.get(this.id)?.maybeUpdate(this.selfMatch());
    if (this.bugs.has('apply-before-persist')) this.maybeCommit();
    return entries[entries.length - 1]!;
  }

  /** Start or stop replicating to members added or removed by a configuration entry. */
  private reconcileProgress(): void {
    const members = new Set(this.members());
    for (const id of this.progress.keys()) {
      if (!members.has(id)) this.progress.delete(id);
    }
    for (const id of members) {
      if (!this.progress.has(id)) this.progress.set(id, new Progress(this.raftLog.lastIndex() + 1, this.config.maxInflightMessages));
    }
    if (!members.has(this.transferee)) this.transferee = NONE;
  }

  private broadcastAppend(): void {
    for (const id of this.progress.keys()) {
      if (id !== this.id) this.sendAppend(id);
    }
  }

  private broadcastHeartbeat(context: string): void {
    for (const [id, pr] of this.progress) {
      if (id === this.id) continue;
      const commitIndex = Math.min(pr.match, this.raftLog.commitIndex);
      this.send({ type: 'heartbeat', from: this.id, to: id, term: this.termValue, commitIndex, context });
    }
  }

  /** Sends the next append (or the snapshot when the log was compacted past it); false if paused. */
  private sendAppend(to: NodeId): boolean {
    const pr = this.progress.get(to);
    if (pr === undefined || pr.isPaused()) return false;
    const log = this.raftLog;
    const prevIndex = pr.next - 1;
    const prevTerm = log.term(prevIndex);
    if (prevTerm === undefined || pr.next < log.firstIndex()) return this.sendSnapshot(to, pr);
    const high = Math.min(log.lastIndex() + 1, pr.next + this.config.maxEntriesPerMessage);
    const entries = log.slice(pr.next, high);
    this.send({ type: 'append', from: this.id, to, term: this.termValue, prevIndex, prevTerm, entries, commitIndex: log.commitIndex });
    pr.sentEntries(entries.length > 0 ? entries[entries.length - 1]!.index : prevIndex);
    return true;
  }

  private sendSnapshot(to: NodeId, pr: Progress): boolean {
    const snapshot: Snapshot = this.raftLog.snapshot;
    this.send({ type: 'snapshot', from: this.id, to, term: this.termValue, snapshot });
    pr.becomeSnapshot(snapshot.metadata.index);
    return true;
  }

  // ---- read index (thesis §6.4) --------------------------------------------------------------------

  private leaderReadIndex(from: NodeId, context: string): boolean {
    const log = this.raftLog;
    // Until an entry of this term commits, the leader does not know the latest commit point.
    if (log.term(log.commitIndex) !== this.termValue) return false;
    const read: PendingRead = { context, index: log.commitIndex, from, acks: new Set() };
    this.pendingReads.push(read);
    this.ackRead(context, this.id);
    if (this.pendingReads.includes(read)) this.broadcastHeartbeat(context);
    return true;
  }

  private ackRead(context: string, from: NodeId): void {
    const position = this.pendingReads.findIndex((read) => read.context === context);
    const conf = this.raftLog.confState;
    if (position < 0 || !isVoter(conf, from)) return;
    const read = this.pendingReads[position]!;
    read.acks.add(from);
    if (read.acks.size < quorumSize(conf)) return;
    // Confirming a later round confirms every earlier one too (etcd read_only.go advance).
    for (const released of this.pendingReads.splice(0, position + 1)) this.releaseRead(released);
  }

  private releaseRead(read: PendingRead): void {
    if (read.from === this.id) {
      this.readStates.push({ context: read.context, index: read.index });
      return;
    }
    if (!isMember(this.raftLog.confState, read.from)) return;
    this.send({ type: 'read-index-response', from: this.id, to: read.from, term: this.termValue, context: read.context, index: read.index });
  }

  // ---- output --------------------------------------------------------------------------------------

  private send(m: Message): void {
    const afterPersist = AFTER_PERSIST.has(m.type) && !this.bugs.has('send-before-persist');
    if (afterPersist) this.messagesAfterPersist.push(m);
    else this.messagesNow.push(m);
  }
}

function sameHardState(a: HardState, b: HardState): boolean {
  return a.term === b.term && a.vote === b.vote && a.commitIndex === b.commitIndex;
}

