/**
 * The transaction coordinator's state machine (KIP-98; Kafka's TransactionCoordinator,
 * TransactionMetadata and TransactionStateManager), free of IO: time comes from an injected Clock, and
 * what must happen outside — an append to `__transaction_state`, markers to the partitions of a
 * transaction — is emitted as outputs (`drainOutputs`) that the runtime (runtime.ts) performs and reports
 * back (`completeAppend`, `completeMarkers`). Answers go to the callbacks the requests carry.
 *
 * One `TransactionMetadata` per transactional id, owned by the `__transaction_state` partition
 * `abs(hashCode(id)) % transaction.state.log.num.partitions` while this node leads it (loaded from the
 * partition by `beginLoad` / `replay` / `completeLoad`, at the partition's leader epoch, which is the
 * coordinator epoch written into markers). A transition is written first and applied when durable
 * (Kafka's pendingState / TxnTransitMetadata): while one is in flight, other requests of the id answer
 * CONCURRENT_TRANSACTIONS.
 *
 * Transitions (TransactionCoordinator.handle*), with the errors Kafka answers:
 * - InitProducerId: timeout outside (0, transaction.max.timeout.ms] → INVALID_TRANSACTION_TIMEOUT; a new
 *   id gets a fresh producer id at epoch 0; Empty / CompleteCommit / CompleteAbort bump the epoch (a new
 *   producer id once the epoch is exhausted, KIP-360) and go to Empty; Ongoing fences the producer: the
 *   epoch is bumped, the transaction aborted with it, and the caller told CONCURRENT_TRANSACTIONS so it
 *   retries once the abort is complete; Prepare* → CONCURRENT_TRANSACTIONS. With a given producer id and
 *   epoch (KIP-360, v3+) that is neither the current nor (a retry) the previous one → PRODUCER_FENCED.
 * - AddPartitionsToTxn / AddOffsetsToTxn: unknown id or another producer id → INVALID_PRODUCER_ID_MAPPING,
 *   another epoch → PRODUCER_FENCED, Prepare* → CONCURRENT_TRANSACTIONS; partitions all present in an
 *   Ongoing transaction → NONE at once; else → Ongoing with them added (the start time is set when the
 *   transaction begins).
 * - Verification (KIP-890 part 1, AddPartitionsToTxn v4+ verify_only and the produce path): the same
 *   id/epoch checks, then per partition NONE when it is in the transaction, else TRANSACTION_ABORTABLE.
 * - EndTxn: id/epoch checks as above; Ongoing → PrepareCommit / PrepareAbort, answered once durable, then
 *   markers to every partition, then CompleteCommit / CompleteAbort (partitions cleared). A retried EndTxn
 *   that matches the completed or preparing outcome → NONE / CONCURRENT_TRANSACTIONS; the other outcome,
 *   or Empty → INVALID_TXN_STATE.
 * - Time: every transaction.abort.timed.out.transaction.cleanup.interval.ms, Ongoing transactions older
 *   than their timeout are aborted with a bumped epoch (the producer is fenced, as Kafka's
 *   abortTimedOutTransactions does); every transaction.remove.expired.transaction.cleanup.interval.ms,
 *   ids idle in Empty / Complete* for transactional.id.expiration.ms are removed (tombstone). Prepare*
 *   transactions whose markers were not all written (an append or marker write failed) are retried on
 *   the abort interval, and resumed when a partition is loaded (TransactionStateManager's recovery).
 *
 * Transactions v2 (KIP-890 part 2; TransactionVersion 2, the client's version carried per transition as
 * `clientTransactionVersion` and written to the log as TransactionLogValue v1's tagged fields, so a reload
 * on another node keeps the rules):
 * - Partitions are added implicitly: a Produce v12+ / TxnOffsetCommit v5+ on the partition's leader asks
 *   `addPartitions` with version 2 (AddPartitionsToTxn v4+ without verify_only when another node asks).
 * - EndTxn v5+ (`endTransaction`, `endV2` has the table): every end writes Prepare* at epoch + 1, the
 *   markers carry it (so the partitions fence the ended epoch: a late batch cannot open a hanging
 *   transaction), the answer gives it to the producer. At an exhausted epoch the end takes a fresh
 *   producer id (nextProducerId), which Complete* switches to at epoch 0. Retries are recognised by the
 *   stored epoch being the request's + 1 (or the previous producer id after an overflow); an abort of an
 *   Empty / completed transaction at the current epoch is an empty abort (epoch bump, no markers).
 * - A fence (InitProducerId during Ongoing, a timeout) bumps the epoch once and aborts with it (KAFKA-19367).
 * Not implemented: two-phase commit (KIP-939, InitProducerId v6).
 */
import { invariant } from '../common/assert.js';
import type { Clock } from '../common/clock.js';
import { partitionForGroup } from '../group/group-hash.js';
import { ErrorCode } from '../protocol/errors.js';
import {
  decodeTransactionLogKey,
  decodeTransactionLogValue,
  encodeTransactionLogKey,
  encodeTransactionLogValue,
  type TransactionLogValue,
  type TransactionStateName,
} from './records.js';

/** Kafka's Short.MaxValue bound on epochs: TransactionMetadata.isEpochExhausted. */
const EPOCH_MAX = 32767;
/** RecordBatch.NO_PRODUCER_ID / NO_PRODUCER_EPOCH. */
const NO_PRODUCER_ID = -1;
const NO_PRODUCER_EPOCH = -1;
/** Transactional ids one node coordinates (Kafka: unbounded; STYLE.md 8). */
export const TRANSACTIONAL_IDS_MAX = 1_000_000;
/** Partitions one transaction may hold. */
export const TRANSACTION_PARTITIONS_MAX = 100_000;

export interface TxnCoordinatorConfig {
  readonly transactionStateLogNumPartitions: number;
  readonly transactionMaxTimeoutMs: number;
  readonly transactionalIdExpirationMs: number;
  readonly abortTimedOutTransactionsIntervalMs: number;
  readonly removeExpiredTransactionalIdsIntervalMs: number;
  /** __consumer_offsets partitions, for AddOffsetsToTxn. */
  readonly offsetsTopicNumPartitions: number;
}

export const defaultTxnCoordinatorConfig: TxnCoordinatorConfig = {
  transactionStateLogNumPartitions: 50,
  transactionMaxTimeoutMs: 900_000,
  transactionalIdExpirationMs: 604_800_000,
  abortTimedOutTransactionsIntervalMs: 10_000,
  removeExpiredTransactionalIdsIntervalMs: 3_600_000,
  offsetsTopicNumPartitions: 50,
};

