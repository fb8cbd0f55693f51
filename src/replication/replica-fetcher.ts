/**
 * Follower fetchers (Kafka's ReplicaFetcherManager + ReplicaFetcherThread + AbstractFetcherThread, reduced;
 * DESIGN §3). A follower streams each partition's log from its leader with the Fetch API:
 *
 * - One fetcher per (leader broker, fetcher id), fetcher id = hash(topic, partition) mod
 *   num.replica.fetchers (AbstractFetcherManager.getFetcherId); each holds one connection to the leader's
 *   listener and carries all its partitions in one Fetch (v17: topic ids, ReplicaState{ReplicaId,
 *   ReplicaEpoch}, CurrentLeaderEpoch, LastFetchedEpoch per partition). The leader parks the fetch
 *   (replica.fetch.wait.max.ms) and its produce hook wakes it the moment it appends.
 * - Memory is bounded per fetcher: replica.fetch.max.bytes per partition, replica.fetch.response.max.bytes
 *   per response (and the response frame limit).
 * - The leader's batches are appended verbatim with their offsets and epochs (PartitionLog.appendAsFollower:
 *   structure and CRC checked, nothing re-encoded). The next fetch offset is the follower's
 *   acknowledgement, so in fsync mode the fetcher waits for its flush before fetching again.
 * - DivergingEpoch (KIP-595): truncate to `truncationOffset` and fetch again with the new LastFetchedEpoch.
 *   OFFSET_OUT_OF_RANGE: ListOffsets to the leader (latest / earliest as a follower), then truncate to the
 *   leader's end if ahead of it, or restart at its log start if behind it
 *   (AbstractFetcherThread.handleOffsetOutOfRange).
 * - Partition errors (NOT_LEADER_OR_FOLLOWER, FENCED_LEADER_EPOCH, UNKNOWN_LEADER_EPOCH, storage errors)
 *   hold that partition back for replica.fetch.backoff.ms; the metadata image brings the new leader.
 *   A connection failure backs the whole fetcher off and reconnects.
 *
 * Partitions come and go only through the replica manager's serial delta path (`addPartition`,
 * `removePartition`); removal waits until the fetcher is not processing a response, so a partition's log
 * is never appended by a fetcher after the replica manager made it leader (AbstractFetcherThread's
 * partitionMapLock).
 *
 * Not implemented: incremental fetch sessions for followers (every fetch is a full one), throttling.
 */
import type { Logger } from 'pino';
import type { RunnelConfig } from '../config/config.js';
import type { MetadataLoader } from '../metadata/loader.js';
import { ApiKey } from '../protocol/generated/index.js';
import type { FetchRequest, FetchResponse } from '../protocol/generated/fetch.js';
import { ErrorCode } from '../protocol/errors.js';
import { PROBE_SHORT, probeBatch } from '../protocol/record-batch.js';
import type { EpochEndOffset } from '../storage/leader-epoch-cache.js';
import { BrokerConnection } from './broker-connection.js';
import { truncationOffset } from './partition-replication.js';

/** A partition as its fetcher sees it; the replica manager implements it per (leader, epoch) it follows. */
export interface FollowerPartition {
  readonly topic: string;
  readonly topicId: string;
  readonly partition: number;
  readonly leaderId: number;
  readonly leaderEpoch: number;
  /** False once the replica manager moved on (new leader or epoch, dropped, leader here). */
  isCurrent(): boolean;
  logEndOffset(): number;
  logStartOffset(): number;
  highWatermark(): number;
  /** The epoch of the last batch in the log (-1 when empty): the fetch's LastFetchedEpoch. */
  lastFetchedEpoch(): number;
  endOffsetForEpoch(epoch: number): EpochEndOffset;
  /**
   * Appends the leader's whole batches verbatim and takes the leader's HW (never past the local end);
   * resolves once the bytes may be acknowledged (durable in fsync mode).
   */
  append(records: Buffer, leaderHighWatermark: number): Promise<void>;
  /** Takes the leader's HW when a fetch brought no records. */
  updateHighWatermark(leaderHighWatermark: number): void;
  truncateTo(offset: number): Promise<void>;
  truncateFullyAndStartAt(offset: number): Promise<void>;
}

export interface LeaderEndpoint {
  readonly host: string;
  readonly port: number;
}

