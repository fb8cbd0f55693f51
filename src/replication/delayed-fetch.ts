/**
 * The fetch read and the delayed-fetch purgatory (Kafka's ReplicaManager.readFromLog + DelayedFetch +
 * DelayedOperationPurgatory, DESIGN §3).
 *
 * `readPartitions` reads a fetch's partitions in order with Kafka's limits (ReplicaManager.readFromLog):
 * each partition gets min(partition_max_bytes, what is left of max_bytes); until one partition returns
 * records, the read returns at least one whole batch even past those limits (KIP-74). Per partition:
 * - the leader lookup with the KIP-320 CurrentLeaderEpoch check (UNKNOWN_TOPIC_OR_PARTITION,
 *   NOT_LEADER_OR_FOLLOWER, FENCED_LEADER_EPOCH, UNKNOWN_LEADER_EPOCH), UNKNOWN_TOPIC_ID for a topic id
 *   (v13+) this broker does not know;
 * - consumers (replica id < 0) read below the high watermark (read_uncommitted) or the last stable
 *   offset (read_committed), which also reports the aborted transactions overlapping what it read;
 * - a fetch offset outside [logStartOffset, logEndOffset] is OFFSET_OUT_OF_RANGE;
 * - KIP-392: consumer fetches v11+ may be served by a follower (below its HW); with a client rack and the
 *   rack-aware selector, the leader answers no records and a preferred read replica in the client's rack;
 * - a consumer fetch on a new leader whose HW is below the start of its epoch is OFFSET_NOT_AVAILABLE
 *   (the HW a consumer sees never goes back; the replication simulation checks it);
 * - follower fetches (replica id ≥ 0) go through `readForFollower`: a replica the partition does not
 *   have is answered as Kafka does (Partition.followerReplicaOrThrow: UNKNOWN_LEADER_EPOCH with a leader
 *   epoch, else NOT_LEADER_OR_FOLLOWER); LastFetchedEpoch divergence answers DivergingEpoch (KIP-595);
 *   the read goes up to the log end, and the fetch offset is the follower's acknowledgement.
 * The high watermark, last stable offset and log start offset answered are those taken before the read,
 * as Partition.readRecords does; records are the storage's Buffers, never copied. Leadership is
 * re-checked after the (possibly disk) read: a partition that changed hands meanwhile answers
 * NOT_LEADER_OR_FOLLOWER.
 *
 * `DelayedFetchPurgatory` parks a fetch that found fewer than min_bytes until a partition it watches
 * changes — high watermark, log start offset, leader epoch or leadership, or the partition is dropped —
 * as the replica manager's produce hook (`onPartitionAdvanced`) reports, until its timeout, or until its
 * connection closes. It only says why the wait ended; the caller re-reads everything (STYLE.md 3) and
 * decides whether to answer or park again (DelayedFetch.tryComplete / onComplete). A log-end move alone
 * does not wake a consumer fetch (consumers see only the high watermark); it does wake a follower's. At `waitersMax` parked fetches
 * a new one is not parked: the caller answers at once, as if max_wait_ms were 0.
 */
import { ErrorCode } from '../protocol/errors.js';
import { ZERO_UUID } from '../protocol/codec-support.js';
import { StorageError } from '../storage/errors.js';
import type { FetchPartition } from './fetch-session.js';
import type { AbortedTransaction, HostedPartition, ReplicaManager } from './types.js';

/** IsolationLevel.READ_COMMITTED on the wire. */
export const READ_COMMITTED = 1;

export interface FetchReadParams {
  readonly isFollower: boolean;
  /** The fetching replica's broker id (follower fetches; -1 for consumers). */
  readonly replicaId?: number;
  /** Its broker epoch (ReplicaState.ReplicaEpoch, KIP-903; -1 when not sent). */
  readonly replicaEpoch?: number;
  /**
   * KIP-392: consumer fetches v11+ carry client metadata and may be served by a follower (Kafka's
   * FetchParams.fetchOnlyLeader is false for them); older ones only by the leader.
   */
  readonly fetchFromFollowerAllowed?: boolean;
  /** The consumer's client.rack (v11+), for the leader's preferred read replica. */
  readonly clientRack?: string;
  readonly isolationLevel: number;
  /** The request's max_bytes. */
  readonly maxBytes: number;
  /** Topic id → name through the metadata image; undefined when unknown. */
  readonly topicName: (topicId: string, partition: number) => string | undefined;
}