export const GROUP_METADATA_TOPIC = '__consumer_offsets';

export interface TopicPartitionRef {
  readonly topic: string;
  readonly partition: number;
}

/** One transactional id's state (TransactionMetadata). */
export interface TransactionMetadata {
  readonly transactionalId: string;
  readonly partition: number;
  producerId: number;
  /** The previous producer id, after an epoch exhaustion gave a new one (KIP-360 retries, KIP-890 overflow retries). */
  previousProducerId: number;
  /** Transactions v2: the producer id an end handed out on epoch exhaustion, taken on at Complete* (-1: none). */
  nextProducerId: number;
  /** The transaction version of the client behind the last transition: 0 (v1), or 2 (KIP-890 part 2). */
  clientTransactionVersion: number;
  producerEpoch: number;
  /** The epoch before the last bump (KIP-360 retries of InitProducerId). */
  lastProducerEpoch: number;
  transactionTimeoutMs: number;
  state: TransactionStateName;
  /** Topic → partitions in the transaction, in the order added. */
  partitions: Map<string, number[]>;
  startTimestampMs: number;
  lastUpdateTimestampMs: number;
  /** A transition is being written (Kafka's pendingState). */
  pending: boolean;
  /** Markers of the Prepare* state are being written. */
  markersInFlight: boolean;
}

export interface InitProducerIdResult {
  readonly errorCode: number;
  readonly producerId: number;
  readonly producerEpoch: number;
}

export interface InitProducerIdRequest {
  readonly transactionalId: string;
  readonly transactionTimeoutMs: number;
  /** KIP-360: the producer's current id and epoch, -1 when it has none. */
  readonly producerId: number;
  readonly producerEpoch: number;
}

export interface TxnIdentity {
  readonly transactionalId: string;
  readonly producerId: number;
  readonly producerEpoch: number;
}

/** transaction.version 2 (KIP-890 part 2): epoch bump per transaction, implicit partition add. */
export const TRANSACTION_VERSION_2 = 2;

export interface EndTxnRequest extends TxnIdentity {
  readonly commit: boolean;
  /** 2 for EndTxn v5+ (TransactionVersion.transactionVersionForEndTxn), else 0. */
  readonly clientTransactionVersion: number;
  /** A fresh producer id for a transactions v2 end that exhausts the epoch (needsProducerIdToEnd). */
  readonly freshProducerId?: number;
}

/** EndTxn's answer; v5 carries the producer id and epoch the next transaction uses. */
export interface EndTxnResult {
  readonly errorCode: number;
  readonly producerId: number;
  readonly producerEpoch: number;
}

export type TxnOutput =
  | { readonly kind: 'append'; readonly appendId: number; readonly partition: number; readonly key: Buffer; readonly value: Buffer | null }
  | {
    readonly kind: 'markers';
    readonly markerId: number;
    readonly transactionalId: string;
    readonly producerId: number;
    readonly producerEpoch: number;
    readonly coordinatorEpoch: number;
    readonly commit: boolean;
    /** The transaction's client transaction version (WriteTxnMarkers v2, KIP-1228). */
    readonly transactionVersion: number;
    readonly partitions: readonly TopicPartitionRef[];
  };

export interface DescribedTransaction {
  readonly errorCode: number;
  readonly transactionalId: string;
  readonly state: string;
  readonly transactionTimeoutMs: number;
  readonly startTimestampMs: number;
  readonly producerId: number;
  readonly producerEpoch: number;
  readonly topics: { topic: string; partitions: number[] }[];
}

export interface ListedTransaction {
  readonly transactionalId: string;
  readonly producerId: number;
  readonly state: string;
}

export interface TxnCoordinatorCoreOptions {
  readonly clock: Clock;
  readonly config?: Partial<TxnCoordinatorConfig>;
  /**
   * The cluster's finalized transaction.version as the metadata image has it now (TransactionStateManager.
   * transactionVersionLevel): ≥ 1 writes every state value as TransactionLogValue v1. Default 0. A
   * transaction's own protocol is its clientTransactionVersion, which it keeps until it ends.
   */
  readonly transactionVersionLevel?: () => number;
}

interface OwnedPartition {
  status: 'loading' | 'active';
  readonly coordinatorEpoch: number;
  /** Last value per transactional id while loading (null: tombstone). */
  readonly load: Map<string, TransactionLogValue | null>;
}

type Respond<T> = (result: T) => void;

export class TxnCoordinatorCore {
  readonly config: TxnCoordinatorConfig;
  private readonly clock: Clock;
  private readonly transactionVersionLevel: () => number;
  private readonly transactions = new Map<string, TransactionMetadata>();
  private readonly owned = new Map<number, OwnedPartition>();
  private readonly appends = new Map<number, { partition: number; done: (errorCode: number) => void }>();
  private readonly markers = new Map<number, { metadata: TransactionMetadata; coordinatorEpoch: number; done: () => void }>();
  private outputs: TxnOutput[] = [];
  private nextId = 1;
  private nextAbortCheckMs: number;
  private nextExpireCheckMs: number;

  constructor(options: TxnCoordinatorCoreOptions) {
    this.clock = options.clock;
    this.transactionVersionLevel = options.transactionVersionLevel ?? (() => 0);
    this.config = { ...defaultTxnCoordinatorConfig, ...options.config };
    const now = this.clock.monotonicMs();
    this.nextAbortCheckMs = now + this.config.abortTimedOutTransactionsIntervalMs;
    this.nextExpireCheckMs = now + this.config.removeExpiredTransactionalIdsIntervalMs;
  }

  partitionFor(transactionalId: string): number {
    // Same hash as groups: TransactionStateManager.partitionFor = Utils.abs(id.hashCode) % partitions.
    return partitionForGroup(transactionalId, this.config.transactionStateLogNumPartitions);
  }

  // ---------------------------------------------------------------- ownership and loading

  beginLoad(partition: number, coordinatorEpoch: number): void {
    if (this.owned.has(partition)) this.unload(partition);
    this.owned.set(partition, { status: 'loading', coordinatorEpoch, load: new Map() });
  }

  /** One record of the partition, in log order (last value per id wins; null value = tombstone). */
  replay(partition: number, key: Buffer, value: Buffer | null): void {
    const owned = this.owned.get(partition);
    invariant(owned !== undefined && owned.status === 'loading', () => `replay of partition ${partition} that is not loading`);
    const transactionalId = decodeTransactionLogKey(key);
    owned.load.delete(transactionalId);
    owned.load.set(transactionalId, value === null ? null : decodeTransactionLogValue(value));
  }

