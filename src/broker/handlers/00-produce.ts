/**
 * Produce (API 0), versions 3-13 (Kafka 4 serves no older ones: KIP-896; v3 is the first with record
 * batch v2 only). v12 is v11 for a producer that adds partitions to transactions implicitly (KIP-890
 * part 2: see addImplicitly; only while the cluster's finalized transaction.version is 2, else v12
 * verifies as v11 does). v13 names topics by id (KIP-516):
 * an id the metadata does not know gets UNKNOWN_TOPIC_ID on each of its partitions; the answer echoes
 * the id.
 *
 * Whole request (KafkaApis.handleProduceRequest, ReplicaManager.appendRecords):
 * - Transactional batches without a transactional id: every partition TRANSACTIONAL_ID_AUTHORIZATION_FAILED.
 * - acks outside {-1, 0, 1}: every partition INVALID_REQUIRED_ACKS.
 * Per partition, in Kafka's order: unknown topic or partition → UNKNOWN_TOPIC_OR_PARTITION; the records
 * fail ProduceRequest.validateRecords (exactly one magic-2 batch; zstd needs v7+) → INVALID_RECORD /
 * UNSUPPORTED_COMPRESSION_TYPE; an internal topic (__consumer_offsets, …) from a client other than
 * `__admin_client` → INVALID_TOPIC_EXCEPTION; not the leader → NOT_LEADER_OR_FOLLOWER (with the current
 * leader and its endpoint in v10+, KIP-951); acks=-1 and ISR < min.insync.replicas → NOT_ENOUGH_REPLICAS;
 * control batches, a producer id with a negative sequence → INVALID_RECORD; then the partition log's own
 * validation (CORRUPT_MESSAGE, MESSAGE_TOO_LARGE, RECORD_LIST_TOO_LARGE, INVALID_TIMESTAMP, and
 * INVALID_RECORD for records that do not parse or decompress — protocol/records.ts — or keyless records
 * on compacted topics, those with record errors in v8+). A partition that fails gets nothing written;
 * the others are appended (partial success, as Kafka does).
 * Idempotent batches (producerId ≥ 0) go through the partition's producer state when the replica manager
 * keeps one (`producerStateFor`): a duplicate is answered with its original offsets, a sequence or epoch
 * error with its code, without writing. A duplicate whose original the high watermark does not cover yet
 * (still on its way to disk or to the ISR) is answered only once it does, for acks=1 and -1 alike: the
 * retry must not acknowledge what a crash could still take back (Kafka's duplicate goes through the same
 * DelayedProduce wait as its original).
 *
 * Answers: acks=0 sends none — but any partition error closes the connection, as Kafka does, so the
 * producer notices and refreshes its metadata; acks=1 answers once the appended bytes are durable per the
 * topic's durability mode; acks=-1 waits in the delayed-produce purgatory until the high watermark covers
 * the batch or timeout_ms → REQUEST_TIMED_OUT. baseOffset, logAppendTimeMs (-1 unless LogAppendTime),
 * logStartOffset per partition; throttle 0. Compressed batches are stored as sent.
 *
 * Transactional batches are verified against the transaction coordinator first (KIP-890 part 1, see
 * verifyTransaction) and open the producer's transaction in the partition's producer state when appended.
 *
 * Not implemented: quotas, ACLs.
 */
import {
  decodeProduceRequest,
  encodeProduceResponse,
  type ProduceRequest,
  type ProduceResponse,
} from '../../protocol/generated/produce.js';
import { ApiKey } from '../../protocol/generated/index.js';
import { ErrorCode } from '../../protocol/errors.js';
import {
  TRANSACTIONAL_FLAG_MASK, ATTRIBUTES_OFFSET, RECORD_BATCH_OVERHEAD, MAGIC_OFFSET, CURRENT_MAGIC, PRODUCER_ID_OFFSET, PRODUCER_EPOCH_OFFSET,
  readInt64,
} from '../../protocol/record-batch.js';
import { isInternalTopic } from '../../controller/topic-records.js';
import { checkProduceRecords, type RecordError } from '../../replication/produce-validation.js';
import type { ProduceWait } from '../../replication/delayed-produce.js';
import type { HostedPartition, PartitionProducerState } from '../../replication/types.js';
import type { VerificationGuard } from '../../replication/producer-state.js';
import type { AppendResult } from '../../storage/partition-log.js';
import type { ApiHandler, BrokerServices, RequestContext } from '../api-handler.js';
import { InvalidRequestError } from '../pipeline.js';
import { TRANSACTION_VERSION_2 } from '../../txn/coordinator.js';
import { finalizedTransactionVersion } from '../../metadata/features.js';

