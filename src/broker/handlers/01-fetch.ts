/**
 * Fetch (API 1), versions 4-18 (KafkaApis.handleFetchRequest, ReplicaManager.fetchMessages; DESIGN §3).
 *
 * - Partitions are read in request order (or, in an incremental session, in the session's order) under
 *   max_bytes and partition_max_bytes with KIP-74's "at least one whole batch" for the first partition
 *   that has data; per-partition lookups, KIP-320 leader-epoch fencing, OFFSET_OUT_OF_RANGE and the
 *   high-watermark bound are in src/replication/delayed-fetch.ts. A partition named twice is read once,
 *   at its first position with its last entry's data (Kafka's request map is a LinkedHashMap).
 * - Topic ids (KIP-516, v13+) are resolved through the metadata view; an unknown one is UNKNOWN_TOPIC_ID.
 * - Long poll: with fewer than min_bytes read, no error and max_wait_ms > 0, the fetch parks in the
 *   delayed-fetch purgatory; every wake (a watched partition's high watermark, log start, leadership or
 *   epoch changed) re-reads everything and answers once min_bytes is reached, an error appears, or
 *   max_wait_ms has passed (then with whatever is there).
 * - Incremental fetch sessions (KIP-227, v7+): src/replication/fetch-session.ts. Session errors
 *   (FETCH_SESSION_ID_NOT_FOUND, INVALID_FETCH_SESSION_EPOCH, FETCH_SESSION_TOPIC_ID_ERROR) are top-level
 *   with no partitions.
 * - Answers: last_stable_offset (the high watermark held back by open transactions), log_start_offset,
 *   aborted_transactions null (read_uncommitted) or the aborted transactions overlapping the records read
 *   (read_committed; empty for Kafka's pre-read errors),
 *   preferred_read_replica (KIP-392, below) or -1, records as the log's Buffers: several batches go out as separate writev
 *   chunks, never concatenated. v16+: NOT_LEADER_OR_FOLLOWER / FENCED_LEADER_EPOCH partitions carry the
 *   current leader and its endpoint (KIP-951).
 * - Follower fetches (replica id ≥ 0, or ReplicaState in v15+; src/replication/replica-fetcher.ts sends
 *   them): read up to the log end, LastFetchedEpoch checked (DivergingEpoch, KIP-595, v12+), the fetch
 *   offset recorded as the follower's acknowledged end (HW, ISR); a replica the partition does not have
 *   gets UNKNOWN_LEADER_EPOCH (with a leader epoch) or NOT_LEADER_OR_FOLLOWER. A parked follower fetch
 *   wakes on the leader's log end, a consumer's on the HW. v18 adds the follower's own high watermark
 *   (KIP-1166, a tagged field; read but not yet used to wake followers): a consumer's v18 fetch is its v17 fetch.
 * - KIP-392 (v11+): consumers may fetch from a follower (below its HW); with replica.selector.class =
 *   RackAwareReplicaSelector and a rack_id, the leader answers a preferred_read_replica in that rack.
 * Not implemented: quotas (throttle 0), ACLs.
 */
import { randomInt } from 'node:crypto';
import {
  decodeFetchRequest,
  encodeFetchResponse,
  type FetchRequest,
  type FetchResponse,
} from '../../protocol/generated/fetch.js';
import { ApiKey } from '../../protocol/generated/index.js';
import { ErrorCode } from '../../protocol/errors.js';
import { ZERO_UUID } from '../../protocol/codec-support.js';
import { Writer } from '../../protocol/writer.js';
import {
  DelayedFetchPurgatory,
  mustRespondNow,
  READ_COMMITTED,
  readBytes,
  readPartitions,
  watchesOf,
  type FetchReadParams,
  type PartitionRead,
} from '../../replication/delayed-fetch.js';
import {
  FETCH_SESSION_SLOTS_DEFAULT,
  FETCH_TOPIC_ID_VERSION,
  FetchSessionCache,
  type FetchPartition,
  type FetchSessionResponse,
  type ForgottenPartition,
} from '../../replication/fetch-session.js';
import type { ApiHandler, BrokerServices, RequestContext } from '../api-handler.js';

type ResponseTopic = FetchResponse['responses'][number];
type ResponsePartition = ResponseTopic['partitions'][number];
type NodeEndpoint = FetchResponse['nodeEndpoints'][number];

/**
 * The response with each partition's records as the log's Buffers: `records` holds the first Buffer and
 * `chunks` maps it to all of them, so the encoder writes them one after another without concatenating.
 */
export interface FetchResponseOut {
  readonly body: FetchResponse;
  readonly chunks: ReadonlyMap<Buffer, readonly Buffer[]>;
}