  /** Serves the loaded ids; transactions caught between prepare and complete get their markers again. */
  completeLoad(partition: number): void {
    const owned = this.owned.get(partition);
    invariant(owned !== undefined && owned.status === 'loading', () => `completeLoad of partition ${partition} that is not loading`);
    for (const [transactionalId, value] of owned.load) {
      if (value === null || this.partitionFor(transactionalId) !== partition) continue;
      this.transactions.set(transactionalId, metadataFrom(transactionalId, partition, value));
    }
    owned.load.clear();
    owned.status = 'active';
    for (const metadata of this.transactions.values()) {
      if (metadata.partition === partition) this.resumeMarkers(metadata);
    }
  }

  /** Leadership moved away: the partition's ids are forgotten; their in-flight work is dropped. */
  unload(partition: number): void {
    this.owned.delete(partition);
    for (const [id, metadata] of [...this.transactions]) {
      if (metadata.partition === partition) this.transactions.delete(id);
    }
    for (const [appendId, append] of [...this.appends]) {
      if (append.partition !== partition) continue;
      this.appends.delete(appendId);
      append.done(ErrorCode.NOT_LEADER_OR_FOLLOWER);
    }
    for (const [markerId, marker] of [...this.markers]) {
      if (marker.metadata.partition === partition) this.markers.delete(markerId);
    }
  }

  ownedPartitions(): { partition: number; status: 'loading' | 'active'; coordinatorEpoch: number }[] {
    return [...this.owned].map(([partition, o]) => ({ partition, status: o.status, coordinatorEpoch: o.coordinatorEpoch }))
      .sort((a, b) => a.partition - b.partition);
  }

  drainOutputs(): TxnOutput[] {
    const out = this.outputs;
    this.outputs = [];
    return out;
  }

  /** An append emitted earlier is durable (NONE) or failed. Unknown ids (unloaded meanwhile) are ignored. */
  completeAppend(appendId: number, errorCode: number): void {
    const append = this.appends.get(appendId);
    if (append === undefined) return;
    this.appends.delete(appendId);
    append.done(errorCode);
  }

  /** Every marker of an earlier `markers` output is written (under each partition's high watermark). */
  completeMarkers(markerId: number): void {
    const marker = this.markers.get(markerId);
    if (marker === undefined) return;
    this.markers.delete(markerId);
    marker.done();
  }

  /** Whether the core still waits for this markers output (false once its partition was unloaded). */
  markersPending(markerId: number): boolean {
    return this.markers.has(markerId);
  }

  /** The markers of an earlier output could not all be written: retried on the next abort check. */
  failMarkers(markerId: number): void {
    const marker = this.markers.get(markerId);
    if (marker === undefined) return;
    this.markers.delete(markerId);
    marker.metadata.markersInFlight = false;
  }

  /** NONE, or why this node cannot answer for the id now. */
  private status(transactionalId: string): number {
    const owned = this.owned.get(this.partitionFor(transactionalId));
    if (owned === undefined) return ErrorCode.NOT_COORDINATOR;
    if (owned.status === 'loading') return ErrorCode.COORDINATOR_LOAD_IN_PROGRESS;
    return ErrorCode.NONE;
  }

  private coordinatorEpochOf(metadata: TransactionMetadata): number {
    return this.owned.get(metadata.partition)?.coordinatorEpoch ?? -1;
  }

  // ---------------------------------------------------------------- InitProducerId

  /** Whether InitProducerId for this id would need a fresh producer id (the runtime allocates it first). */
  needsNewProducerId(transactionalId: string): boolean {
    const metadata = this.transactions.get(transactionalId);
    return metadata === undefined || metadata.producerEpoch >= EPOCH_MAX - 1;
  }

  initProducerId(request: InitProducerIdRequest, freshProducerId: number | undefined, respond: Respond<InitProducerIdResult>): void {
    this.tick();
    const fail = (errorCode: number): void => respond({ errorCode, producerId: NO_PRODUCER_ID, producerEpoch: NO_PRODUCER_EPOCH });
    const { transactionalId } = request;
    if (transactionalId === '') return fail(ErrorCode.INVALID_REQUEST);
    if (request.transactionTimeoutMs <= 0 || request.transactionTimeoutMs > this.config.transactionMaxTimeoutMs) {
      return fail(ErrorCode.INVALID_TRANSACTION_TIMEOUT);
    }
    const status = this.status(transactionalId);
    if (status !== ErrorCode.NONE) return fail(status);
    let metadata = this.transactions.get(transactionalId);
    if (metadata === undefined) {
      if (freshProducerId === undefined) return fail(ErrorCode.CONCURRENT_TRANSACTIONS);
      if (this.transactions.size >= TRANSACTIONAL_IDS_MAX) return fail(ErrorCode.COORDINATOR_NOT_AVAILABLE);
      metadata = newMetadata(transactionalId, this.partitionFor(transactionalId), freshProducerId, request.transactionTimeoutMs, this.clock.nowMs());
      this.transactions.set(transactionalId, metadata);
    }
    if (metadata.pending) return fail(ErrorCode.CONCURRENT_TRANSACTIONS);
    const fenced = this.checkExpectedProducer(metadata, request);
    if (fenced !== undefined) return respond(fenced);
    switch (metadata.state) {
      case 'PrepareCommit':
      case 'PrepareAbort':
      case 'PrepareEpochFence':
        return fail(ErrorCode.CONCURRENT_TRANSACTIONS);
      case 'Ongoing':
        // TransactionCoordinator: fence the current producer by aborting its transaction with a bumped
        // epoch; the caller retries and finds CompleteAbort.
        this.fenceAndAbort(metadata, request.producerId !== NO_PRODUCER_ID);
        return fail(ErrorCode.CONCURRENT_TRANSACTIONS);
      case 'Dead':
        return fail(ErrorCode.CONCURRENT_TRANSACTIONS);
      case 'Empty':
      case 'CompleteCommit':
      case 'CompleteAbort':
        return this.bumpEpoch(metadata, request.transactionTimeoutMs, freshProducerId, request.producerId !== NO_PRODUCER_ID, respond);
    }
  }