type TopicResponse = ProduceResponse['responses'][number];
type PartitionResponse = TopicResponse['partitionResponses'][number];
type NodeEndpoint = ProduceResponse['nodeEndpoints'][number];

/** KafkaApis: only the admin client may write to internal topics. */
const ADMIN_CLIENT_ID = '__admin_client';
const NO_LEADER = { leaderId: -1, leaderEpoch: -1 };
/** First version that names topics by id (KIP-516). */
const TOPIC_IDS_VERSION = 13;

export const produceHandler: ApiHandler<ProduceRequest, ProduceResponse> = {
  apiKey: ApiKey.Produce,
  name: 'Produce',
  minVersion: 3,
  maxVersion: 13,
  decode: decodeProduceRequest,
  encode: encodeProduceResponse,
  handle: handleProduce,
};

/** What happened to one partition of the request. */
interface PartitionOutcome {
  readonly index: number;
  errorCode: number;
  errorMessage: string | null;
  recordErrors: readonly RecordError[];
  baseOffset: number;
  logAppendTimeMs: number;
  logStartOffset: number;
  /** Set when appended: what the answer waits for. */
  appended?: { readonly partition: HostedPartition; readonly result: AppendResult };
  /** Set for a duplicate batch the high watermark does not cover yet: the answer waits for it. */
  duplicateWait?: ProduceWait;
  currentLeader: { leaderId: number; leaderEpoch: number };
}

function handleProduce(context: RequestContext<ProduceRequest>): Promise<ProduceResponse | null> | ProduceResponse | null {
  const requestError = wholeRequestError(context.request);
  if (requestError === ErrorCode.NONE && addsImplicitly(context)) return addThenProduce(context);
  const verifying = requestError === ErrorCode.NONE ? verifyElsewhere(context) : undefined;
  if (verifying === undefined) return produce(context, requestError, undefined);
  return verifying.then((verified) => produce(context, requestError, verified));
}

/** Per broker, per transactional id: the last implicit-add request's step (addThenProduce). */
const implicitAddTails = new WeakMap<BrokerServices, Map<string, Promise<void>>>();

/**
 * A transactions v2 produce: the implicit add (which may wait and retry), then the synchronous appends,
 * one request of a transactional id after the other in arrival order. A producer's next request may
 * carry the next sequence numbers of a partition whose first batch is still waiting for its add; were it
 * let through first it would be out of order (Kafka never has two requests of one connection in flight
 * in the broker). The step ends when the appends are done, not when the answer is ready, so the next
 * request does not wait for this one's replication.
 */
function addThenProduce(context: RequestContext<ProduceRequest>): Promise<ProduceResponse | null> {
  const { services } = context;
  const transactionalId = context.request.transactionalId as string;
  let tails = implicitAddTails.get(services);
  if (tails === undefined) implicitAddTails.set(services, (tails = new Map()));
  const previous = tails.get(transactionalId) ?? Promise.resolve();
  const step = previous.then(async () => {
    const verified = await addImplicitly(context);
    return { answer: produce(context, ErrorCode.NONE, verified) };
  });
  const tail = step.then(() => undefined, () => undefined);
  tails.set(transactionalId, tail);
  const owner = tails;
  void tail.then(() => {
    if (owner.get(transactionalId) === tail) owner.delete(transactionalId);
  });
  return step.then((s) => s.answer);
}

/** A remote coordinator's verification of one partition (KIP-890 part 1), and the guard taken for it. */
interface RemoteVerification {
  readonly errorCode: number;
  readonly guard: VerificationGuard | undefined;
  /** From a transactions v2 implicit add (the epoch, not the guard, fences an ended transaction). */
  readonly implicit: boolean;
}

function topicName(context: RequestContext<ProduceRequest>, topic: ProduceRequest['topicData'][number]): string | undefined {
  return context.apiVersion >= TOPIC_IDS_VERSION ? context.services.metadataLoader.image.topicsById.get(topic.topicId)?.name : topic.name;
}