export const fetchHandler: ApiHandler<FetchRequest, FetchResponseOut> = {
  apiKey: ApiKey.Fetch,
  name: 'Fetch',
  minVersion: 4,
  maxVersion: 18,
  decode: decodeFetchRequest,
  encode: encodeFetch,
  handle: handleFetch,
};

/** KIP-951 answers start at this version. */
const CURRENT_LEADER_VERSION = 16;
/** Wake-ups one fetch may take before it answers with what it has (each re-reads its partitions). */
const WAIT_ROUNDS_MAX = 100_000;
const NO_LEADER = Object.freeze({ leaderId: -1, leaderEpoch: -1 });
const NO_DIVERGING_EPOCH = Object.freeze({ epoch: -1, endOffset: -1n });
const NO_SNAPSHOT_ID = Object.freeze({ endOffset: -1n, epoch: -1 });
const EMPTY_RECORDS = Buffer.alloc(0);

/**
 * The broker's fetch session cache: max.incremental.fetch.session.cache.slots (Kafka's default 1000)
 * sessions, ids drawn from the system's random source.
 */
export function newFetchSessionCache(slotsMax = FETCH_SESSION_SLOTS_DEFAULT): FetchSessionCache {
  return new FetchSessionCache({ slotsMax, random: () => randomInt(0, 0x80000000) });
}

async function handleFetch(context: RequestContext<FetchRequest>): Promise<FetchResponseOut> {
  const { request, apiVersion, services } = context;
  const { replicaManager, fetchSessions, delayedFetch } = services;
  const replicaId = apiVersion >= 15 ? request.replicaState.replicaId : request.replicaId;
  const isFollower = replicaId >= 0;
  const sessionContext = fetchSessions.newContext({
    version: apiVersion,
    sessionId: request.sessionId,
    sessionEpoch: request.sessionEpoch,
    isFollower,
    partitions: requestPartitions(request, apiVersion),
    forgotten: forgottenPartitions(request, apiVersion),
  }, services.clock.monotonicMs());
  const toRead = fetchSessions.partitionsToRead(sessionContext);
  const params: FetchReadParams = {
    isFollower,
    replicaId,
    replicaEpoch: apiVersion >= 15 ? Number(request.replicaState.replicaEpoch) : -1,
    // KIP-392: v11+ carries client metadata (rack); such consumer fetches may be served by a follower.
    fetchFromFollowerAllowed: apiVersion >= 11,
    clientRack: apiVersion >= 11 ? request.rackId : '',
    isolationLevel: request.isolationLevel,
    maxBytes: request.maxBytes,
    topicName: (topicId, partition) => replicaManager.partitionByTopicId(topicId, partition)?.topic ?? services.metadata.topicById(topicId)?.name,
  };
  const read = (): Promise<PartitionRead[]> => readWithinMemory(context, toRead, params);
  let reads = await read();
  if (!mustRespondNow(reads, request.maxWaitMs, request.minBytes)) {
    reads = await waitForData(context, delayedFetch, read, reads);
  }
  const outcomes = reads.map((read) => ({
    errorCode: read.errorCode,
    highWatermark: read.highWatermark,
    logStartOffset: read.logStartOffset,
    recordsBytes: read.recordsBytes,
    diverging: read.diverging,
  }));
  if (!isFollower) countBytesOut(services, params, toRead, reads);
  const session = fetchSessions.respond(sessionContext, toRead, outcomes, services.clock.monotonicMs());
  return buildResponse(context, session, toRead, reads);
}

/**
 * Reads under max_bytes, Kafka's broker-side `fetch.max.bytes` (KafkaApis caps the request's max_bytes
 * with it) and the response memory the broker can give (`queued.max.response.bytes`): the request
 * reserves before it reads, waiting while this connection's earlier answers are unsent or the broker
 * holds too many, so answers nobody reads are not built again and again. At least
 * `message.max.bytes` is reserved when max_bytes allows it: KIP-74 returns a whole first batch even
 * past the limit, and that is as large as a batch of a default topic gets. Afterwards the reservation
 * shrinks to the bytes actually read, which is what a parked fetch holds while it waits.
 */
async function readWithinMemory(
  context: RequestContext<FetchRequest>,
  toRead: readonly FetchPartition[],
  params: FetchReadParams,
): Promise<PartitionRead[]> {
  const { services, responseMemory } = context;
  const wantBytes = Math.min(Math.max(0, params.maxBytes), services.config['fetch.max.bytes']);
  const grantedBytes = await responseMemory.reserve(wantBytes, services.config['message.max.bytes']);
  const reads = await readPartitions(services.replicaManager, { ...params, maxBytes: grantedBytes }, toRead);
  responseMemory.shrinkTo(readBytes(reads));
  return reads;
}