  /**
   * KIP-360 (TransactionMetadata.isValidProducerId + TransactionCoordinator): a producer that gives its id
   * and epoch must be the current one, or retrying the bump that made the current one (then it gets the
   * current id and epoch again); anyone else is fenced.
   */
  private checkExpectedProducer(metadata: TransactionMetadata, request: InitProducerIdRequest): InitProducerIdResult | undefined {
    if (request.producerId === NO_PRODUCER_ID) return undefined;
    const current = request.producerId === metadata.producerId && request.producerEpoch === metadata.producerEpoch;
    if (current) return undefined;
    // A transaction still running or ending is not judged by its epoch yet (isValidProducerId checks the
    // id only): Prepare* answers CONCURRENT_TRANSACTIONS, Ongoing is fenced, and the producer's retry
    // meets the completed state below. Under transactions v2 the epoch moves with every end, so a
    // producer that lost an EndTxn answer in a crash comes back with the epoch before it.
    const ending = metadata.state === 'Ongoing' || metadata.state === 'PrepareCommit' || metadata.state === 'PrepareAbort';
    if (ending && request.producerId === metadata.producerId) return undefined;
    // TransactionMetadata.prepareIncrementProducerEpoch: in Empty or Complete*, the epoch before the last
    // bump (an InitProducerId's, a fence's or a v2 end's) is a retry and gets the current id and epoch.
    const settled = metadata.state === 'Empty' || metadata.state === 'CompleteCommit' || metadata.state === 'CompleteAbort';
    const retry = settled && (
      (request.producerId === metadata.producerId && request.producerEpoch === metadata.lastProducerEpoch)
      || (request.producerId === metadata.previousProducerId && metadata.previousProducerId !== NO_PRODUCER_ID));
    if (retry) return { errorCode: ErrorCode.NONE, producerId: metadata.producerId, producerEpoch: metadata.producerEpoch };
    return { errorCode: ErrorCode.PRODUCER_FENCED, producerId: NO_PRODUCER_ID, producerEpoch: NO_PRODUCER_EPOCH };
  }

  /**
   * `expected`: the producer named its id and epoch (KIP-360). Only then is the epoch before the bump kept
   * as a retry's (prepareIncrementProducerEpoch): a new producer's bump forgets it, so the instance it
   * replaced cannot come back by "retrying".
   */
  private bumpEpoch(metadata: TransactionMetadata, timeoutMs: number, freshProducerId: number | undefined, expected: boolean, respond: Respond<InitProducerIdResult>): void {
    const exhausted = metadata.producerEpoch >= EPOCH_MAX - 1;
    if (exhausted && freshProducerId === undefined) {
      return respond({ errorCode: ErrorCode.CONCURRENT_TRANSACTIONS, producerId: NO_PRODUCER_ID, producerEpoch: NO_PRODUCER_EPOCH });
    }
    const producerId = exhausted ? freshProducerId as number : metadata.producerId;
    const producerEpoch = exhausted ? 0 : metadata.producerEpoch + 1;
    const previousProducerId = exhausted ? metadata.producerId : metadata.previousProducerId;
    const lastProducerEpoch = exhausted || !expected ? NO_PRODUCER_EPOCH : metadata.producerEpoch;
    const nowMs = this.clock.nowMs();
    // TransactionMetadata.prepareIncrementProducerEpoch / prepareProducerIdRotation: a v0 transition.
    this.transition(metadata, {
      producerId, producerEpoch, transactionTimeoutMs: timeoutMs, state: 'Empty', partitions: new Map(),
      lastUpdateTimestampMs: nowMs, startTimestampMs: -1, previousProducerId, nextProducerId: NO_PRODUCER_ID, clientTransactionVersion: 0,
    }, (errorCode) => {
      if (errorCode !== ErrorCode.NONE) {
        return respond({ errorCode: appendError(errorCode), producerId: NO_PRODUCER_ID, producerEpoch: NO_PRODUCER_EPOCH });
      }
      metadata.lastProducerEpoch = lastProducerEpoch;
      respond({ errorCode: ErrorCode.NONE, producerId, producerEpoch });
    });
  }

  /**
   * Bumps the epoch (fencing the producer) and aborts its Ongoing transaction with it. `expected`: the
   * fence comes from the producer itself (InitProducerId with its id and epoch, KIP-360), whose retry
   * then gets the fenced epoch; a new producer's or a timeout's fence keeps no epoch to retry with
   * (prepareFenceProducerEpoch).
   */
  private fenceAndAbort(metadata: TransactionMetadata, expected: boolean): void {
    const bumped = Math.min(metadata.producerEpoch + 1, EPOCH_MAX);
    const previousEpoch = metadata.producerEpoch;
    // The fence is the epoch bump: a transactions v2 abort does not bump it again (KAFKA-19367).
    this.prepareEnd(metadata, { commit: false, epoch: bumped, nextProducerId: NO_PRODUCER_ID, clientTransactionVersion: metadata.clientTransactionVersion }, (errorCode) => {
      if (errorCode === ErrorCode.NONE) metadata.lastProducerEpoch = expected ? previousEpoch : NO_PRODUCER_EPOCH;
    });
  }

  // ---------------------------------------------------------------- AddPartitionsToTxn, AddOffsetsToTxn

  /**
   * `clientTransactionVersion` 2 for an implicit add (KIP-890 part 2: a Produce v12+ or TxnOffsetCommit v5+
   * through AddPartitionsToTxn v4+ without verify_only), so the transaction's end follows the v2 rules.
   */
  addPartitions(identity: TxnIdentity, partitions: readonly TopicPartitionRef[], respond: Respond<number>, clientTransactionVersion = 0): void {
    this.tick();
    const checked = this.checkIdentity(identity);
    if (typeof checked === 'number') return respond(checked);
    const metadata = checked;
    if (metadata.pending || metadata.state === 'PrepareCommit' || metadata.state === 'PrepareAbort' || metadata.state === 'PrepareEpochFence') {
      return respond(ErrorCode.CONCURRENT_TRANSACTIONS);
    }
    if (metadata.state === 'Dead') return respond(ErrorCode.INVALID_TXN_STATE);
    const merged = cloneParts(metadata.partitions);
    let added = 0;
    for (const { topic, partition } of partitions) {
      const list = merged.get(topic) ?? [];
      if (!merged.has(topic)) merged.set(topic, list);
      if (!list.includes(partition)) {
        list.push(partition);
        added++;
      }
    }
    if (metadata.state === 'Ongoing' && added === 0) return respond(ErrorCode.NONE);
    if (countParts(merged) > TRANSACTION_PARTITIONS_MAX) return respond(ErrorCode.INVALID_REQUEST);
    const nowMs = this.clock.nowMs();
    const starting = metadata.state !== 'Ongoing';
    this.transition(metadata, {
      ...valueOf(metadata), state: 'Ongoing', partitions: merged, lastUpdateTimestampMs: nowMs,
      startTimestampMs: starting ? nowMs : metadata.startTimestampMs, clientTransactionVersion,
    }, (errorCode) => respond(errorCode === ErrorCode.NONE ? ErrorCode.NONE : appendError(errorCode)));
  }