/** One partition's read. Error reads carry -1 offsets and no records, as Kafka's createLogReadResult. */
export interface PartitionRead {
  readonly errorCode: number;
  readonly highWatermark: number;
  readonly lastStableOffset: number;
  readonly logStartOffset: number;
  readonly records: readonly Buffer[];
  readonly recordsBytes: number;
  /** The topic name the read used (resolved from the topic id for v13+); null when unknown. */
  readonly topic: string | null;
  /** Set on successful reads: what a parked fetch watches. */
  readonly hosted: HostedPartition | undefined;
  /** The partition's leader epoch when it was looked up. */
  readonly leaderEpoch: number;
  /** Kafka's erroneous-partition answers (unknown topic id) carry an empty aborted list, not null. */
  readonly fromMetadata: boolean;
  readonly diverging: boolean;
  /** read_committed: the aborted transactions overlapping the records read (possibly none); else null. */
  readonly abortedTransactions: readonly AbortedTransaction[] | null;
  /** KIP-595: where the follower's last fetched epoch ends on the leader (diverging reads only). */
  readonly divergingEpoch?: { readonly epoch: number; readonly endOffset: number };
  /** Follower reads: the leader's log end when read (a parked follower fetch wakes when it moves). */
  readonly logEndOffset?: number;
  /** KIP-392: the replica the leader tells the consumer to fetch from instead (-1: none). */
  readonly preferredReadReplica?: number;
}

const NO_RECORDS: readonly Buffer[] = Object.freeze([]);
const NO_ABORTED: readonly AbortedTransaction[] = Object.freeze([]);

function errorRead(errorCode: number, topic: string | null, fromMetadata = false): PartitionRead {
  return {
    errorCode, highWatermark: -1, lastStableOffset: -1, logStartOffset: -1, records: NO_RECORDS, recordsBytes: 0,
    topic, hosted: undefined, leaderEpoch: -1, fromMetadata, diverging: false, abortedTransactions: null,
  };
}

/** Reads partitions in order under the request's limits (ReplicaManager.readFromLog). */
export async function readPartitions(
  replicaManager: ReplicaManager, params: FetchReadParams, partitions: readonly FetchPartition[],
): Promise<PartitionRead[]> {
  const reads: PartitionRead[] = [];
  let limitBytes = Math.max(0, params.maxBytes);
  let minOneBatch = true;
  for (const partition of partitions) {
    const read = await readPartition(replicaManager, params, partition, limitBytes, minOneBatch);
    if (read.recordsBytes > 0) minOneBatch = false;
    limitBytes = Math.max(0, limitBytes - read.recordsBytes);
    reads.push(read);
  }
  return reads;
}