/** BytesOutPerSec counts what consumers are sent (Kafka counts followers' reads apart, as replication bytes). */
function countBytesOut(services: BrokerServices, params: FetchReadParams, partitions: readonly FetchPartition[], reads: readonly PartitionRead[]): void {
  reads.forEach((read, index) => {
    if (read.recordsBytes === 0) return;
    const partition = partitions[index] as FetchPartition;
    const topic = partition.topic ?? params.topicName(partition.topicId, partition.partition);
    if (topic !== undefined) services.metrics.fetched(topic, read.recordsBytes);
  });
}

/** Parks and re-reads until min_bytes, an error, max_wait_ms, or the connection going away. */
async function waitForData(
  context: RequestContext<FetchRequest>,
  purgatory: DelayedFetchPurgatory,
  reread: () => Promise<PartitionRead[]>,
  first: PartitionRead[],
): Promise<PartitionRead[]> {
  const { request, services, connection } = context;
  const deadlineMs = services.clock.monotonicMs() + request.maxWaitMs;
  let reads = first;
  for (let round = 0; round < WAIT_ROUNDS_MAX; round++) {
    const remainingMs = Math.ceil(deadlineMs - services.clock.monotonicMs());
    if (remainingMs <= 0) return reads;
    const parked = purgatory.park(watchesOf(reads), remainingMs, connection.id);
    if (parked === undefined) return reads;
    const outcome = await parked;
    // Released: the connection is gone (the answer will be dropped) or the broker is shutting down.
    if (outcome === 'released') return reads;
    reads = await reread();
    if (outcome === 'expired' || mustRespondNow(reads, request.maxWaitMs, request.minBytes)) return reads;
  }
  return reads;
}

/** The request's partitions in order, each once (the last entry's data wins, like Kafka's LinkedHashMap). */
function requestPartitions(request: FetchRequest, version: number): FetchPartition[] {
  const usesTopicIds = version >= FETCH_TOPIC_ID_VERSION;
  const byKey = new Map<string, FetchPartition>();
  for (const topic of request.topics) {
    for (const p of topic.partitions) {
      const partition: FetchPartition = {
        topic: usesTopicIds ? null : topic.topic,
        topicId: usesTopicIds ? topic.topicId : ZERO_UUID,
        partition: p.partition,
        fetchOffset: Number(p.fetchOffset),
        logStartOffset: Number(p.logStartOffset),
        partitionMaxBytes: p.partitionMaxBytes,
        currentLeaderEpoch: p.currentLeaderEpoch,
        lastFetchedEpoch: p.lastFetchedEpoch,
      };
      const key = usesTopicIds ? `${topic.topicId}/${p.partition}` : `${topic.topic}\u0000${p.partition}`;
      // A repeated partition keeps its first position and takes the last entry's data (LinkedHashMap.put).
      byKey.set(key, partition);
    }
  }
  return [...byKey.values()];
}

function forgottenPartitions(request: FetchRequest, version: number): ForgottenPartition[] {
  const usesTopicIds = version >= FETCH_TOPIC_ID_VERSION;
  const out: ForgottenPartition[] = [];
  for (const topic of request.forgottenTopicsData) {
    for (const partition of topic.partitions) {
      out.push({ topic: usesTopicIds ? null : topic.topic, topicId: usesTopicIds ? topic.topicId : ZERO_UUID, partition });
    }
  }
  return out;
}

function buildResponse(
  context: RequestContext<FetchRequest>,
  session: FetchSessionResponse,
  partitions: readonly FetchPartition[],
  reads: readonly PartitionRead[],
): FetchResponseOut {
  const { apiVersion, request } = context;
  const usesTopicIds = apiVersion >= FETCH_TOPIC_ID_VERSION;
  const chunks = new Map<Buffer, readonly Buffer[]>();
  const responses: ResponseTopic[] = [];
  const leaders = new Set<number>();
  let current: ResponseTopic | undefined;
  partitions.forEach((partition, index) => {
    if (session.included[index] !== true) return;
    const read = reads[index] as PartitionRead;
    const topicName = usesTopicIds ? '' : (partition.topic ?? '');
    const topicId = usesTopicIds ? partition.topicId : ZERO_UUID;
    // Consecutive partitions of one topic share a topic entry (FetchResponse.toMessage).
    if (current === undefined || current.topic !== topicName || current.topicId !== topicId) {
      current = { topic: topicName, topicId, partitions: [] };
      responses.push(current);
    }
    const currentLeader = apiVersion >= CURRENT_LEADER_VERSION ? currentLeaderFor(context.services, partition.partition, read) : NO_LEADER;
    if (currentLeader.leaderId >= 0) leaders.add(currentLeader.leaderId);
    current.partitions.push(responsePartition(partition.partition, read, request.isolationLevel, currentLeader, chunks));
  });
  return {
    body: {
      throttleTimeMs: 0,
      errorCode: session.errorCode,
      sessionId: session.sessionId,
      responses,
      nodeEndpoints: leaders.size === 0 ? [] : leaderEndpoints(context.services, leaders),
    },
    chunks,
  };
}

