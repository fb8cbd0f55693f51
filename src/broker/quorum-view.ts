/**
 * The metadata quorum as a broker's APIs show it (DescribeQuorum, Metadata's controller id,
 * DescribeCluster): read-only, implemented by the node that owns the Raft log or the observer.
 */
export interface QuorumVoterState {
  readonly nodeId: number;
  /** The voter's log end as the leader last saw it (-1: unknown). */
  readonly logEndOffset: number;
  readonly host: string;
  readonly port: number;
}

export interface QuorumView {
  /** The active controller's node id, -1 when unknown. */
  leaderId(): number;
  leaderEpoch(): number;
  highWatermark(): number;
  voters(): readonly QuorumVoterState[];
  /** Nodes that replicate the metadata log without voting (broker-only nodes known to the image). */
  observers(): readonly QuorumVoterState[];
}