export interface ReplicaFetcherOptions {
  readonly nodeId: number;
  /** This broker's registration epoch (ReplicaState.ReplicaEpoch, KIP-903). */
  readonly brokerEpoch: () => number;
  readonly endpoint: (brokerId: number) => LeaderEndpoint | undefined;
  readonly numReplicaFetchers: number;
  readonly fetchMaxBytes: number;
  readonly fetchResponseMaxBytes: number;
  readonly fetchWaitMaxMs: number;
  readonly fetchMinBytes: number;
  readonly fetchBackoffMs: number;
  readonly socketTimeoutMs: number;
  readonly rackId: string;
  readonly logger?: Pick<Logger, 'info' | 'warn' | 'error'>;
}

/** The fetcher settings from the broker's configuration (Kafka's replica.* properties). */
export function replicaFetcherOptions(
  config: RunnelConfig, nodeId: number, brokerEpoch: () => number, loader: MetadataLoader, logger?: ReplicaFetcherOptions['logger'],
): ReplicaFetcherOptions {
  return {
    nodeId, brokerEpoch, logger,
    endpoint: (brokerId) => {
      const broker = loader.image.brokers.get(brokerId);
      return broker === undefined ? undefined : { host: broker.host, port: broker.port };
    },
    numReplicaFetchers: config['num.replica.fetchers'],
    fetchMaxBytes: config['replica.fetch.max.bytes'],
    fetchResponseMaxBytes: config['replica.fetch.response.max.bytes'],
    fetchWaitMaxMs: config['replica.fetch.wait.max.ms'],
    fetchMinBytes: config['replica.fetch.min.bytes'],
    fetchBackoffMs: config['replica.fetch.backoff.ms'],
    socketTimeoutMs: config['replica.socket.timeout.ms'],
    rackId: config['broker.rack'],
  };
}

/** Kafka's replica fetchers speak Fetch v17 (KIP-903's ReplicaState, topic ids). */
export const REPLICA_FETCH_VERSION = 17;
const LIST_OFFSETS_VERSION = 10;
/** A partition answered this often with errors in a row stays backed off; the count bounds the log noise. */
const RESPONSE_HEADROOM_BYTES = 1024 * 1024;

export class ReplicaFetcherManager {
  private readonly fetchers = new Map<string, ReplicaFetcher>();
  private closed = false;

  constructor(private readonly options: ReplicaFetcherOptions) {}

  /** Starts (or moves) fetching `follower` from its leader. */
  addPartition(follower: FollowerPartition): void {
    if (this.closed) return;
    const key = `${follower.leaderId}/${fetcherId(follower.topic, follower.partition, this.options.numReplicaFetchers)}`;
    let fetcher = this.fetchers.get(key);
    if (fetcher === undefined) {
      fetcher = new ReplicaFetcher(follower.leaderId, this.options);
      this.fetchers.set(key, fetcher);
    }
    fetcher.add(follower);
  }

  /** Stops fetching the partition; resolves once no fetcher is touching its log. */
  async removePartition(topic: string, partition: number): Promise<void> {
    for (const [key, fetcher] of this.fetchers) {
      if (!fetcher.has(topic, partition)) continue;
      await fetcher.remove(topic, partition);
      if (fetcher.size === 0) {
        this.fetchers.delete(key);
        await fetcher.stop();
      }
    }
  }

  /** Partitions being fetched (tests, metrics). */
  get partitionCount(): number {
    let total = 0;
    for (const fetcher of this.fetchers.values()) total += fetcher.size;
    return total;
  }

  async close(): Promise<void> {
    this.closed = true;
    const all = [...this.fetchers.values()];
    this.fetchers.clear();
    await Promise.all(all.map((fetcher) => fetcher.stop()));
  }
}

/** AbstractFetcherManager.getFetcherId: Utils.abs(31 * topic.hashCode + partition) % numFetchers. */
export function fetcherId(topic: string, partition: number, numFetchers: number): number {
  let hash = 0;
  for (let i = 0; i < topic.length; i++) hash = (Math.imul(hash, 31) + topic.charCodeAt(i)) | 0;
  return Math.abs((Math.imul(31, hash) + partition) | 0) % Math.max(1, numFetchers);
}

interface FetchEntry {
  readonly follower: FollowerPartition;
  /** Not fetched again before this time (monotonic ms): a partition error's backoff. */
  delayedUntilMs: number;
}

class ReplicaFetcher {
  private readonly partitions = new Map<string, FetchEntry>();
  private connection: BrokerConnection | undefined;
  private running: Promise<void> | undefined;
  /** The response being applied to logs; removal waits for it (partitionMapLock). */
  private processing: Promise<void> = Promise.resolve();
  private stopped = false;
  private wake: (() => void) | undefined;

  constructor(private readonly leaderId: number, private readonly options: ReplicaFetcherOptions) {}

  get size(): number {
    return this.partitions.size;
  }

  has(topic: string, partition: number): boolean {
    return this.partitions.has(key(topic, partition));
  }