  /** AddOffsetsToTxn: the group's `__consumer_offsets` partition joins the transaction. */
  addOffsets(identity: TxnIdentity, groupId: string, respond: Respond<number>): void {
    const partition = partitionForGroup(groupId, this.config.offsetsTopicNumPartitions);
    this.addPartitions(identity, [{ topic: GROUP_METADATA_TOPIC, partition }], respond);
  }

  /**
   * KIP-890 part 1 (handleVerifyPartitionsInTransaction): per partition NONE when it is in the
   * producer's transaction, else TRANSACTION_ABORTABLE; id/epoch/state errors apply to all of them.
   */
  verifyPartitions(identity: TxnIdentity, partitions: readonly TopicPartitionRef[]): number[] {
    const checked = this.checkIdentity(identity);
    if (typeof checked === 'number') return partitions.map(() => checked);
    const metadata = checked;
    if (metadata.state === 'PrepareCommit' || metadata.state === 'PrepareAbort') return partitions.map(() => ErrorCode.CONCURRENT_TRANSACTIONS);
    return partitions.map(({ topic, partition }) => (metadata.state === 'Ongoing' && metadata.partitions.get(topic)?.includes(partition) === true
      ? ErrorCode.NONE : ErrorCode.TRANSACTION_ABORTABLE));
  }

  private checkIdentity(identity: TxnIdentity): TransactionMetadata | number {
    if (identity.transactionalId === '') return ErrorCode.INVALID_REQUEST;
    const status = this.status(identity.transactionalId);
    if (status !== ErrorCode.NONE) return status;
    const metadata = this.transactions.get(identity.transactionalId);
    if (metadata === undefined || metadata.producerId !== identity.producerId) return ErrorCode.INVALID_PRODUCER_ID_MAPPING;
    if (metadata.producerEpoch !== identity.producerEpoch) return ErrorCode.PRODUCER_FENCED;
    return metadata;
  }

  // ---------------------------------------------------------------- EndTxn

  /** EndTxn v0-4 (transactions v1): the error code only. */
  endTxn(identity: TxnIdentity, commit: boolean, respond: Respond<number>): void {
    this.endTransaction({ ...identity, commit, clientTransactionVersion: 0 }, (result) => respond(result.errorCode));
  }

  /** Whether this EndTxn needs a fresh producer id first: a transactions v2 end at an exhausted epoch. */
  needsProducerIdToEnd(transactionalId: string, clientTransactionVersion: number): boolean {
    const metadata = this.transactions.get(transactionalId);
    return clientTransactionVersion >= TRANSACTION_VERSION_2 && metadata !== undefined && metadata.producerEpoch >= EPOCH_MAX - 1;
  }

  /**
   * EndTxn (TransactionCoordinator.endTransaction). v1 rules in `endV1`; transactions v2 (EndTxn v5+,
   * KIP-890 part 2) in `endV2`: the end bumps the epoch, and the answer carries the producer id and epoch
   * of the next transaction.
   */
  endTransaction(request: EndTxnRequest, respond: Respond<EndTxnResult>): void {
    this.tick();
    const fail = (errorCode: number): void => respond({ errorCode, producerId: NO_PRODUCER_ID, producerEpoch: NO_PRODUCER_EPOCH });
    if (request.transactionalId === '') return fail(ErrorCode.INVALID_REQUEST);
    const status = this.status(request.transactionalId);
    if (status !== ErrorCode.NONE) return fail(status);
    const metadata = this.transactions.get(request.transactionalId);
    if (metadata === undefined) return fail(ErrorCode.INVALID_PRODUCER_ID_MAPPING);
    if (request.clientTransactionVersion >= TRANSACTION_VERSION_2) return this.endV2(metadata, request, respond);
    return this.endV1(metadata, request, respond);
  }

  private endV1(metadata: TransactionMetadata, request: EndTxnRequest, respond: Respond<EndTxnResult>): void {
    const answer = (errorCode: number): void => respond(errorCode === ErrorCode.NONE
      ? { errorCode, producerId: metadata.producerId, producerEpoch: metadata.producerEpoch }
      : { errorCode, producerId: NO_PRODUCER_ID, producerEpoch: NO_PRODUCER_EPOCH });
    if (metadata.producerId !== request.producerId) return answer(ErrorCode.INVALID_PRODUCER_ID_MAPPING);
    if (metadata.producerEpoch !== request.producerEpoch) return answer(ErrorCode.PRODUCER_FENCED);
    if (metadata.pending) return answer(ErrorCode.CONCURRENT_TRANSACTIONS);
    const { commit } = request;
    switch (metadata.state) {
      case 'Ongoing':
        return this.prepareEnd(metadata, { commit, epoch: metadata.producerEpoch, nextProducerId: NO_PRODUCER_ID, clientTransactionVersion: 0 },
          (errorCode) => answer(errorCode === ErrorCode.NONE ? ErrorCode.NONE : appendError(errorCode)));
      case 'CompleteCommit':
        return answer(commit ? ErrorCode.NONE : ErrorCode.INVALID_TXN_STATE);
      case 'CompleteAbort':
        return answer(commit ? ErrorCode.INVALID_TXN_STATE : ErrorCode.NONE);
      case 'PrepareCommit':
        return answer(commit ? ErrorCode.CONCURRENT_TRANSACTIONS : ErrorCode.INVALID_TXN_STATE);
      case 'PrepareAbort':
        return answer(commit ? ErrorCode.INVALID_TXN_STATE : ErrorCode.CONCURRENT_TRANSACTIONS);
      case 'Empty':
      case 'Dead':
      case 'PrepareEpochFence':
        return answer(ErrorCode.INVALID_TXN_STATE);
    }
  }

