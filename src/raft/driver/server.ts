/**
 * A Raft node with real IO: the core driven by a timer, the TCP transport and the durable storage.
 * Every input (tick, message, proposal) steps the core synchronously; the Ready loop then hands at most
 * one Ready at a time to the storage, whose writes run on the thread pool. Until that write is durable
 * the Ready stays outstanding: the core gives no next Ready, and the messages that depend on it (votes,
 * append acknowledgements, thesis §3.8) and the leader's own match index (advance()) wait for it. The
 * core keeps stepping meanwhile, so inputs arriving during an fsync join the next Ready: one write
 * covers them all (group commit). Committed entries are applied as soon as a Ready names them: the core
 * only hands out entries already durable here (stableIndex), except behind a snapshot, which is applied
 * once written.
 *
 * For the layer above: propose(record) resolves with the committed offset (the Raft index);
 * onCommitted delivers, in order, every committed record, and a snapshot whenever the image must be
 * replaced (at start from the local snapshot, or after InstallSnapshot).
 */
import { Prng } from '../../common/prng.js';
import type { ConfChange } from '../core/confchange.js';
import { RaftNode, type RaftStatus } from '../core/raft.js';
import type { ConfState, Entry, NodeId, Ready, Snapshot } from '../core/types.js';
import { DurableStorage, type RecoveryReport } from './storage.js';
import { TcpTransport, type PeerAddress, type RpcHandler } from './transport.js';

export type CommittedEvent =
  | { readonly kind: 'record'; readonly offset: number; readonly term: number; readonly data: Uint8Array }
  | { readonly kind: 'snapshot'; readonly offset: number; readonly data: Uint8Array };

export interface RaftServerOptions {
  readonly nodeId: NodeId;
  readonly dataDir: string;
  /** The controller listener; undefined for a one-voter quorum with no peers. */
  readonly listen: PeerAddress | undefined;
  /** Requests sharing the controller listener (transport.ts RPC frames). */
  readonly onRpc?: RpcHandler;
  /** Addresses of every other node, voters and observers (controller.quorum.voters + brokers). */
  readonly peers: ReadonlyMap<NodeId, PeerAddress>;
  /** The configuration a brand-new cluster starts from. */
  readonly bootstrap: ConfState;
  readonly onCommitted: (event: CommittedEvent) => void;
  /** The image's snapshot at the last applied offset; the log is compacted every snapshotEveryEntries. */
  readonly takeSnapshot?: () => Uint8Array;
  readonly snapshotEveryEntries?: number;
  /**
   * Compact once the entries applied since the last snapshot hold this many bytes (Kafka's
   * metadata.log.max.record.bytes.between.snapshots); either bound triggers a snapshot.
   */
  readonly snapshotEveryBytes?: number;
  /** Called after every input whose processing changed the role, term or known leader. */
  readonly onStatusChange?: (status: RaftStatus) => void;
  readonly tickMs?: number;
  readonly electionTicks?: number;
  readonly heartbeatTicks?: number;
  readonly proposalTimeoutMs?: number;
  readonly seed?: number;
}

export class NotLeaderError extends Error {
  override name = 'NotLeaderError';
  constructor(readonly leaderId: NodeId, reason: string) {
    super(`not the leader (${reason}); leader is ${leaderId === 0 ? 'unknown' : leaderId}`);
  }
}

export class ProposalDroppedError extends Error {
  override name = 'ProposalDroppedError';
}

interface PendingProposal {
  readonly term: number;
  readonly resolve: (offset: number) => void;
  readonly reject: (error: Error) => void;
  readonly timer: NodeJS.Timeout;
}

interface PendingRead {
  index: number | undefined;
  readonly resolve: (index: number) => void;
  readonly reject: (error: Error) => void;
  readonly timer: NodeJS.Timeout;
}

export class RaftServer {
  private readonly proposals = new Map<number, PendingProposal>();
  private readonly reads = new Map<string, PendingRead>();
  private ticker: NodeJS.Timeout | undefined = undefined;
  private readCount = 0;
  private appliedIndex: number;
  private closed = false;
  /** A Ready whose write is in flight; the core gives no other until it is advanced. */
  private persisting = false;
  private bytesSinceSnapshot = 0;
  private lastStatus: { role: string; term: number; leaderId: NodeId } = { role: '', term: -1, leaderId: -1 };

  private constructor(
    private readonly options: RaftServerOptions,
    private readonly raft: RaftNode,
    private readonly storage: DurableStorage,
    private readonly transport: TcpTransport,
    readonly recovery: RecoveryReport,
  ) {
    this.appliedIndex = raft.log.snapshot.metadata.index;
  }

