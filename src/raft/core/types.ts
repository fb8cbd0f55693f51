/**
 * Types of the IO-free Raft core (etcd-io/raft style; Ongaro's thesis is cited as "thesis §").
 * Node ids are positive integers; 0 means "none".
 */

export type NodeId = number;
export const NONE: NodeId = 0;

/** 'conf-change' data is an encoded ConfState: the whole configuration after a single-server change (thesis §4.1). */
export type EntryType = 'normal' | 'conf-change';

export interface Entry {
  readonly index: number;
  readonly term: number;
  readonly type: EntryType;
  readonly data: Uint8Array;
}

/** State that must be on stable storage before any message that depends on it is sent (thesis §3.8). */
export interface HardState {
  readonly term: number;
  readonly vote: NodeId;
  readonly commitIndex: number;
}

/** Voters decide elections and commitment; learners (observers) only replicate the log (thesis §4.2.1). */
export interface ConfState {
  readonly voters: readonly NodeId[];
  readonly learners: readonly NodeId[];
}

export interface SnapshotMetadata {
  readonly index: number;
  readonly term: number;
  readonly confState: ConfState;
}

export interface Snapshot {
  readonly metadata: SnapshotMetadata;
  readonly data: Uint8Array;
}

export type Role = 'follower' | 'pre-candidate' | 'candidate' | 'leader';

interface MessageBase {
  readonly from: NodeId;
  readonly to: NodeId;
  readonly term: number;
}

/** PreVote (thesis §9.6): term is the term the sender would campaign in; nobody's term changes. */
export interface PreVoteMessage extends MessageBase {
  readonly type: 'pre-vote';
  readonly lastIndex: number;
  readonly lastTerm: number;
}

export interface VoteMessage extends MessageBase {
  readonly type: 'vote';
  readonly lastIndex: number;
  readonly lastTerm: number;
  /** Set by a leadership transfer target (thesis §3.10): receivers skip the leader-lease check. */
  readonly transfer: boolean;
}

export interface VoteResponseMessage extends MessageBase {
  readonly type: 'vote-response' | 'pre-vote-response';
  readonly reject: boolean;
}

export interface AppendMessage extends MessageBase {
  readonly type: 'append';
  readonly prevIndex: number;
  readonly prevTerm: number;
  readonly entries: readonly Entry[];
  readonly commitIndex: number;
}

/**
 * On success index is the last index known to match the leader. On rejection index is the rejected
 * prevIndex and hintIndex/hintTerm let the leader skip a whole term at a time (thesis §5.3, etcd
 * findConflictByTerm).
 */
export interface AppendResponseMessage extends MessageBase {
  readonly type: 'append-response';
  readonly index: number;
  readonly reject: boolean;
  readonly hintIndex: number;
  readonly hintTerm: number;
}

export interface HeartbeatMessage extends MessageBase {
  readonly type: 'heartbeat';
  readonly commitIndex: number;
  /** Read-index round this heartbeat confirms leadership for (thesis §6.4), "" when none. */
  readonly context: string;
}

export interface HeartbeatResponseMessage extends MessageBase {
  readonly type: 'heartbeat-response';
  readonly context: string;
}

export interface SnapshotMessage extends MessageBase {
  readonly type: 'snapshot';
  readonly snapshot: Snapshot;
}

export interface TimeoutNowMessage extends MessageBase {
  readonly type: 'timeout-now';
}

/** A follower forwards a linearizable read to the leader (thesis §6.4). */
export interface ReadIndexMessage extends MessageBase {
  readonly type: 'read-index';
  readonly context: string;
}

export interface ReadIndexResponseMessage extends MessageBase {
  readonly type: 'read-index-response';
  readonly context: string;
  readonly index: number;
}

export type Message =
  | PreVoteMessage
  | VoteMessage
  | VoteResponseMessage
  | AppendMessage
  | AppendResponseMessage
  | HeartbeatMessage
  | HeartbeatResponseMessage
  | SnapshotMessage
  | TimeoutNowMessage
  | ReadIndexMessage
  | ReadIndexResponseMessage;

export type MessageType = Message['type'];

/** A read is linearizable once index has been applied locally (thesis §6.4). */
export interface ReadState {
  readonly context: string;
  readonly index: number;
}

/**
 * What the driver must do, in this order (etcd rawnode.go):
 *  1. send `messages` (they depend on nothing unpersisted: a leader may replicate before its own
 *     write, thesis §10.2.1);
 *  2. apply `committedEntries` (they are already durable locally; when `snapshot` is set, install it
 *     first, which the driver does once it is written);
 *  3. write `snapshot`, then `entries` (overwriting any suffix from entries[0].index), then `hardState`,
 *     and fsync;
 *  4. call `advance(ready)`, which returns the messages that may only leave after that fsync
 *     (votes, append acknowledgements). Persist-before-send is the shape of the API: those messages do
 *     not exist until the Ready is acknowledged.
 */
export interface Ready {
  readonly id: number;
  readonly hardState: HardState | undefined;
  readonly snapshot: Snapshot | undefined;
  readonly entries: readonly Entry[];
  readonly messages: readonly Message[];
  readonly committedEntries: readonly Entry[];
  readonly readStates: readonly ReadState[];
  /** True when term, vote, snapshot or entries must be fsynced before advance(); false when only commitIndex moved. */
  readonly mustSync: boolean;
}

export interface Advanced {
  readonly messages: readonly Message[];
}

export type ProposeResult =
  | { readonly ok: true; readonly index: number; readonly term: number }
  | { readonly ok: false; readonly reason: ProposeRejection; readonly leaderId: NodeId };

export type ProposeRejection = 'not-leader' | 'transferring' | 'conf-change-pending' | 'invalid-conf-change';

/**
 * Deliberate bugs for proving the simulator's checker can fail (TigerBeetle VOPR style). The
 * production path never sets any of these.
 */
export const BUG_NAMES = [
  'vote-twice',
  'commit-old-term',
  'skip-vote-log-check',
  'skip-prevote-log-check',
  'send-before-persist',
  'apply-before-persist',
] as const;
export type BugName = (typeof BUG_NAMES)[number];

export interface RaftConfig {
  readonly id: NodeId;
  readonly electionTicks: number;
  readonly heartbeatTicks: number;
  readonly maxEntriesPerMessage: number;
  readonly maxInflightMessages: number;
  readonly checkQuorum: boolean;
  readonly preVote: boolean;
  readonly bugs?: ReadonlySet<BugName>;
}

/** What a node restarts from: exactly what it persisted before acknowledging its Readies. */
export interface PersistedState {
  readonly hardState: HardState;
  readonly snapshot: Snapshot;
  /** Entries after snapshot.metadata.index, contiguous. */
  readonly entries: readonly Entry[];
}