  /**
   * Transactions v2 (KIP-890 part 2; TransactionCoordinator.endTransaction with KAFKA-14563's table and
   * KAFKA-18464's order). Every end bumps the epoch: Prepare* is written at epoch + 1, the markers carry
   * it, and the answer hands it to the producer for its next transaction. At an exhausted epoch
   * (≥ 32766) the end also takes a fresh producer id (`nextProducerId`), which Complete* switches to at
   * epoch 0. A request is "current" when its epoch is the transaction's, a "retry" when the transaction
   * already bumped past it (epoch + 1, or the previous producer id after an overflow) — only a
   * transaction a v2 client drove can be retried that way. Answers:
   *
   * | state          | abort retry | abort current | commit retry | commit current |
   * | Ongoing        | FENCED      | end (bump)    | FENCED       | end (bump)     |
   * | Empty          | FENCED      | end (bump)    | ITS          | ITS            |
   * | CompleteAbort  | NONE        | end (bump)    | ITS          | ITS            |
   * | CompleteCommit | ITS         | end (bump)    | NONE         | ITS            |
   * | Prepare*       | same outcome: CONCURRENT_TRANSACTIONS, else ITS (retries); current → FENCED |
   * An abort of an Empty or completed transaction is an empty abort: it bumps the epoch with no markers
   * (a v2 producer aborts after an error even when nothing reached a partition). Anything else is
   * PRODUCER_FENCED; another producer id INVALID_PRODUCER_ID_MAPPING; a pending write CONCURRENT_TRANSACTIONS
   * (checked before the epoch, so an empty abort right after a commit waits instead of fencing itself).
   */
  private endV2(metadata: TransactionMetadata, request: EndTxnRequest, respond: Respond<EndTxnResult>): void {
    const fail = (errorCode: number): void => respond({ errorCode, producerId: NO_PRODUCER_ID, producerEpoch: NO_PRODUCER_EPOCH });
    const v2Transaction = metadata.clientTransactionVersion >= TRANSACTION_VERSION_2;
    const completed = metadata.state === 'CompleteCommit' || metadata.state === 'CompleteAbort';
    const retryOnOverflow = v2Transaction && completed && metadata.previousProducerId === request.producerId
      && request.producerEpoch === EPOCH_MAX - 1 && metadata.producerEpoch === 0;
    if (metadata.producerId !== request.producerId && !retryOnOverflow) return fail(ErrorCode.INVALID_PRODUCER_ID_MAPPING);
    if (metadata.pending) return fail(ErrorCode.CONCURRENT_TRANSACTIONS);
    const retry = retryOnOverflow || (v2Transaction && metadata.producerId === request.producerId && metadata.producerEpoch === request.producerEpoch + 1);
    const current = metadata.producerId === request.producerId && metadata.producerEpoch === request.producerEpoch;
    if (!retry && !current) return fail(ErrorCode.PRODUCER_FENCED);
    const { commit } = request;
    const done = (): void => respond({ errorCode: ErrorCode.NONE, producerId: metadata.producerId, producerEpoch: metadata.producerEpoch });
    switch (metadata.state) {
      case 'Ongoing':
        return current ? this.endWithBump(metadata, request, respond) : fail(ErrorCode.PRODUCER_FENCED);
      case 'Empty':
        if (commit) return fail(ErrorCode.INVALID_TXN_STATE);
        return current ? this.endWithBump(metadata, request, respond) : fail(ErrorCode.PRODUCER_FENCED);
      case 'CompleteAbort':
        if (commit) return fail(ErrorCode.INVALID_TXN_STATE);
        return current ? this.endWithBump(metadata, request, respond) : done();
      case 'CompleteCommit':
        if (!commit) return current ? this.endWithBump(metadata, request, respond) : fail(ErrorCode.INVALID_TXN_STATE);
        return current ? fail(ErrorCode.INVALID_TXN_STATE) : done();
      case 'PrepareCommit':
      case 'PrepareAbort':
        if (current) return fail(ErrorCode.PRODUCER_FENCED);
        return fail(commit === (metadata.state === 'PrepareCommit') ? ErrorCode.CONCURRENT_TRANSACTIONS : ErrorCode.INVALID_TXN_STATE);
      case 'Dead':
      case 'PrepareEpochFence':
        return fail(ErrorCode.INVALID_TXN_STATE);
    }
  }

  /** Prepare* at epoch + 1 (a fresh producer id on exhaustion); answered with what the next transaction uses. */
  private endWithBump(metadata: TransactionMetadata, request: EndTxnRequest, respond: Respond<EndTxnResult>): void {
    const exhausted = metadata.producerEpoch >= EPOCH_MAX - 1;
    if (exhausted && request.freshProducerId === undefined) {
      // The runtime allocates one first (needsProducerIdToEnd); without it the producer retries.
      return respond({ errorCode: ErrorCode.CONCURRENT_TRANSACTIONS, producerId: NO_PRODUCER_ID, producerEpoch: NO_PRODUCER_EPOCH });
    }
    const nextProducerId = exhausted ? request.freshProducerId as number : NO_PRODUCER_ID;
    const previousEpoch = metadata.producerEpoch;
    // An empty abort (from Empty / Complete*, KAFKA-14563) starts a transaction with no partitions.
    const emptyAbort = metadata.state !== 'Ongoing';
    this.prepareEnd(metadata, {
      commit: request.commit, epoch: previousEpoch + 1, nextProducerId, clientTransactionVersion: TRANSACTION_VERSION_2,
      ...(emptyAbort ? { startTimestampMs: this.clock.nowMs(), partitions: new Map<string, number[]>() } : {}),
    }, (errorCode) => {
      if (errorCode !== ErrorCode.NONE) {
        return respond({ errorCode: appendError(errorCode), producerId: NO_PRODUCER_ID, producerEpoch: NO_PRODUCER_EPOCH });
      }
      metadata.lastProducerEpoch = previousEpoch;
      respond(metadata.nextProducerId !== NO_PRODUCER_ID
        ? { errorCode: ErrorCode.NONE, producerId: metadata.nextProducerId, producerEpoch: 0 }
        : { errorCode: ErrorCode.NONE, producerId: metadata.producerId, producerEpoch: metadata.producerEpoch });
    });
  }

  /** Ongoing (or, for a v2 empty abort, Empty / Complete*) → PrepareCommit / PrepareAbort; once durable, the markers go out. */
  private prepareEnd(
    metadata: TransactionMetadata,
    end: {
      readonly commit: boolean; readonly epoch: number; readonly nextProducerId: number; readonly clientTransactionVersion: number;
      readonly startTimestampMs?: number; readonly partitions?: Map<string, number[]>;
    },
    done: (errorCode: number) => void,
  ): void {
    const nowMs = this.clock.nowMs();
    const current = valueOf(metadata);
    this.transition(metadata, {
      ...current, producerEpoch: end.epoch, state: end.commit ? 'PrepareCommit' : 'PrepareAbort', lastUpdateTimestampMs: nowMs,
      nextProducerId: end.nextProducerId, clientTransactionVersion: end.clientTransactionVersion,
      startTimestampMs: end.startTimestampMs ?? current.startTimestampMs, partitions: end.partitions ?? current.partitions,
    }, (errorCode) => {
      done(errorCode);
      if (errorCode === ErrorCode.NONE) this.sendMarkers(metadata);
    });
  }