  static async start(options: RaftServerOptions): Promise<RaftServer> {
    const { storage, state, report } = DurableStorage.open(options.dataDir, options.bootstrap);
    const raft = new RaftNode({
      id: options.nodeId,
      electionTicks: options.electionTicks ?? 10,
      heartbeatTicks: options.heartbeatTicks ?? 2,
      maxEntriesPerMessage: 256,
      maxInflightMessages: 64,
      checkQuorum: true,
      preVote: true,
    }, state, new Prng(options.seed ?? (options.nodeId * 7919 + Date.now()) >>> 0));
    const transport = new TcpTransport({ nodeId: options.nodeId, listen: options.listen, peers: options.peers, onRpc: options.onRpc });
    const server = new RaftServer(options, raft, storage, transport, report);
    transport.onMessage((message) => server.input(() => raft.step(message)));
    await transport.start();
    if (state.snapshot.metadata.index > 0) options.onCommitted({ kind: 'snapshot', offset: state.snapshot.metadata.index, data: state.snapshot.data });
    server.ticker = setInterval(() => server.input(() => raft.tick()), options.tickMs ?? 50);
    server.process();
    server.input(() => raft.campaignIfSoleVoter());
    return server;
  }

  status(): RaftStatus { return this.raft.status(); }

  /** The leader's view of a peer's replication (match index), or undefined on a follower. */
  matchIndexOf(id: NodeId): number | undefined { return this.raft.progressOf(id)?.match; }

  get nodeId(): NodeId { return this.options.nodeId; }

  /** Appends record through the leader; resolves with its offset once committed and applied here. */
  propose(record: Uint8Array): Promise<number> {
    if (record.length === 0) return Promise.reject(new RangeError('empty records are reserved for leader no-ops'));
    return this.track((raft) => raft.propose(record));
  }

  proposeConfChange(change: ConfChange): Promise<number> {
    return this.track((raft) => raft.proposeConfChange(change));
  }

  transferLeadership(to: NodeId): boolean {
    let accepted = false;
    this.input(() => { accepted = this.raft.transferLeadership(to); });
    return accepted;
  }

