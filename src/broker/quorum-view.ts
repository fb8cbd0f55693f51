/**
 * The metadata quorum as a broker's APIs show it (DescribeQuorum, Metadata's controller id,
 * DescribeCluster): read-only, implemented by the node that owns the Raft log or the observer.
 */
export interface QuorumReplica {
  readonly nodeId: number;
  /** The replica's log end as the leader last saw it (-1: unknown). */
  readonly logEndOffset: number;
  readonly lastFetchTimestamp: number;
  readonly lastCaughtUpTimestamp: number;
}

export interface QuorumDescription {
  readonly leaderId: number;
  readonly leaderEpoch: number;
  readonly highWatermark: number;
  readonly voters: readonly QuorumReplica[];
  readonly observers: readonly QuorumReplica[];
}

export interface QuorumView {
  /** The active controller's node id, -1 when unknown. */
  leaderId(): number;
  /** The leader's view of the quorum (asked of the leader when this node is not it); undefined when no leader answers. */
  describe(): Promise<QuorumDescription | undefined>;
  /** Every voter's controller endpoint (controller.quorum.voters). */
  voterEndpoints(): readonly { readonly nodeId: number; readonly host: string; readonly port: number }[];
}