  private sendMarkers(metadata: TransactionMetadata): void {
    const commit = metadata.state === 'PrepareCommit';
    invariant(commit || metadata.state === 'PrepareAbort', () => `markers for ${metadata.transactionalId} in state ${metadata.state}`);
    metadata.markersInFlight = true;
    const markerId = this.nextId++;
    const coordinatorEpoch = this.coordinatorEpochOf(metadata);
    this.markers.set(markerId, { metadata, coordinatorEpoch, done: () => this.completeEnd(metadata, commit) });
    const partitions: TopicPartitionRef[] = [];
    for (const [topic, ids] of metadata.partitions) for (const partition of ids) partitions.push({ topic, partition });
    this.outputs.push({
      kind: 'markers', markerId, transactionalId: metadata.transactionalId, producerId: metadata.producerId,
      producerEpoch: metadata.producerEpoch, coordinatorEpoch, commit, transactionVersion: metadata.clientTransactionVersion, partitions,
    });
  }

  /** Markers written: → CompleteCommit / CompleteAbort with no partitions. */
  private completeEnd(metadata: TransactionMetadata, commit: boolean): void {
    if (this.transactions.get(metadata.transactionalId) !== metadata || metadata.pending) {
      metadata.markersInFlight = false;
      return;
    }
    // TransactionMetadata.prepareComplete: after a v2 end that exhausted the epoch, the producer id
    // handed out becomes the current one at epoch 0 (the markers went out under the old one).
    const rotate = metadata.clientTransactionVersion >= TRANSACTION_VERSION_2 && metadata.nextProducerId !== NO_PRODUCER_ID;
    this.transition(metadata, {
      ...valueOf(metadata), state: commit ? 'CompleteCommit' : 'CompleteAbort', partitions: new Map(),
      lastUpdateTimestampMs: this.clock.nowMs(),
      ...(rotate ? { producerId: metadata.nextProducerId, producerEpoch: 0, previousProducerId: metadata.producerId } : {}),
      nextProducerId: NO_PRODUCER_ID,
    }, () => {
      metadata.markersInFlight = false;
    });
  }

  /** A Prepare* transaction with no markers in flight sends them (again). */
  private resumeMarkers(metadata: TransactionMetadata): void {
    if (metadata.pending || metadata.markersInFlight) return;
    if (metadata.state === 'PrepareCommit' || metadata.state === 'PrepareAbort') this.sendMarkers(metadata);
  }

  // ---------------------------------------------------------------- transitions

  /** Writes the target state; applies it to memory once durable, then calls done (errorCode of the append). */
  private transition(metadata: TransactionMetadata, target: TransactionLogValue | null, done: (errorCode: number) => void): void {
    invariant(!metadata.pending, () => `transition of ${metadata.transactionalId} while one is pending`);
    metadata.pending = true;
    const appendId = this.nextId++;
    this.appends.set(appendId, {
      partition: metadata.partition,
      done: (errorCode) => {
        metadata.pending = false;
        if (errorCode === ErrorCode.NONE) {
          if (target === null) this.transactions.delete(metadata.transactionalId);
          else applyValue(metadata, target);
        } else if (metadata.state === 'Empty' && metadata.producerEpoch === NO_PRODUCER_EPOCH && this.transactions.get(metadata.transactionalId) === metadata) {
          // A new id whose first write failed was never durable: forget it, as Kafka does.
          this.transactions.delete(metadata.transactionalId);
        }
        done(errorCode);
      },
    });
    this.outputs.push({
      kind: 'append', appendId, partition: metadata.partition,
      key: encodeTransactionLogKey(metadata.transactionalId), value: target === null ? null : encodeTransactionLogValue(target, this.transactionVersionLevel()),
    });
  }

  // ---------------------------------------------------------------- time

  /** Runs the periodic checks that are due (requests call it too, so a late one sees the expiry). */
  tick(): void {
    const now = this.clock.monotonicMs();
    if (now >= this.nextAbortCheckMs) {
      this.nextAbortCheckMs = now + this.config.abortTimedOutTransactionsIntervalMs;
      this.abortTimedOutTransactions();
    }
    if (now >= this.nextExpireCheckMs) {
      this.nextExpireCheckMs = now + this.config.removeExpiredTransactionalIdsIntervalMs;
      this.removeExpiredTransactionalIds();
    }
  }

  nextDeadlineMs(): number {
    return Math.min(this.nextAbortCheckMs, this.nextExpireCheckMs);
  }

  private abortTimedOutTransactions(): void {
    const nowMs = this.clock.nowMs();
    for (const metadata of [...this.transactions.values()]) {
      if (this.owned.get(metadata.partition)?.status !== 'active' || metadata.pending) continue;
      if (metadata.state === 'Ongoing' && metadata.startTimestampMs + metadata.transactionTimeoutMs <= nowMs) this.fenceAndAbort(metadata, false);
      else this.resumeMarkers(metadata);
    }
  }

  private removeExpiredTransactionalIds(): void {
    const nowMs = this.clock.nowMs();
    for (const metadata of [...this.transactions.values()]) {
      if (this.owned.get(metadata.partition)?.status !== 'active' || metadata.pending) continue;
      const idle = metadata.state === 'Empty' || metadata.state === 'CompleteCommit' || metadata.state === 'CompleteAbort';
      if (idle && metadata.lastUpdateTimestampMs + this.config.transactionalIdExpirationMs <= nowMs) {
        this.transition(metadata, null, () => undefined);
      }
    }
  }

  // ---------------------------------------------------------------- DescribeTransactions, ListTransactions

  describe(transactionalIds: readonly string[]): DescribedTransaction[] {
    this.tick();
    return transactionalIds.map((transactionalId) => {
      const status = this.status(transactionalId);
      const metadata = status === ErrorCode.NONE ? this.transactions.get(transactionalId) : undefined;
      if (metadata === undefined) {
        return {
          errorCode: status === ErrorCode.NONE ? ErrorCode.TRANSACTIONAL_ID_NOT_FOUND : status, transactionalId, state: '',
          transactionTimeoutMs: 0, startTimestampMs: -1, producerId: -1, producerEpoch: -1, topics: [],
        };
      }
      return {
        errorCode: ErrorCode.NONE, transactionalId, state: metadata.state, transactionTimeoutMs: metadata.transactionTimeoutMs,
        startTimestampMs: metadata.startTimestampMs, producerId: metadata.producerId, producerEpoch: metadata.producerEpoch,
        topics: [...metadata.partitions].map(([topic, partitions]) => ({ topic, partitions: [...partitions] })),
      };
    });
  }