function produce(
  context: RequestContext<ProduceRequest>, requestError: number, verified: ReadonlyMap<string, RemoteVerification> | undefined,
): Promise<ProduceResponse | null> | ProduceResponse | null {
  const { request, services } = context;
  const outcomes = request.topicData.map((topic) => {
    const name = topicName(context, topic);
    return topic.partitionData.map((partition) => {
      const outcome = emptyOutcome(partition.index);
      if (requestError !== ErrorCode.NONE) outcome.errorCode = requestError;
      else if (name === undefined) outcome.errorCode = ErrorCode.UNKNOWN_TOPIC_ID;
      else appendPartition(context, name, partition.index, partition.records, outcome, verified);
      return outcome;
    });
  });
  if (request.acks === 0) {
    if (outcomes.some((topic) => topic.some((p) => p.errorCode !== ErrorCode.NONE))) {
      throw new InvalidRequestError('produce with acks=0 failed: closing the connection so the producer refreshes its metadata');
    }
    return untilWrittenAcksZero(outcomes);
  }
  const appended = outcomes.flat().filter((o) => o.appended !== undefined);
  const duplicates = outcomes.flat().filter((o) => o.duplicateWait !== undefined);
  if (appended.length === 0 && duplicates.length === 0) return response(context, outcomes);
  return Promise.all([
    appended.length === 0 ? undefined : request.acks === 1 ? awaitDurable(appended) : awaitReplicated(services, request, appended),
    duplicates.length === 0 ? undefined : awaitDuplicates(services, request, duplicates),
  ]).then(() => response(context, outcomes));
}

function wholeRequestError(request: ProduceRequest): number {
  if (request.acks !== -1 && request.acks !== 0 && request.acks !== 1) return ErrorCode.INVALID_REQUIRED_ACKS;
  if (request.transactionalId === null && hasTransactionalBatch(request)) return ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED;
  return ErrorCode.NONE;
}

/** RequestUtils.hasTransactionalRecords: the first batch of any partition is transactional. */
function hasTransactionalBatch(request: ProduceRequest): boolean {
  return request.topicData.some((topic) => topic.partitionData.some(({ records }) =>
    records !== null && records.length >= RECORD_BATCH_OVERHEAD && records.readInt8(MAGIC_OFFSET) === CURRENT_MAGIC
    && (records.readInt16BE(ATTRIBUTES_OFFSET) & TRANSACTIONAL_FLAG_MASK) !== 0));
}

function emptyOutcome(index: number): PartitionOutcome {
  return {
    index, errorCode: ErrorCode.NONE, errorMessage: null, recordErrors: [], baseOffset: -1, logAppendTimeMs: -1,
    logStartOffset: -1, currentLeader: NO_LEADER,
  };
}