  /** Linearizable read barrier (thesis §6.4): resolves with an index this node has applied. */
  readIndex(): Promise<number> {
    const context = `${this.options.nodeId}-${++this.readCount}`;
    return new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => this.failRead(context, new ProposalDroppedError('read index timed out')), this.proposalTimeoutMs());
      this.reads.set(context, { index: undefined, resolve, reject, timer });
      this.input(() => {
        if (!this.raft.readIndex(context)) this.failRead(context, new NotLeaderError(this.raft.leaderId, 'no leader for read index'));
      });
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.ticker !== undefined) clearInterval(this.ticker);
    for (const [index, proposal] of this.proposals) this.settleProposal(index, proposal, new ProposalDroppedError('server closed'));
    for (const context of [...this.reads.keys()]) this.failRead(context, new ProposalDroppedError('server closed'));
    await this.transport.close();
    // Waits for a write in flight: a node restarted on this directory must not race a stale write.
    await this.storage.close();
  }

  private proposalTimeoutMs(): number {
    return this.options.proposalTimeoutMs ?? 10_000;
  }

  private track(submit: (raft: RaftNode) => ReturnType<RaftNode['propose']>): Promise<number> {
    return new Promise<number>((resolve, reject) => {
      this.input(() => {
        const result = submit(this.raft);
        if (!result.ok) {
          reject(new NotLeaderError(result.leaderId, result.reason));
          return;
        }
        const timer = setTimeout(() => {
          const pending = this.proposals.get(result.index);
          if (pending !== undefined) this.settleProposal(result.index, pending, new ProposalDroppedError('proposal timed out; outcome unknown'));
        }, this.proposalTimeoutMs());
        this.proposals.set(result.index, { term: result.term, resolve, reject, timer });
      });
    });
  }

  /** Runs one input to the core, then drains its Readies. */
  private input(step: () => void): void {
    if (this.closed) return;
    step();
    this.process();
    this.reportStatus();
  }

  private reportStatus(): void {
    const listener = this.options.onStatusChange;
    if (listener === undefined) return;
    const status = this.raft.status();
    const last = this.lastStatus;
    if (status.role === last.role && status.term === last.term && status.leaderId === last.leaderId) return;
    this.lastStatus = { role: status.role, term: status.term, leaderId: status.leaderId };
    listener(status);
  }

  private process(): void {
    for (let round = 0; round < 1000 && !this.persisting && this.raft.hasReady(); round++) {
      const ready = this.raft.ready();
      for (const message of ready.messages) this.transport.send(message);
      if (ready.snapshot === undefined) this.applyCommitted(ready);
      if (!this.storage.writes(ready)) {
        this.completed(ready);
        continue;
      }
      this.persisting = true;
      this.storage.persist(ready).then(() => this.persisted(ready), (error: unknown) => this.storageFailed(error));
    }
  }

  /** The Ready's write is durable: finish it and go on with whatever arrived meanwhile. */
  private persisted(ready: Ready): void {
    this.persisting = false;
    if (this.closed) return;
    this.completed(ready);
    this.process();
    this.reportStatus();
  }

  private completed(ready: Ready): void {
    if (ready.snapshot !== undefined) {
      this.installSnapshot(ready.snapshot);
      this.applyCommitted(ready);
    }
    for (const message of this.raft.advance(ready).messages) this.transport.send(message);
    this.maybeCompact();
    this.releaseReads();
  }

  private applyCommitted(ready: Ready): void {
    for (const entry of ready.committedEntries) this.apply(entry);
    for (const read of ready.readStates) this.onReadState(read.context, read.index);
    this.releaseReads();
  }

  /**
   * A failed write leaves the disk in an unknown state (a failed fsync cannot be retried: the kernel
   * may have dropped the dirty pages), and this node may already have promised what it holds. It stops
   * serving Raft at once and the error is thrown out of the process, as Kafka halts on a metadata log
   * IO error.
   */
  private storageFailed(error: unknown): void {
    if (this.closed) return;
    this.closed = true;
    if (this.ticker !== undefined) clearInterval(this.ticker);
    for (const [index, proposal] of this.proposals) this.settleProposal(index, proposal, new ProposalDroppedError('raft storage failed'));
    void this.transport.close();
    setImmediate(() => { throw new Error(`raft storage write failed in ${this.options.dataDir}; stopping`, { cause: error }); });
  }

  private installSnapshot(snapshot: Snapshot): void {
    const offset = snapshot.metadata.index;
    this.appliedIndex = offset;
    this.options.onCommitted({ kind: 'snapshot', offset, data: snapshot.data });
    for (const [index, proposal] of this.proposals) {
      if (index <= offset) this.settleProposal(index, proposal, new ProposalDroppedError('replaced by a snapshot; outcome unknown'));
    }
  }

  private apply(entry: Entry): void {
    this.appliedIndex = entry.index;
    if (entry.type === 'normal' && entry.data.length > 0) {
      this.bytesSinceSnapshot += entry.data.length;
      this.options.onCommitted({ kind: 'record', offset: entry.index, term: entry.term, data: entry.data });
    }
    const proposal = this.proposals.get(entry.index);
    if (proposal === undefined) return;
    // Same index, other term: our entry was overwritten by a later leader (thesis §3.5).
    this.settleProposal(entry.index, proposal, proposal.term === entry.term ? undefined : new ProposalDroppedError('overwritten by another leader'));
  }

  private settleProposal(index: number, proposal: PendingProposal, error: Error | undefined): void {
    clearTimeout(proposal.timer);
    this.proposals.delete(index);
    if (error === undefined) proposal.resolve(index);
    else proposal.reject(error);
  }

  private onReadState(context: string, index: number): void {
    const read = this.reads.get(context);
    if (read !== undefined) read.index = index;
  }

  private releaseReads(): void {
    for (const [context, read] of this.reads) {
      if (read.index === undefined || read.index > this.appliedIndex) continue;
      clearTimeout(read.timer);
      this.reads.delete(context);
      read.resolve(read.index);
    }
  }

  private failRead(context: string, error: Error): void {
    const read = this.reads.get(context);
    if (read === undefined) return;
    clearTimeout(read.timer);
    this.reads.delete(context);
    read.reject(error);
  }

  private maybeCompact(): void {
    const every = this.options.snapshotEveryEntries ?? Number.POSITIVE_INFINITY;
    const everyBytes = this.options.snapshotEveryBytes ?? Number.POSITIVE_INFINITY;
    const take = this.options.takeSnapshot;
    const log = this.raft.log;
    if (take === undefined) return;
    const index = Math.min(this.appliedIndex, log.appliedIndex, log.stableIndex);
    if (index !== this.appliedIndex || index <= log.snapshot.metadata.index) return;
    if (index - log.snapshot.metadata.index < every && this.bytesSinceSnapshot < everyBytes) return;
    this.bytesSinceSnapshot = 0;
    this.raft.compact(index, take());
    // Queued behind the Ready just written and before the next one: the storage keeps call order.
    this.storage.saveSnapshot(log.snapshot, log.slice(log.firstIndex(), log.stableIndex + 1))
      .catch((error: unknown) => this.storageFailed(error));
  }
}