async function readPartition(
  replicaManager: ReplicaManager, params: FetchReadParams, request: FetchPartition, limitBytes: number, minOneBatch: boolean,
): Promise<PartitionRead> {
  const topic = request.topicId === ZERO_UUID ? request.topic : (params.topicName(request.topicId, request.partition) ?? null);
  if (topic === null) return errorRead(ErrorCode.UNKNOWN_TOPIC_ID, null, true);
  let lookup = replicaManager.leaderPartition(topic, request.partition, request.currentLeaderEpoch);
  if (!lookup.ok && lookup.errorCode === ErrorCode.NOT_LEADER_OR_FOLLOWER && !params.isFollower && params.fetchFromFollowerAllowed === true) {
    // KIP-392: a follower serves a consumer (the epoch checks passed: NOT_LEADER_OR_FOLLOWER comes after them).
    const replica = replicaManager.partition(topic, request.partition);
    if (replica !== undefined && replica.leaderId >= 0) lookup = { ok: true, partition: replica };
  }
  if (!lookup.ok) return errorRead(lookup.errorCode, topic);
  const hosted = lookup.partition;
  const servedAsLeader = hosted.isLeader;
  if (request.topicId !== ZERO_UUID && hosted.topicId !== request.topicId) {
    return errorRead(ErrorCode.INCONSISTENT_TOPIC_ID, topic);
  }
  if (params.isFollower) return readForFollower(replicaManager, params, request, topic, hosted, limitBytes, minOneBatch);
  // A new leader's HW may lag the one consumers saw under the previous leader until it reaches the start
  // of this epoch (then every earlier record is committed here too): until then consumers retry
  // (OFFSET_NOT_AVAILABLE is retriable in Kafka's consumer, KIP-207/392), so their HW never goes back.
  if (servedAsLeader && hosted.leaderEpochStartOffset > hosted.highWatermark) return errorRead(ErrorCode.OFFSET_NOT_AVAILABLE, topic);
  const leaderEpoch = hosted.leaderEpoch;
  // KIP-392: the leader may send the consumer to a replica in its rack (no records, the replica's id).
  const preferredReadReplica = servedAsLeader && params.clientRack !== undefined && params.clientRack !== ''
    ? replicaManager.preferredReadReplica(hosted, params.clientRack, request.fetchOffset) : -1;
  if (preferredReadReplica >= 0) {
    return {
      errorCode: ErrorCode.NONE, highWatermark: hosted.highWatermark, lastStableOffset: hosted.lastStableOffset, logStartOffset: hosted.logStartOffset,
      records: NO_RECORDS, recordsBytes: 0, topic, hosted, leaderEpoch, fromMetadata: false, diverging: false,
      abortedTransactions: params.isolationLevel === READ_COMMITTED ? NO_ABORTED : null, preferredReadReplica,
    };
  }
  const highWatermark = hosted.highWatermark;
  const lastStableOffset = hosted.lastStableOffset;
  const logStartOffset = hosted.logStartOffset;
  const upperBound = params.isolationLevel === READ_COMMITTED ? lastStableOffset : highWatermark;
  const maxBytes = Math.min(Math.max(0, request.partitionMaxBytes), limitBytes);
  let records: readonly Buffer[] = NO_RECORDS;
  let recordsBytes = 0;
  let abortedTransactions: readonly AbortedTransaction[] | null = params.isolationLevel === READ_COMMITTED ? NO_ABORTED : null;
  try {
    if (maxBytes > 0 || minOneBatch) {
      const result = await hosted.log.read(request.fetchOffset, maxBytes, upperBound, minOneBatch);
      records = result.records;
      recordsBytes = result.sizeInBytes;
      // UnifiedLog.read → addAbortedTransactions: those overlapping the returned range only.
      if (abortedTransactions !== null && records.length > 0) abortedTransactions = await hosted.abortedTransactions(request.fetchOffset, result.nextOffset);
    } else if (request.fetchOffset < logStartOffset || request.fetchOffset > hosted.logEndOffset) {
      return errorRead(ErrorCode.OFFSET_OUT_OF_RANGE, topic);
    }
  } catch (err) {
    if (err instanceof StorageError) return errorRead(err.errorCode, topic);
    throw err;
  }
  // STYLE.md 3: the read may have awaited the disk; the partition must still be served here, at that epoch.
  const now = replicaManager.partition(topic, request.partition);
  if (now !== hosted || now.isLeader !== servedAsLeader || now.leaderEpoch !== leaderEpoch) return errorRead(ErrorCode.NOT_LEADER_OR_FOLLOWER, topic);
  return {
    errorCode: ErrorCode.NONE, highWatermark, lastStableOffset, logStartOffset, records, recordsBytes,
    topic, hosted, leaderEpoch, fromMetadata: false, diverging: false, abortedTransactions,
  };
}


/**
 * A follower's read (Partition.fetchRecords with a replica id): the KIP-595 divergence check, then the
 * log up to its end (followers are not bounded by the HW), then the follower's fetch offset recorded as
 * its acknowledged end — which may move the HW and bring it back into the ISR.
 */