function responsePartition(
  partitionIndex: number,
  read: PartitionRead,
  isolationLevel: number,
  currentLeader: { leaderId: number; leaderEpoch: number },
  chunks: Map<Buffer, readonly Buffer[]>,
): ResponsePartition {
  const first = read.records[0];
  if (first !== undefined && read.records.length > 1) chunks.set(first, read.records);
  return {
    partitionIndex,
    errorCode: read.errorCode,
    highWatermark: BigInt(read.highWatermark),
    lastStableOffset: BigInt(read.lastStableOffset),
    logStartOffset: BigInt(read.logStartOffset),
    divergingEpoch: read.divergingEpoch === undefined ? NO_DIVERGING_EPOCH : { epoch: read.divergingEpoch.epoch, endOffset: BigInt(read.divergingEpoch.endOffset) },
    currentLeader,
    snapshotId: NO_SNAPSHOT_ID,
    // Kafka: null unless read_committed produced a (possibly empty) list; its pre-read errors use [].
    abortedTransactions: read.abortedTransactions !== null
      ? read.abortedTransactions.map((t) => ({ producerId: BigInt(t.producerId), firstOffset: BigInt(t.firstOffset) }))
      : read.fromMetadata || (read.errorCode === ErrorCode.NONE && isolationLevel === READ_COMMITTED) ? [] : null,
    preferredReadReplica: read.preferredReadReplica ?? -1,
    records: first ?? EMPTY_RECORDS,
  };
}

/** KIP-951: the leader a NOT_LEADER_OR_FOLLOWER / FENCED_LEADER_EPOCH answer points the client to. */
function currentLeaderFor(
  services: BrokerServices, partitionIndex: number, read: PartitionRead,
): { leaderId: number; leaderEpoch: number } {
  if (read.errorCode !== ErrorCode.NOT_LEADER_OR_FOLLOWER && read.errorCode !== ErrorCode.FENCED_LEADER_EPOCH) return NO_LEADER;
  if (read.topic === null) return NO_LEADER;
  const partition = services.metadata.topicByName(read.topic)?.partitions.find((p) => p.partitionIndex === partitionIndex);
  return partition === undefined ? NO_LEADER : { leaderId: partition.leaderId, leaderEpoch: partition.leaderEpoch };
}

function leaderEndpoints(services: BrokerServices, leaders: ReadonlySet<number>): NodeEndpoint[] {
  return services.metadata.brokers()
    .filter((broker) => leaders.has(broker.nodeId))
    .map((broker) => ({ nodeId: broker.nodeId, host: broker.host, port: broker.port, rack: broker.rack }));
}

/**
 * A Writer whose records fields write every Buffer of a partition's read, each by reference (Writer
 * appends ≥ 1 KiB chunks uncopied), instead of one concatenated Buffer.
 */
class FetchRecordsWriter extends Writer {
  constructor(private readonly recordChunks: ReadonlyMap<Buffer, readonly Buffer[]>) {
    super();
  }

  override writeRecords(v: Buffer | null): void {
    const all = v === null ? undefined : this.recordChunks.get(v);
    if (all === undefined) return super.writeRecords(v);
    this.writeInt32(totalBytes(all));
    for (const chunk of all) this.writeRaw(chunk);
  }

  override writeCompactRecords(v: Buffer | null): void {
    const all = v === null ? undefined : this.recordChunks.get(v);
    if (all === undefined) return super.writeCompactRecords(v);
    this.writeUVarint(totalBytes(all) + 1);
    for (const chunk of all) this.writeRaw(chunk);
  }
}

function totalBytes(buffers: readonly Buffer[]): number {
  let total = 0;
  for (const b of buffers) total += b.length;
  return total;
}

function encodeFetch(writer: Writer, version: number, response: FetchResponseOut): void {
  if (response.chunks.size === 0) {
    encodeFetchResponse(writer, version, response.body);
    return;
  }
  const recordsWriter = new FetchRecordsWriter(response.chunks);
  encodeFetchResponse(recordsWriter, version, response.body);
  writer.writeWriter(recordsWriter);
}