  add(follower: FollowerPartition): void {
    this.partitions.set(key(follower.topic, follower.partition), { follower, delayedUntilMs: 0 });
    this.running ??= this.run();
    this.signal();
  }

  async remove(topic: string, partition: number): Promise<void> {
    this.partitions.delete(key(topic, partition));
    await this.processing;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.connection?.close();
    this.signal();
    await this.running;
    await this.processing;
  }

  private signal(): void {
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.wake = undefined;
        resolve();
      }, ms);
      this.wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      const now = performance.now();
      const ready = [...this.partitions.values()].filter((e) => e.delayedUntilMs <= now && e.follower.isCurrent());
      if (ready.length === 0) {
        const next = Math.min(...[...this.partitions.values()].map((e) => e.delayedUntilMs));
        await this.sleep(Number.isFinite(next) ? Math.max(1, Math.min(next - now, this.options.fetchBackoffMs)) : this.options.fetchBackoffMs);
        continue;
      }
      try {
        const connection = await this.connect();
        const response = await connection.send(ApiKey.Fetch, REPLICA_FETCH_VERSION, this.fetchRequest(ready), this.options.socketTimeoutMs + this.options.fetchWaitMaxMs);
        if (this.stopped) return;
        this.processing = this.processResponse(connection, ready, response);
        await this.processing;
      } catch (err) {
        if (this.stopped) return;
        this.connection?.close();
        this.connection = undefined;
        this.options.logger?.warn({ err, leaderId: this.leaderId }, 'replica fetch failed: backing off');
        await this.sleep(this.options.fetchBackoffMs);
      }
    }
  }

  private async connect(): Promise<BrokerConnection> {
    if (this.connection?.isOpen === true) return this.connection;
    const endpoint = this.options.endpoint(this.leaderId);
    if (endpoint === undefined) throw new Error(`no endpoint for broker ${this.leaderId}`);
    this.connection = await BrokerConnection.connect({
      host: endpoint.host, port: endpoint.port, clientId: `broker-${this.options.nodeId}-fetcher-${this.leaderId}`,
      responseFrameBytesMax: this.options.fetchResponseMaxBytes + this.options.fetchMaxBytes + RESPONSE_HEADROOM_BYTES,
      connectTimeoutMs: this.options.socketTimeoutMs,
    });
    return this.connection;
  }

  private fetchRequest(entries: readonly FetchEntry[]): FetchRequest {
    const topics: FetchRequest['topics'] = [];
    for (const { follower } of entries) {
      let topic = topics.find((t) => t.topicId === follower.topicId);
      if (topic === undefined) topics.push(topic = { topic: follower.topic, topicId: follower.topicId, partitions: [] });
      topic.partitions.push({
        partition: follower.partition,
        currentLeaderEpoch: follower.leaderEpoch,
        fetchOffset: BigInt(follower.logEndOffset()),
        lastFetchedEpoch: follower.lastFetchedEpoch(),
        logStartOffset: BigInt(follower.logStartOffset()),
        partitionMaxBytes: this.options.fetchMaxBytes,
        replicaDirectoryId: '00000000-0000-0000-0000-000000000000',
        // KIP-1166 (v18 only; tagged): this follower's high watermark.
        highWatermark: BigInt(follower.highWatermark()),
      });
    }
    return {
      clusterId: null,
      replicaId: -1,
      replicaState: { replicaId: this.options.nodeId, replicaEpoch: BigInt(this.options.brokerEpoch()) },
      maxWaitMs: this.options.fetchWaitMaxMs,
      minBytes: this.options.fetchMinBytes,
      maxBytes: this.options.fetchResponseMaxBytes,
      isolationLevel: 0,
      sessionId: 0,
      sessionEpoch: -1,
      topics,
      forgottenTopicsData: [],
      rackId: this.options.rackId,
    };
  }

  private async processResponse(connection: BrokerConnection, requested: readonly FetchEntry[], response: FetchResponse): Promise<void> {
    if (response.errorCode !== ErrorCode.NONE) {
      throw new Error(`fetch from broker ${this.leaderId} failed with error ${response.errorCode}`);
    }
    const durable: Promise<void>[] = [];
    for (const topic of response.responses) {
      for (const data of topic.partitions) {
        const entry = requested.find((e) => e.follower.topicId === topic.topicId && e.follower.partition === data.partitionIndex);
        // Removed or moved on meanwhile: the answer is for a fetch that no longer exists.
        if (entry === undefined || this.partitions.get(key(entry.follower.topic, entry.follower.partition)) !== entry) continue;
        if (!entry.follower.isCurrent()) continue;
        try {
          const appended = await this.processPartition(connection, entry, data);
          if (appended !== undefined) durable.push(appended);
        } catch (err) {
          entry.delayedUntilMs = performance.now() + this.options.fetchBackoffMs;
          this.options.logger?.warn({ err, topic: entry.follower.topic, partition: entry.follower.partition, leaderId: this.leaderId }, 'replica fetch of a partition failed: backing off');
        }
      }
    }
    // The next fetch offset acknowledges these bytes: in fsync mode only once they are on disk.
    await Promise.all(durable.map((p) => p.catch((err: unknown) => {
      this.options.logger?.error({ err, leaderId: this.leaderId }, 'follower flush failed');
    })));
  }

  private async processPartition(connection: BrokerConnection, entry: FetchEntry, data: FetchResponse['responses'][number]['partitions'][number]): Promise<Promise<void> | undefined> {
    const { follower } = entry;
    const highWatermark = Number(data.highWatermark);
    switch (data.errorCode) {
      case ErrorCode.NONE: {
        if (data.divergingEpoch.epoch >= 0 || data.divergingEpoch.endOffset >= 0n) {
          const target = truncationOffset(
            { epoch: data.divergingEpoch.epoch, endOffset: Number(data.divergingEpoch.endOffset) },
            (epoch) => follower.endOffsetForEpoch(epoch), follower.logEndOffset());
          this.options.logger?.info({ topic: follower.topic, partition: follower.partition, target, leaderId: this.leaderId, diverging: { epoch: data.divergingEpoch.epoch, endOffset: Number(data.divergingEpoch.endOffset) } }, 'follower truncating to the divergence point');
          await follower.truncateTo(target);
          return undefined;
        }
        const records = wholeBatches(data.records);
        if (records === undefined) {
          follower.updateHighWatermark(highWatermark);
          return undefined;
        }
        return follower.append(records, highWatermark);
      }
      case ErrorCode.OFFSET_OUT_OF_RANGE:
        await this.handleOffsetOutOfRange(connection, follower);
        return undefined;
      default:
        entry.delayedUntilMs = performance.now() + this.options.fetchBackoffMs;
        return undefined;
    }
  }

  /** AbstractFetcherThread.fetchOffsetAndTruncate: ask the leader for its end and start as a follower. */
  private async handleOffsetOutOfRange(connection: BrokerConnection, follower: FollowerPartition): Promise<void> {
    const leaderEnd = await this.listOffset(connection, follower, -1n);
    if (leaderEnd < follower.logEndOffset()) {
      this.options.logger?.warn({ topic: follower.topic, partition: follower.partition, leaderEnd, logEndOffset: follower.logEndOffset() }, 'follower ahead of its leader: truncating to the leader\'s end');
      await follower.truncateTo(leaderEnd);
      return;
    }
    const leaderStart = await this.listOffset(connection, follower, -2n);
    if (follower.logEndOffset() < leaderStart) await follower.truncateFullyAndStartAt(leaderStart);
  }

  private async listOffset(connection: BrokerConnection, follower: FollowerPartition, timestamp: bigint): Promise<number> {
    const response = await connection.send(ApiKey.ListOffsets, LIST_OFFSETS_VERSION, {
      replicaId: this.options.nodeId, isolationLevel: 0, timeoutMs: 0,
      topics: [{ name: follower.topic, partitions: [{ partitionIndex: follower.partition, currentLeaderEpoch: follower.leaderEpoch, timestamp, maxNumOffsets: 1 }] }],
    }, this.options.socketTimeoutMs);
    const answer = response.topics[0]?.partitions[0];
    if (answer === undefined || answer.errorCode !== ErrorCode.NONE) throw new Error(`ListOffsets for ${follower.topic}-${follower.partition} failed with ${answer?.errorCode}`);
    return Number(answer.offset);
  }
}

function key(topic: string, partition: number): string {
  return `${topic}\u0000${partition}`;
}

/** The records' whole batches (a fetch may end with a partial one, KIP-74), or undefined when none. */
function wholeBatches(records: Buffer | null): Buffer | undefined {
  if (records === null || records.length === 0) return undefined;
  let position = 0;
  for (;;) {
    const size = probeBatch(records, position, records.length, records.length - position);
    if (size <= 0 || position + size > records.length) break;
    position += size;
  }
  if (position === 0) {
    // Not even one whole batch: a bad header is the leader's bug or corruption, not a short read.
    if (probeBatch(records, 0, records.length, 0x7fffffff) !== PROBE_SHORT && records.length >= 12) throw new Error('fetch returned a malformed batch');
    return undefined;
  }
  return records.subarray(0, position);
}