async function readForFollower(
  replicaManager: ReplicaManager, params: FetchReadParams, request: FetchPartition, topic: string, hosted: HostedPartition,
  limitBytes: number, minOneBatch: boolean,
): Promise<PartitionRead> {
  const replicaId = params.replicaId ?? -1;
  const check = replicaManager.checkFollowerFetch(hosted, replicaId, request.fetchOffset, request.lastFetchedEpoch, request.currentLeaderEpoch);
  if (check.kind === 'error') return errorRead(ErrorCode[check.errorCode], topic);
  const leaderEpoch = hosted.leaderEpoch;
  const logStartOffset = hosted.logStartOffset;
  if (check.kind === 'diverging') {
    const highWatermark = hosted.highWatermark;
    return {
      errorCode: ErrorCode.NONE, highWatermark, lastStableOffset: highWatermark, logStartOffset, records: NO_RECORDS, recordsBytes: 0,
      topic, hosted, leaderEpoch, fromMetadata: false, diverging: true, abortedTransactions: null,
      divergingEpoch: { epoch: check.epoch, endOffset: check.endOffset }, logEndOffset: hosted.logEndOffset,
    };
  }
  const logEndOffset = hosted.logEndOffset;
  const maxBytes = Math.min(Math.max(0, request.partitionMaxBytes), limitBytes);
  let records: readonly Buffer[] = NO_RECORDS;
  let recordsBytes = 0;
  try {
    if (maxBytes > 0 || minOneBatch) {
      const result = await hosted.log.read(request.fetchOffset, maxBytes, Number.MAX_SAFE_INTEGER, minOneBatch);
      records = result.records;
      recordsBytes = result.sizeInBytes;
    }
  } catch (err) {
    if (err instanceof StorageError) return errorRead(err.errorCode, topic);
    throw err;
  }
  const now = replicaManager.partition(topic, request.partition);
  if (now !== hosted || !now.isLeader || now.leaderEpoch !== leaderEpoch) return errorRead(ErrorCode.NOT_LEADER_OR_FOLLOWER, topic);
  replicaManager.recordFollowerFetch(hosted, replicaId, request.fetchOffset, logEndOffset, params.replicaEpoch ?? -1);
  const highWatermark = hosted.highWatermark;
  return {
    errorCode: ErrorCode.NONE, highWatermark, lastStableOffset: highWatermark, logStartOffset: hosted.logStartOffset, records, recordsBytes,
    topic, hosted, leaderEpoch, fromMetadata: false, diverging: false, abortedTransactions: null, logEndOffset: hosted.logEndOffset,
  };
}

/** Sum of record bytes read. */
export function readBytes(reads: readonly PartitionRead[]): number {
  let total = 0;
  for (const read of reads) total += read.recordsBytes;
  return total;
}

/**
 * ReplicaManager.fetchMessages: answer at once when the fetch may not wait, asks for nothing, has
 * min_bytes, or hit an error (or a diverging epoch) on any partition.
 */
export function mustRespondNow(reads: readonly PartitionRead[], maxWaitMs: number, minBytes: number): boolean {
  if (maxWaitMs <= 0 || reads.length === 0) return true;
  if (readBytes(reads) >= minBytes) return true;
  return reads.some((read) => read.errorCode !== ErrorCode.NONE || read.diverging);
}

// ---------------------------------------------------------------- purgatory

/** Why a parked fetch woke: a watched partition changed, the timeout passed, or it was released. */
export type DelayedFetchOutcome = 'advanced' | 'expired' | 'released';

/** A partition a parked fetch watches, with what the fetch saw of it. */
export interface FetchWatch {
  readonly partition: HostedPartition;
  readonly highWatermark: number;
  readonly logStartOffset: number;
  readonly leaderEpoch: number;
  /** Follower fetches watch the log end (new data for them), consumers only the HW. */
  readonly logEndOffset: number | undefined;
  /** Whether this node led the partition when the fetch read it (a follower may serve consumers, KIP-392). */
  readonly leader: boolean;
}

export function watchesOf(reads: readonly PartitionRead[]): FetchWatch[] {
  const watches: FetchWatch[] = [];
  for (const read of reads) {
    if (read.hosted === undefined) continue;
    watches.push({
      partition: read.hosted, highWatermark: read.highWatermark, logStartOffset: read.logStartOffset, leaderEpoch: read.leaderEpoch,
      logEndOffset: read.logEndOffset, leader: read.hosted.isLeader,
    });
  }
  return watches;
}

interface Waiter {
  readonly watches: readonly FetchWatch[];
  readonly ownerId: number | undefined;
  timer: ReturnType<typeof setTimeout> | undefined;
  done: boolean;
  resolve(outcome: DelayedFetchOutcome): void;
}