  /**
   * ListTransactions (KIP-664; v1 KIP-994 duration filter): every id this node coordinates, filtered by
   * state names, producer ids and a minimum running time of the current transaction. Unknown state names
   * are reported back. COORDINATOR_LOAD_IN_PROGRESS while a partition loads.
   */
  list(stateFilters: readonly string[], producerIdFilters: readonly number[], durationFilterMs: number): { errorCode: number; unknownStateFilters: string[]; transactions: ListedTransaction[] } {
    this.tick();
    const unknownStateFilters = stateFilters.filter((s) => !(s in STATE_NAME_SET));
    for (const owned of this.owned.values()) {
      if (owned.status === 'loading') return { errorCode: ErrorCode.COORDINATOR_LOAD_IN_PROGRESS, unknownStateFilters, transactions: [] };
    }
    const states = new Set(stateFilters);
    const producers = new Set(producerIdFilters);
    const nowMs = this.clock.nowMs();
    const transactions = [...this.transactions.values()]
      .filter((m) => states.size === 0 || states.has(m.state))
      .filter((m) => producers.size === 0 || producers.has(m.producerId))
      .filter((m) => durationFilterMs < 0 || (m.state === 'Ongoing' && nowMs - m.startTimestampMs >= durationFilterMs))
      .map((m) => ({ transactionalId: m.transactionalId, producerId: m.producerId, state: m.state }));
    return { errorCode: ErrorCode.NONE, unknownStateFilters, transactions };
  }

  /** Read-only view (tests, diagnostics). */
  inspect(transactionalId: string): Readonly<TransactionMetadata> | undefined {
    return this.transactions.get(transactionalId);
  }
}

const STATE_NAME_SET: Record<string, true> = {
  Empty: true, Ongoing: true, PrepareCommit: true, PrepareAbort: true, CompleteCommit: true, CompleteAbort: true,
  Dead: true, PrepareEpochFence: true,
};

/**
 * What a failed `__transaction_state` append tells the client (TransactionStateManager.appendTransactionToLog):
 * rediscover the coordinator, or retry later.
 */
export function appendError(errorCode: number): number {
  switch (errorCode) {
    case ErrorCode.UNKNOWN_TOPIC_OR_PARTITION:
    case ErrorCode.NOT_ENOUGH_REPLICAS:
    case ErrorCode.NOT_ENOUGH_REPLICAS_AFTER_APPEND:
    case ErrorCode.REQUEST_TIMED_OUT:
      return ErrorCode.COORDINATOR_NOT_AVAILABLE;
    case ErrorCode.NOT_LEADER_OR_FOLLOWER:
    case ErrorCode.KAFKA_STORAGE_ERROR:
      return ErrorCode.NOT_COORDINATOR;
    default:
      return ErrorCode.UNKNOWN_SERVER_ERROR;
  }
}

function newMetadata(transactionalId: string, partition: number, producerId: number, timeoutMs: number, nowMs: number): TransactionMetadata {
  return {
    transactionalId, partition, producerId, previousProducerId: NO_PRODUCER_ID, nextProducerId: NO_PRODUCER_ID, clientTransactionVersion: 0,
    producerEpoch: NO_PRODUCER_EPOCH, lastProducerEpoch: NO_PRODUCER_EPOCH, transactionTimeoutMs: timeoutMs, state: 'Empty', partitions: new Map(),
    startTimestampMs: -1, lastUpdateTimestampMs: nowMs, pending: false, markersInFlight: false,
  };
}

function metadataFrom(transactionalId: string, partition: number, value: TransactionLogValue): TransactionMetadata {
  const metadata = newMetadata(transactionalId, partition, value.producerId, value.transactionTimeoutMs, value.lastUpdateTimestampMs);
  applyValue(metadata, value);
  // The log has no last epoch (Kafka loads it as -1). A transactions v2 end bumped the epoch by one, so
  // the producer that wrote it may come back with the epoch before — after exactly the crash that made
  // this node load the partition (KIP-360's retry, as if the answer had arrived).
  const ended = value.state === 'PrepareCommit' || value.state === 'PrepareAbort' || value.state === 'CompleteCommit' || value.state === 'CompleteAbort';
  if (value.clientTransactionVersion >= TRANSACTION_VERSION_2 && ended && value.producerEpoch > 0) metadata.lastProducerEpoch = value.producerEpoch - 1;
  return metadata;
}

function applyValue(metadata: TransactionMetadata, value: TransactionLogValue): void {
  metadata.producerId = value.producerId;
  metadata.producerEpoch = value.producerEpoch;
  metadata.transactionTimeoutMs = value.transactionTimeoutMs;
  metadata.state = value.state;
  metadata.partitions = cloneParts(value.partitions);
  metadata.lastUpdateTimestampMs = value.lastUpdateTimestampMs;
  metadata.startTimestampMs = value.startTimestampMs;
  metadata.previousProducerId = value.previousProducerId;
  metadata.nextProducerId = value.nextProducerId;
  metadata.clientTransactionVersion = value.clientTransactionVersion;
}

function valueOf(metadata: TransactionMetadata): TransactionLogValue {
  return {
    producerId: metadata.producerId, producerEpoch: metadata.producerEpoch, transactionTimeoutMs: metadata.transactionTimeoutMs,
    state: metadata.state, partitions: cloneParts(metadata.partitions), lastUpdateTimestampMs: metadata.lastUpdateTimestampMs,
    startTimestampMs: metadata.startTimestampMs, previousProducerId: metadata.previousProducerId, nextProducerId: metadata.nextProducerId,
    clientTransactionVersion: metadata.clientTransactionVersion,
  };
}

function cloneParts(parts: ReadonlyMap<string, readonly number[]>): Map<string, number[]> {
  const out = new Map<string, number[]>();
  for (const [topic, ids] of parts) out.set(topic, [...ids]);
  return out;
}

function countParts(parts: ReadonlyMap<string, readonly number[]>): number {
  let n = 0;
  for (const ids of parts.values()) n += ids.length;
  return n;
}