/** Everything up to the append is synchronous: appends happen in request arrival order. */
function appendPartition(
  context: RequestContext<ProduceRequest>, topic: string, index: number, records: Buffer | null, outcome: PartitionOutcome,
  verified: ReadonlyMap<string, RemoteVerification> | undefined,
): void {
  const { services, apiVersion, request } = context;
  const replicaManager = services.replicaManager;
  const fail = (errorCode: number, errorMessage: string | null = null, recordErrors: readonly RecordError[] = []): void => {
    outcome.errorCode = errorCode;
    outcome.errorMessage = errorMessage;
    outcome.recordErrors = recordErrors;
  };
  const topicId = services.metadataLoader.image.topicIdsByName.get(topic);
  const imagePartition = topicId === undefined ? undefined : services.metadataLoader.image.topicsById.get(topicId)?.partitions[index];
  if (imagePartition === undefined) return fail(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
  const checked = checkProduceRecords(apiVersion, records);
  if (!checked.ok) return fail(checked.errorCode, checked.message);
  if (isInternalTopic(topic) && context.header.clientId !== ADMIN_CLIENT_ID) {
    return fail(ErrorCode.INVALID_TOPIC_EXCEPTION, `Cannot append to internal topic ${topic}`);
  }
  const lookup = replicaManager.leaderPartition(topic, index, -1);
  if (!lookup.ok) {
    fail(lookup.errorCode);
    if (apiVersion >= 10) outcome.currentLeader = { leaderId: imagePartition.leader, leaderEpoch: imagePartition.leaderEpoch };
    return;
  }
  const partition = lookup.partition;
  const minInsyncReplicas = replicaManager.minInsyncReplicas(topic);
  if (request.acks === -1 && partition.isr.length < minInsyncReplicas) {
    return fail(ErrorCode.NOT_ENOUGH_REPLICAS, `The size of the current ISR ${partition.isr.length} is insufficient to satisfy the min.isr requirement of ${minInsyncReplicas} for partition ${topic}-${index}`);
  }
  const header = checked.header;
  const batch = records as Buffer;
  const producerState = header.producerId >= 0 ? replicaManager.producerStateFor(partition) : undefined;
  if (header.isTransactional) {
    const verdict = verifyTransaction(context, topic, index, header.producerId, header.producerEpoch, producerState, verified);
    if (verdict !== ErrorCode.NONE) return fail(verdict);
  }
  if (producerState !== undefined) {
    const verdict = producerState.checkBatch(header);
    if (verdict.kind === 'error') return fail(verdict.errorCode, verdict.errorMessage ?? null);
    if (verdict.kind === 'duplicate') {
      outcome.baseOffset = verdict.baseOffset;
      outcome.logAppendTimeMs = verdict.logAppendTimeMs;
      outcome.logStartOffset = partition.logStartOffset;
      if (verdict.lastOffset >= partition.highWatermark) {
        outcome.duplicateWait = { partition, requiredOffset: verdict.lastOffset + 1, minInsyncReplicas: request.acks === -1 ? minInsyncReplicas : 1 };
      }
      return;
    }
  }
  let result: AppendResult;
  try {
    result = replicaManager.appendRecordsToLeader(partition, batch);
  } catch (err) {
    const { errorCode, recordErrors } = err as { errorCode?: unknown; recordErrors?: readonly RecordError[] };
    if (typeof errorCode !== 'number') throw err;
    return fail(errorCode, recordErrorMessage((err as Error).message, recordErrors), apiVersion >= 8 ? recordErrors ?? [] : []);
  }
  producerState?.onAppend(header, result.baseOffset, result.lastOffset, result.logAppendTimeMs);
  services.metrics.produced(topic, batch.length, header.recordsCount);
  outcome.baseOffset = result.baseOffset;
  outcome.logAppendTimeMs = result.logAppendTimeMs;
  outcome.logStartOffset = result.logStartOffset;
  outcome.appended = { partition, result };
}

/**
 * KIP-890 part 1 (ReplicaManager.appendRecords → AddPartitionsToTxnManager): a transactional batch for a
 * partition where the producer has no transaction open yet is appended only if the coordinator has the
 * partition in the producer's ongoing transaction — a late batch of a finished transaction would
 * otherwise open a transaction nobody ends (a hanging transaction). When this node coordinates the id
 * the check is synchronous and nothing can end the transaction between it and the append; when another
 * node does, the answer was fetched before (verifyElsewhere) and the partition's verification guard
 * says whether a marker ended the transaction meanwhile (then INVALID_TXN_STATE, as UnifiedLog.append
 * answers a guard that no longer matches). Its answers
 * reach the producer as Kafka sends them: PRODUCER_FENCED as INVALID_PRODUCER_EPOCH,
 * TRANSACTION_ABORTABLE as INVALID_TXN_STATE before Produce v11, a coordinator that is missing, moving
 * or busy (CONCURRENT_TRANSACTIONS) as the retriable NOT_ENOUGH_REPLICAS.
 */
function verifyTransaction(
  context: RequestContext<ProduceRequest>, topic: string, partition: number, producerId: number, producerEpoch: number,
  producerState: PartitionProducerState | undefined, verified: ReadonlyMap<string, RemoteVerification> | undefined,
): number {
  const { services, request, apiVersion } = context;
  if (producerState?.hasOngoingTransaction(producerId, producerEpoch) === true) return ErrorCode.NONE;
  const transactionalId = request.transactionalId as string;
  const remote = verified?.get(partitionKey(topic, partition));
  let errorCode: number | undefined;
  if (remote !== undefined) {
    // A marker for this producer landed while the coordinator was asked: what it verified has ended. Not
    // for a transactions v2 add: there every end bumps the epoch into its markers, so a batch whose
    // transaction ended is refused by its epoch (checkBatch), and a marker of the previous transaction
    // (at this batch's epoch) must not refuse the next one's first batch.
    if (!remote.implicit && remote.guard !== undefined && producerState?.verificationHolds(remote.guard) !== true) return ErrorCode.INVALID_TXN_STATE;
    errorCode = remote.errorCode;
  } else if (services.txnCoordinator.coordinatedElsewhere(transactionalId)) {
    // Its coordinator moved to another node since this request came: the producer retries.
    errorCode = ErrorCode.COORDINATOR_NOT_AVAILABLE;
  } else {
    [errorCode] = services.txnCoordinator.verifyPartitions({ transactionalId, producerId, producerEpoch }, [{ topic, partition }]);
  }
  switch (errorCode) {
    case undefined:
    case ErrorCode.NONE:
      return ErrorCode.NONE;
    case ErrorCode.PRODUCER_FENCED:
      return ErrorCode.INVALID_PRODUCER_EPOCH;
    case ErrorCode.TRANSACTION_ABORTABLE:
      return apiVersion > 10 ? ErrorCode.TRANSACTION_ABORTABLE : ErrorCode.INVALID_TXN_STATE;
    case ErrorCode.NOT_COORDINATOR:
    case ErrorCode.COORDINATOR_LOAD_IN_PROGRESS:
    case ErrorCode.COORDINATOR_NOT_AVAILABLE:
    case ErrorCode.CONCURRENT_TRANSACTIONS:
      return ErrorCode.NOT_ENOUGH_REPLICAS;
    default:
      return errorCode;
  }
}

function partitionKey(topic: string, partition: number): string {
  return `${topic}\u0000${partition}`;
}

/**
 * The asynchronous half of KIP-890 part 1 for a transactional id another node coordinates
 * (ReplicaManager.appendRecords → AddPartitionsToTxnManager.verifyTransaction): the transactional
 * batches for partitions led here where the producer has no transaction open are verified with that
 * coordinator first — a guard is taken in each partition's producer state — and then the whole request
 * goes through the synchronous path with the answers. Undefined when nothing needs asking.
 */
function verifyElsewhere(context: RequestContext<ProduceRequest>): Promise<Map<string, RemoteVerification>> | undefined {
  const { request, services } = context;
  const transactionalId = request.transactionalId;
  if (transactionalId === null || !services.txnCoordinator.coordinatedElsewhere(transactionalId)) return undefined;
  const pending = unverifiedBatches(context);
  if (pending === undefined) return undefined;
  return services.txnCoordinator.verifyElsewhere({ transactionalId, ...pending.identity }, pending.asks).then((errors) => verdicts(pending.asks, errors));
}

/** One transactional partition the coordinator is asked about, with the guard taken for it. */
interface Ask {
  readonly topic: string;
  readonly partition: number;
  readonly guard: VerificationGuard | undefined;
}

/**
 * The transactional batches for partitions led here where the producer has no transaction open at the
 * batch's epoch, each with a fresh verification guard in the partition's producer state; undefined when
 * there are none. One producer per request; a batch of another producer is left to the synchronous checks.
 */
function unverifiedBatches(context: RequestContext<ProduceRequest>): { identity: { producerId: number; producerEpoch: number }; asks: Ask[] } | undefined {
  const { request, services } = context;
  const asks: Ask[] = [];
  let identity: { producerId: number; producerEpoch: number } | undefined;
  for (const topicData of request.topicData) {
    const topic = topicName(context, topicData);
    if (topic === undefined) continue;
    for (const { index, records } of topicData.partitionData) {
      if (records === null || records.length < RECORD_BATCH_OVERHEAD || records.readInt8(MAGIC_OFFSET) !== CURRENT_MAGIC) continue;
      if ((records.readInt16BE(ATTRIBUTES_OFFSET) & TRANSACTIONAL_FLAG_MASK) === 0) continue;
      const producerId = readInt64(records, PRODUCER_ID_OFFSET);
      const producerEpoch = records.readInt16BE(PRODUCER_EPOCH_OFFSET);
      identity ??= { producerId, producerEpoch };
      if (producerId !== identity.producerId || producerEpoch !== identity.producerEpoch) continue;
      const lookup = services.replicaManager.leaderPartition(topic, index, -1);
      if (!lookup.ok) continue;
      const state = services.replicaManager.producerStateFor(lookup.partition);
      if (state?.hasOngoingTransaction(producerId, producerEpoch) === true) continue;
      asks.push({ topic, partition: index, guard: state?.beginVerification(producerId, producerEpoch) });
    }
  }
  if (identity === undefined || asks.length === 0) return undefined;
  return { identity, asks };
}

function verdicts(asks: readonly Ask[], errors: readonly number[], implicit = false): Map<string, RemoteVerification> {
  const verified = new Map<string, RemoteVerification>();
  asks.forEach((ask, i) => verified.set(partitionKey(ask.topic, ask.partition), { errorCode: errors[i] ?? ErrorCode.COORDINATOR_NOT_AVAILABLE, guard: ask.guard, implicit }));
  return verified;
}

/** First Produce version whose transactional batches add their partition to the transaction (KIP-890 part 2). */
const IMPLICIT_ADD_VERSION = 12;
/** Bounds the implicit add's retries whatever add.partitions.to.txn.retry.backoff.* say. */
const ADD_ATTEMPTS_MAX = 100;

/**
 * Produce v12+ from a transactions v2 producer while the finalized transaction.version (metadata image)
 * is 2 (AddPartitionsToTxnManager.produceRequestVersionToTransactionSupportedOperation: addPartition).
 * Kafka 4.4 decides by the request version alone (its clients cap Produce at v11 below TV 2); Runnel also
 * asks the finalized level, so a client that sends v12 to a cluster at 0 or 1 is verified as v11 is.
 */
function addsImplicitly(context: RequestContext<ProduceRequest>): boolean {
  return context.apiVersion >= IMPLICIT_ADD_VERSION && context.request.transactionalId !== null
    && finalizedTransactionVersion(context.services.metadataLoader.image) >= TRANSACTION_VERSION_2;
}

/**
 * KIP-890 part 2's implicit add (ReplicaManager.appendRecords → AddPartitionsToTxnManager.addOrVerifyTransaction
 * with addPartition): a transactions v2 producer sends no AddPartitionsToTxn; the first transactional
 * batch for a partition adds it to the producer's transaction — at this node's coordinator or at the
 * coordinating node (AddPartitionsToTxn v5 without verify_only) — before it is appended (no guard is
 * checked: the epoch bumped into every end's markers fences a batch whose transaction ended). The coordinator answers
 * CONCURRENT_TRANSACTIONS while the previous transaction writes its markers; that is retried with fresh
 * guards every add.partitions.to.txn.retry.backoff.ms for up to add.partitions.to.txn.retry.backoff.max.ms
 * (Kafka's names and defaults, 20 / 100), then left to the producer (as NOT_ENOUGH_REPLICAS, retriable).
 */
async function addImplicitly(context: RequestContext<ProduceRequest>): Promise<Map<string, RemoteVerification> | undefined> {
  const { request, services } = context;
  const transactionalId = request.transactionalId as string;
  const startMs = services.clock.monotonicMs();
  const backoffMs = services.config['add.partitions.to.txn.retry.backoff.ms'];
  const backoffMaxMs = services.config['add.partitions.to.txn.retry.backoff.max.ms'];
  for (let attempt = 0; ; attempt++) {
    const pending = unverifiedBatches(context);
    if (pending === undefined) return undefined;
    const errors = await services.txnCoordinator.addImplicitly({ transactionalId, ...pending.identity }, pending.asks);
    const busy = errors.some((e) => e === ErrorCode.CONCURRENT_TRANSACTIONS);
    const late = services.clock.monotonicMs() - startMs + backoffMs > backoffMaxMs;
    if (!busy || late || attempt + 1 >= ADD_ATTEMPTS_MAX) return verdicts(pending.asks, errors, true);
    await new Promise((resolve) => setTimeout(resolve, backoffMs));
  }
}

/** ProduceResponse's error message for record errors (Kafka's RecordValidationException wording). */
function recordErrorMessage(message: string, recordErrors: readonly RecordError[] | undefined): string {
  if (recordErrors === undefined || recordErrors.length === 0) return message;
  return `One or more records have been rejected due to ${recordErrors.length} record errors in total, and only showing the first ${recordErrors.length} record errors in the response: ${message}`;
}

/** acks=1: each partition answers once its bytes are durable; an IO failure is KAFKA_STORAGE_ERROR. */
/**
 * acks=0 has no answer, but its records stay in memory until written: the request is finished only
 * then, so they stay charged to `queued.max.request.bytes` and a producer that outruns the disk is
 * paced by `queued.max.requests` instead of filling the heap (issue #26). A write that fails closes the
 * connection, as any acks=0 error does.
 */
function untilWrittenAcksZero(outcomes: PartitionOutcome[][]): Promise<null> | null {
  const appended = outcomes.flat().filter((o) => o.appended !== undefined);
  if (appended.length === 0) return null;
  return awaitDurable(appended).then(() => {
    if (appended.some((o) => o.errorCode !== ErrorCode.NONE)) {
      throw new InvalidRequestError('produce with acks=0 failed to write: closing the connection');
    }
    return null;
  });
}

async function awaitDurable(appended: PartitionOutcome[]): Promise<void> {
  await Promise.all(appended.map((outcome) => (outcome.appended as NonNullable<PartitionOutcome['appended']>).result.durable.then(
    () => undefined,
    (err: unknown) => {
      outcome.errorCode = ErrorCode.KAFKA_STORAGE_ERROR;
      outcome.errorMessage = (err as Error).message;
    },
  )));
}

/** Duplicates of batches not yet under the high watermark wait for it (see the header). */
async function awaitDuplicates(services: BrokerServices, request: ProduceRequest, duplicates: PartitionOutcome[]): Promise<void> {
  const errorCodes = await services.delayedProduce.await(duplicates.map((o) => o.duplicateWait as ProduceWait), request.timeoutMs);
  duplicates.forEach((outcome, i) => {
    const errorCode = errorCodes[i] ?? ErrorCode.REQUEST_TIMED_OUT;
    if (errorCode !== ErrorCode.NONE) outcome.errorCode = errorCode;
  });
}

/** acks=-1: park until the high watermark covers every appended batch. */
async function awaitReplicated(services: BrokerServices, request: ProduceRequest, appended: PartitionOutcome[]): Promise<void> {
  const waits: ProduceWait[] = appended.map((outcome) => {
    const { partition, result } = outcome.appended as NonNullable<PartitionOutcome['appended']>;
    return { partition, requiredOffset: result.lastOffset + 1, minInsyncReplicas: services.replicaManager.minInsyncReplicas(partition.topic) };
  });
  const errorCodes = await services.delayedProduce.await(waits, request.timeoutMs);
  appended.forEach((outcome, i) => {
    const errorCode = errorCodes[i] ?? ErrorCode.REQUEST_TIMED_OUT;
    if (errorCode === ErrorCode.NONE) return;
    outcome.errorCode = errorCode;
    outcome.baseOffset = -1;
    outcome.logAppendTimeMs = -1;
    outcome.logStartOffset = -1;
  });
}

function response(context: RequestContext<ProduceRequest>, outcomes: PartitionOutcome[][]): ProduceResponse {
  const { apiVersion, request, services } = context;
  const leaders = new Set<number>();
  const responses: TopicResponse[] = request.topicData.map((topic, t) => ({
    name: topic.name,
    topicId: topic.topicId,
    partitionResponses: (outcomes[t] as PartitionOutcome[]).map((o): PartitionResponse => {
      if (o.currentLeader.leaderId >= 0) leaders.add(o.currentLeader.leaderId);
      return {
        index: o.index,
        errorCode: o.errorCode,
        baseOffset: BigInt(o.errorCode === ErrorCode.NONE ? o.baseOffset : -1),
        logAppendTimeMs: BigInt(o.errorCode === ErrorCode.NONE ? o.logAppendTimeMs : -1),
        logStartOffset: BigInt(o.errorCode === ErrorCode.NONE ? o.logStartOffset : -1),
        recordErrors: apiVersion >= 8 ? o.recordErrors.map((e) => ({ batchIndex: e.batchIndex, batchIndexErrorMessage: e.message })) : [],
        errorMessage: apiVersion >= 8 ? o.errorMessage : null,
        currentLeader: apiVersion >= 10 ? o.currentLeader : NO_LEADER,
      };
    }),
  }));
  return { responses, throttleTimeMs: 0, nodeEndpoints: apiVersion >= 10 ? leaderEndpoints(services, leaders) : [] };
}

/** KIP-951: the endpoints of the leaders named in currentLeader fields. */
function leaderEndpoints(services: BrokerServices, leaders: ReadonlySet<number>): NodeEndpoint[] {
  if (leaders.size === 0) return [];
  return services.metadata.brokers()
    .filter((b) => leaders.has(b.nodeId))
    .map((b) => ({ nodeId: b.nodeId, host: b.host, port: b.port, rack: b.rack }));
}