export const DELAYED_FETCH_WAITERS_MAX = 10_000;
/** max_wait_ms is an int32; setTimeout takes at most 2^31-1. */
const TIMEOUT_MS_MAX = 0x7fffffff;

export class DelayedFetchPurgatory {
  private readonly watchers = new Map<HostedPartition, Set<Waiter>>();
  private readonly byOwner = new Map<number, Set<Waiter>>();
  private waiterCount = 0;
  private closed = false;
  private readonly unsubscribe: () => void;

  constructor(
    replicaManager: ReplicaManager,
    readonly waitersMax = DELAYED_FETCH_WAITERS_MAX,
  ) {
    this.unsubscribe = replicaManager.onPartitionAdvanced((partition) => this.onAdvanced(partition));
  }

  /** Parked fetches. */
  get size(): number {
    return this.waiterCount;
  }

  /**
   * Parks until a watched partition changes from what its watch saw, `timeoutMs` passes, or the owner
   * (connection id) is released. Undefined when the purgatory is full or closed: answer now. A watch
   * already stale resolves 'advanced' at once (the partition moved while the fetch was reading).
   */
  park(watches: readonly FetchWatch[], timeoutMs: number, ownerId?: number): Promise<DelayedFetchOutcome> | undefined {
    if (this.closed || this.waiterCount >= this.waitersMax) return undefined;
    if (watches.some(changed)) return Promise.resolve('advanced');
    return new Promise((resolve) => {
      const waiter: Waiter = { watches, ownerId, timer: undefined, done: false, resolve };
      this.waiterCount++;
      for (const watch of watches) {
        let set = this.watchers.get(watch.partition);
        if (set === undefined) this.watchers.set(watch.partition, (set = new Set()));
        set.add(waiter);
      }
      if (ownerId !== undefined) {
        let owned = this.byOwner.get(ownerId);
        if (owned === undefined) this.byOwner.set(ownerId, (owned = new Set()));
        owned.add(waiter);
      }
      waiter.timer = setTimeout(() => this.finish(waiter, 'expired'), Math.min(Math.max(timeoutMs, 0), TIMEOUT_MS_MAX));
    });
  }

  /** The owner (a connection) went away: its parked fetches end now; their answers are dropped. */
  release(ownerId: number): void {
    const owned = this.byOwner.get(ownerId);
    if (owned === undefined) return;
    for (const waiter of [...owned]) this.finish(waiter, 'released');
  }

  /** Shutdown: every parked fetch ends now and nothing parks any more. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.unsubscribe();
    const waiters = new Set<Waiter>();
    for (const set of this.watchers.values()) for (const waiter of set) waiters.add(waiter);
    for (const waiter of waiters) this.finish(waiter, 'released');
  }

  private onAdvanced(partition: HostedPartition): void {
    const set = this.watchers.get(partition);
    if (set === undefined) return;
    for (const waiter of [...set]) {
      if (waiter.watches.some((watch) => watch.partition === partition && changed(watch))) this.finish(waiter, 'advanced');
    }
  }

  private finish(waiter: Waiter, outcome: DelayedFetchOutcome): void {
    if (waiter.done) return;
    waiter.done = true;
    if (waiter.timer !== undefined) clearTimeout(waiter.timer);
    waiter.timer = undefined;
    for (const watch of waiter.watches) {
      const set = this.watchers.get(watch.partition);
      if (set === undefined) continue;
      set.delete(waiter);
      if (set.size === 0) this.watchers.delete(watch.partition);
    }
    if (waiter.ownerId !== undefined) {
      const owned = this.byOwner.get(waiter.ownerId);
      owned?.delete(waiter);
      if (owned !== undefined && owned.size === 0) this.byOwner.delete(waiter.ownerId);
    }
    this.waiterCount--;
    waiter.resolve(outcome);
  }
}

/** Whether a partition differs from what a parked fetch saw in a way that can complete the fetch. */
function changed(watch: FetchWatch): boolean {
  const p = watch.partition;
  return p.isLeader !== watch.leader
    || p.leaderEpoch !== watch.leaderEpoch
    || p.highWatermark !== watch.highWatermark
    || p.logStartOffset !== watch.logStartOffset
    || (watch.logEndOffset !== undefined && p.logEndOffset !== watch.logEndOffset);
}
