/**
 * The cluster's metadata log over the Raft driver (DESIGN §5): one ordered, consensus-committed log of
 * metadata record batches, each batch one Raft entry (JSON records, as the records module encodes them).
 * Every controller voter runs one. Its two roles:
 *   - reader: `onCommit` delivers every committed batch in order, and a snapshot (the records that
 *     rebuild the image) whenever the image must be replaced — the local snapshot at start, or one
 *     installed from the leader;
 *   - writer: `append` proposes a batch; only the Raft leader (the active controller) can, others get
 *     NotLeaderError. It resolves once the batch is committed and every listener has applied it.
 * Snapshots are taken from the image every `metadata.log.max.record.bytes.between.snapshots` bytes.
 *
 * Kafka node ids start at 0; Raft reserves 0 for "no node", so Raft ids are node id + 1 here and
 * nowhere else.
 */
import type { RaftStatus } from '../raft/core/raft.js';
import { RaftServer, type CommittedEvent } from '../raft/driver/server.js';
import type { PeerAddress, RpcHandler } from '../raft/driver/transport.js';
import { decodeMetadataRecords, encodeMetadataRecords, type MetadataRecord } from '../metadata/records.js';
import type { CommittedBatch, MetadataLog } from '../metadata/metadata-log.js';

export interface RaftMetadataLogOptions {
  readonly nodeId: number;
  /** {log.dirs}/metadata */
  readonly dir: string;
  /** This voter's controller listener (undefined: a one-voter quorum, nothing to listen for). */
  readonly listen: PeerAddress | undefined;
  /** Every voter (controller.quorum.voters), this node included, by node id. */
  readonly voters: ReadonlyMap<number, PeerAddress>;
  readonly snapshotEveryBytes: number;
  readonly onRpc?: RpcHandler;
  readonly onStatusChange?: (status: MetadataQuorumStatus) => void;
  readonly tickMs?: number;
}

/** Raft status in Kafka node ids. */
export interface MetadataQuorumStatus {
  readonly role: RaftStatus['role'];
  readonly term: number;
  /** -1 when unknown. */
  readonly leaderId: number;
  readonly commitIndex: number;
  readonly lastIndex: number;
  readonly voters: readonly number[];
}

export const toRaftId = (nodeId: number): number => nodeId + 1;
export const fromRaftId = (raftId: number): number => raftId - 1;

export class RaftMetadataLog implements MetadataLog {
  private server: RaftServer | undefined;
  private readonly listeners: ((batch: CommittedBatch) => void)[] = [];
  /** Events committed before the first listener subscribed (the local snapshot at start). */
  private early: CommittedBatch[] = [];

  constructor(private readonly options: RaftMetadataLogOptions) {}

  /** Starts Raft; `takeSnapshot` returns the records that rebuild the image at the last applied batch. */
  async start(takeSnapshot: () => readonly MetadataRecord[]): Promise<void> {
    const raftPeers = new Map<number, PeerAddress>();
    for (const [id, address] of this.options.voters) {
      if (id !== this.options.nodeId) raftPeers.set(toRaftId(id), address);
    }
    this.server = await RaftServer.start({
      nodeId: toRaftId(this.options.nodeId),
      dataDir: this.options.dir,
      listen: this.options.listen,
      peers: raftPeers,
      bootstrap: { voters: [...this.options.voters.keys()].map(toRaftId), learners: [] },
      onCommitted: (event) => this.deliver(event),
      takeSnapshot: () => encodeMetadataRecords(takeSnapshot()),
      snapshotEveryBytes: this.options.snapshotEveryBytes,
      onRpc: this.options.onRpc,
      onStatusChange: (status) => this.options.onStatusChange?.(toQuorumStatus(status)),
      tickMs: this.options.tickMs,
    });
  }

  onCommit(listener: (batch: CommittedBatch) => void): void {
    const early = this.early;
    this.early = [];
    for (const batch of early) listener(batch);
    this.listeners.push(listener);
  }

  append(records: readonly MetadataRecord[]): Promise<number> {
    if (this.server === undefined) return Promise.reject(new Error('metadata log is not started'));
    return this.server.propose(encodeMetadataRecords(records));
  }

  status(): MetadataQuorumStatus | undefined {
    return this.server === undefined ? undefined : toQuorumStatus(this.server.status());
  }

  /** On the leader: how far each voter's log matches (DescribeQuorum's log end offsets). */
  matchIndexOf(nodeId: number): number | undefined {
    return this.server?.matchIndexOf(toRaftId(nodeId));
  }

  /** Linearizable barrier: resolves once this node has applied everything committed before the call. */
  readIndex(): Promise<number> {
    if (this.server === undefined) return Promise.reject(new Error('metadata log is not started'));
    return this.server.readIndex();
  }

  transferLeadership(toNodeId: number): boolean {
    return this.server?.transferLeadership(toRaftId(toNodeId)) ?? false;
  }

  async close(): Promise<void> {
    await this.server?.close();
  }

  private deliver(event: CommittedEvent): void {
    const records = event.data.length === 0 ? [] : decodeMetadataRecords(event.data);
    const batch: CommittedBatch = event.kind === 'snapshot'
      ? { offset: event.offset, records, snapshot: true }
      : { offset: event.offset, records };
    if (this.listeners.length === 0) {
      this.early.push(batch);
      return;
    }
    for (const listener of this.listeners) listener(batch);
  }
}

function toQuorumStatus(status: RaftStatus): MetadataQuorumStatus {
  return {
    role: status.role, term: status.term, leaderId: status.leaderId === 0 ? -1 : fromRaftId(status.leaderId),
    commitIndex: status.commitIndex, lastIndex: status.lastIndex,
    voters: status.confState.voters.map(fromRaftId),
  };
}
