/**
 * One partition's log (Kafka's UnifiedLog + LocalLog + LogLoader, much reduced). See index.ts for the
 * public contract. Structure:
 *
 * - Logical state (segments, sizes, indexes, logEndOffset, tail cache) changes synchronously inside
 *   append/roll/delete, so offsets are assigned in call order on the single JS thread.
 * - Every file operation runs on one serial IO chain per partition (`enqueueIo`): group-commit flushes,
 *   segment creation and finalisation, deletions, checkpoint writes. Order of durability = order of append.
 *   One exception: an fsync-mode group commit into the active segment may leave its O_DSYNC write in
 *   flight while the next one starts (two at most); its batches still become durable in offset order,
 *   and every other op on the chain waits for such writes to end.
 * - Invariant: every offset in [tailStartOffset, logEndOffset) is in the tail cache; every offset below
 *   it is written to its segment file. Reads below tailStartOffset go to disk, the rest to memory.
 * - truncateTo / truncateFullyAndStartAt are exclusive: they drain the IO chain first and appends may
 *   not run while they are in progress (the replica manager awaits them).
 */
import { promises as fsp } from 'node:fs';
import { join, sep } from 'node:path';
import {
  assignOffsetAndEpoch, batchBaseOffset, batchLastOffset, batchMaxTimestamp, forEachRecordTimestamp, probeBatch,
  readBatchHeader, setCreateTime, setLogAppendTime, LAST_OFFSET_DELTA_OFFSET, PARTITION_LEADER_EPOCH_OFFSET,
  TIMESTAMP_TYPE_MASK, ATTRIBUTES_OFFSET, RECORD_BATCH_OVERHEAD, type BatchSpan,
  type RecordBatchHeader, type RecordsDecompressor,
} from '../protocol/record-batch.js';
import { decompressRecords } from '../protocol/compression.js';
import { invariant } from '../common/assert.js';
import { systemClock, type Clock } from '../common/clock.js';
import type { LogConfig } from './config.js';
import { offsetOutOfRange, StorageError, StorageErrorCode } from './errors.js';
import type { FilePool } from './file-pool.js';
import {
  fdatasyncFd, fsyncDirectory, ftruncateFd, preadFull, pwritevFull, pwritevFullSync, readFileIfExists, unlinkIfExists,
  writeFileAtomic,
} from './fs-util.js';
import { LeaderEpochCache, type EpochEndOffset } from './leader-epoch-cache.js';
import {
  deleteSnapshotsOutside, readLatestSnapshot, writeSnapshot, type ProducerSnapshot,
} from './producer-snapshots.js';
import { OffsetIndex, TimeIndex, type OffsetPosition } from './sparse-index.js';
import { TailCache, type TailEntry } from './tail-cache.js';
import type { AbortedTxn } from './transaction-index.js';
import { validateAppendBatches, validateFollowerOffsets, validateTimestamps } from './append-validation.js';
import {
  LogSegment, LOG_SUFFIX, INDEX_SUFFIX, TIME_INDEX_SUFFIX, TXN_INDEX_SUFFIX, offsetFileName, parseOffsetFileName, RELATIVE_OFFSET_MAX,
  scanSegmentFile, type ScanResult,
} from './segment.js';

/** The pino methods storage uses; a pino Logger fits. */
export interface StorageLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

export const silentLogger: StorageLogger = { info() {}, warn() {}, error() {} };

export const LEADER_EPOCH_CHECKPOINT_FILE = 'leader-epoch-checkpoint';
export const PARTITION_METADATA_FILE = 'partition.metadata';

export interface PartitionLogOptions {
  dir: string;
  topic: string;
  partition: number;
  config: LogConfig;
  filePool: FilePool;
  clock?: Clock;
  logger?: StorageLogger;
  /** From the node checkpoints; segments from the one holding it onward are scanned at open. */
  recoveryPoint?: number;
  logStartOffset?: number;
  highWatermark?: number;
  /** The previous shutdown flushed everything: only the active segment's tail is checked. */
  cleanShutdown?: boolean;
  /** Told the time of every synced write (fsync mode), in ms: the broker's log flush latency metric. */
  onLogFlush?: (ms: number) => void;
  /** Written to partition.metadata when the log is created. */
  topicId?: string;
  /** Decompresses records for record-exact timestamp lookups in compressed batches (default: protocol/compression). */
  decompressRecords?: RecordsDecompressor;
  /**
   * Makes a moved log start offset durable (the node's checkpoint file). deleteRecords awaits it, so an
   * acknowledged DeleteRecords survives kill -9; without it the checkpoint timer decides (Kafka: 60 s).
   */
  persistLogStartOffset?: () => Promise<void>;
}

export interface AppendResult {
  baseOffset: number;
  lastOffset: number;
  /** The broker time stamped into the batches for LogAppendTime topics, else -1. */
  logAppendTimeMs: number;
  logStartOffset: number;
  /** Resolves when the bytes are durable per durability.mode (fsync: after fdatasync). Never unhandled. */
  durable: Promise<void>;
}

export interface LogReadResult {
  /** Whole batches in offset order, to be written to the socket as they are. */
  records: Buffer[];
  sizeInBytes: number;
  /** Offset after the last returned batch (the requested offset when nothing was returned). */
  nextOffset: number;
  highWatermark: number;
  logStartOffset: number;
  logEndOffset: number;
}

export interface TimestampAndOffset {
  timestamp: number;
  offset: number;
  leaderEpoch: number;
}

const INACTIVE_INDEXES_MAX = 8;
const READ_SLACK_BYTES = 64 * 1024;
const READ_ROUNDS_MAX = 64;
const BATCH_ITERATION_BYTES = 1024 * 1024;
const RECOVERY_PROGRESS_BYTES = 256 * 1024 * 1024;
/** appendSpans: a cached view may pin at most this many times its size of its backing buffer, */
const TAIL_PIN_FACTOR = 4;
/** … or this much, whichever is more (a frame this small is not worth a copy). */
const TAIL_PIN_SLACK_BYTES = 256 * 1024;
const noop = (): void => {};

/** records as they are, or a copy of their own when they are a small share of a large buffer. */
function ownedIfSmallShare(records: Buffer): Buffer {
  const backing = records.buffer.byteLength;
  if (backing <= TAIL_PIN_SLACK_BYTES || backing <= records.length * TAIL_PIN_FACTOR) return records;
  // Not Buffer.from: a small copy comes from Node's shared pool, a slab of 8 KiB up to Node 22 and
  // 64 KiB in Node 24, so it would pin a slab shared with other allocations (issue #27, seen on 24).
  const copy = Buffer.allocUnsafeSlow(records.length);
  records.copy(copy);
  return copy;
}

const INDEX_MISMATCH = Symbol('index mismatch');

/** The buffer starts with a whole-header batch whose lastOffset is offset. */
function batchEndsAt(buf: Buffer, offset: number): boolean {
  return probeBatch(buf, 0, buf.length, 0x7fffffff) > 0 && batchLastOffset(buf, 0) === offset;
}

export class PartitionLog {
  readonly dir: string;
  readonly topic: string;
  readonly partition: number;
  config: LogConfig;
  logStartOffset = 0;
  logEndOffset = 0;
  highWatermark = 0;
  /** Every offset below it is on disk with its indexes (advanced at roll and clean close). */
  recoveryPoint = 0;
  topicId: string | undefined;
  leaderEpochCache = new LeaderEpochCache();
  /**
   * Called synchronously after every append (leader or follower) with the new logEndOffset: the
   * produce hook that wakes parked fetches (DESIGN §2). Must not throw or append.
   */
  onAppend: ((logEndOffset: number) => void) | undefined;
  /** This log's share of the node-wide tail-cache budget (set by the LogManager). */
  tailCacheShareBytes = Number.MAX_SAFE_INTEGER;

  private readonly pool: FilePool;
  private readonly clock: Clock;
  private readonly logger: StorageLogger;
  private readonly decompressRecords: RecordsDecompressor;
  /** Reused by the record walk of compacted topics for the indexes of keyless records. */
  private readonly keylessScratch: number[] = [];
  private readonly persistLogStartOffset: (() => Promise<void>) | undefined;
  private segments: LogSegment[] = [];
  private readonly tail = new TailCache();
  private unwritten: TailEntry[] = [];
  private pendingFinalize: LogSegment[] = [];
  private loadedInactive: LogSegment[] = [];
  private readonly indexLoads = new Map<LogSegment, Promise<void>>();
  private ioTail: Promise<void> = Promise.resolve();
  /** The last pipelined synced write (startPipelinedWrite): settles after every earlier one. */
  private lastSyncedWrite: Promise<void> = Promise.resolve();
  private flushTimer: ReturnType<typeof setTimeout> | undefined;
  private flushScheduled = false;
  private lastFlushStartMs = -Infinity;
  private exclusive = false;
  private closed = false;
  /** closeAndDelete ran: the directory is going away, no more file operations. */
  private removed = false;
  private failure: StorageError | undefined;
  /** leader-epoch-checkpoint is on disk (loaded at open, or written since). */
  private epochCheckpointExists = false;
  /** The active segment whose index files were loaded intact at open (cleared in effect by a roll). */
  private activeIndexesOnDisk: LogSegment | undefined;
  /** Bumped by every truncation: async work that started before one must not apply its result. */
  private truncations = 0;
  /** Every offset below it is durable in the log (per log.durability.mode): index entries below it may be written. */
  private durableEndOffset = 0;
  /** Segments with aborted-transaction entries not yet written to their `.txnindex`. */
  private readonly txnIndexPending = new Set<LogSegment>();
  private txnIndexWriteScheduled = false;
  private readonly onLogFlush: (ms: number) => void;

  private constructor(options: PartitionLogOptions) {
    this.dir = options.dir;
    this.topic = options.topic;
    this.partition = options.partition;
    this.config = options.config;
    this.pool = options.filePool;
    this.clock = options.clock ?? systemClock;
    this.logger = options.logger ?? silentLogger;
    this.topicId = options.topicId;
    this.decompressRecords = options.decompressRecords ?? decompressRecords;
    this.persistLogStartOffset = options.persistLogStartOffset;
    this.onLogFlush = options.onLogFlush ?? noop;
  }

  /** Opens (creating if needed) and recovers the log in options.dir. */
  static async open(options: PartitionLogOptions): Promise<PartitionLog> {
    const log = new PartitionLog(options);
    await log.load(options);
    return log;
  }

  // ---------------------------------------------------------------- state

  get activeSegment(): LogSegment {
    return this.segments[this.segments.length - 1] as LogSegment;
  }

  segmentBaseOffsets(): number[] {
    return this.segments.map((s) => s.baseOffset);
  }

  /** Total logical bytes of all segments. */
  size(): number {
    let total = 0;
    for (const s of this.segments) total += s.size;
    return total;
  }

  latestEpoch(): number | undefined {
    return this.leaderEpochCache.latestEpoch();
  }

  /** KIP-101/279: largest epoch ≤ leaderEpoch and its end offset. */
  endOffsetForEpoch(leaderEpoch: number): EpochEndOffset {
    return this.leaderEpochCache.endOffsetFor(leaderEpoch, this.logEndOffset);
  }

  /** Set by replication (min LEO over the ISR); clamped into [logStartOffset, logEndOffset]. */
  updateHighWatermark(offset: number): number {
    this.highWatermark = Math.min(Math.max(offset, this.logStartOffset), this.logEndOffset);
    return this.highWatermark;
  }

  updateConfig(config: LogConfig): void {
    this.config = config;
  }

  isFailed(): boolean {
    return this.failure !== undefined;
  }

  // ---------------------------------------------------------------- append

  /**
   * Leader append: validates every batch first (nothing is written if one fails), then assigns offsets
   * from logEndOffset and stamps leaderEpoch in place. Throws RecordBatchError / StorageError.
   */
  append(records: Buffer, leaderEpoch: number): AppendResult {
    this.checkWritable();
    const latest = this.leaderEpochCache.latestEpoch();
    invariant(latest === undefined || leaderEpoch >= latest, () => `append with epoch ${leaderEpoch} < ${latest}`);
    const spans = validateAppendBatches(records, true, this.config, this.name(), this.keylessScratch);
    const nowMs = this.clock.nowMs();
    validateTimestamps(records, spans, this.config, nowMs);
    const baseOffset = this.logEndOffset;
    const logAppendTime = this.config.messageTimestampType === 'LogAppendTime';
    let next = baseOffset;
    for (const span of spans) {
      assignOffsetAndEpoch(records, span.position, next, leaderEpoch);
      if (logAppendTime) {
        setLogAppendTime(records, span.position, span.size, nowMs);
      } else {
        setCreateTime(records, span.position, span.size);
      }
      next += records.readInt32BE(span.position + LAST_OFFSET_DELTA_OFFSET) + 1;
    }
    invariant(next <= Number.MAX_SAFE_INTEGER, 'offset overflow');
    this.leaderEpochCache.assign(leaderEpoch, baseOffset);
    const durable = this.appendSpans(records, spans, next - 1);
    return { baseOffset, lastOffset: next - 1, logAppendTimeMs: logAppendTime ? nowMs : -1, logStartOffset: this.logStartOffset, durable };
  }

  /**
   * Follower append: the leader's batches keep their offsets and epochs; offsets must be ≥ logEndOffset
   * and strictly increasing (UnifiedLog.appendAsFollower).
   */
  appendAsFollower(records: Buffer): AppendResult {
    this.checkWritable();
    const spans = validateAppendBatches(records, false, this.config, this.name(), this.keylessScratch);
    validateFollowerOffsets(records, spans, this.logEndOffset);
    for (const span of spans) {
      const epoch = records.readInt32BE(span.position + PARTITION_LEADER_EPOCH_OFFSET);
      const latest = this.leaderEpochCache.latestEpoch();
      if (epoch >= 0 && (latest === undefined || epoch > latest)) {
        this.leaderEpochCache.assign(epoch, batchBaseOffset(records, span.position));
      }
    }
    const first = spans[0] as BatchSpan;
    const lastOffset = batchLastOffset(records, (spans[spans.length - 1] as BatchSpan).position);
    const durable = this.appendSpans(records, spans, lastOffset);
    return { baseOffset: batchBaseOffset(records, first.position), lastOffset, logAppendTimeMs: -1, logStartOffset: this.logStartOffset, durable };
  }

  private checkWritable(): void {
    if (this.failure !== undefined) throw this.failure;
    if (this.closed) throw new StorageError(StorageErrorCode.KAFKA_STORAGE_ERROR, `log ${this.name()} is closed`);
    invariant(!this.exclusive, () => `append to ${this.name()} during truncation`);
  }

  /**
   * Puts validated, offset-stamped batches into the active segment (logically) and the tail cache.
   * The cache keeps views of records, and a view keeps its whole backing buffer alive: records that are
   * a small part of a large request frame (one partition's batch in a many-partition request, or beside
   * a partition whose batches were refused) are copied first, so a cached byte pins at most
   * TAIL_PIN_FACTOR bytes (or TAIL_PIN_SLACK_BYTES) — `tail.cache.bytes` bounds memory, not only views.
   */
  private appendSpans(frameRecords: Buffer, spans: BatchSpan[], lastOffset: number): Promise<void> {
    const records = ownedIfSmallShare(frameRecords);
    const firstBase = batchBaseOffset(records, (spans[0] as BatchSpan).position);
    const segment = this.maybeRoll(records.length, firstBase, lastOffset, batchMaxTimestamp(records, (spans[0] as BatchSpan).position));
    let entry: TailEntry | undefined;
    for (const span of spans) {
      const position = segment.size;
      segment.onBatch(records, span.position, span.size, position, this.config.indexIntervalBytes);
      entry = {
        baseOffset: batchBaseOffset(records, span.position), lastOffset: batchLastOffset(records, span.position),
        buf: records.subarray(span.position, span.position + span.size), segment, position, written: false, durable: undefined,
      };
      this.tail.push(entry, this.tailLimitBytes());
      this.unwritten.push(entry);
    }
    this.logEndOffset = lastOffset + 1;
    const last = entry as TailEntry;
    const durable = new Promise<void>((resolve, reject) => { last.durable = { resolve, reject }; });
    durable.catch(noop);
    this.scheduleFlush();
    this.onAppend?.(this.logEndOffset);
    return durable;
  }

  /** LogSegment.shouldRoll: size, time (by batch timestamps), full index, relative offset overflow. */
  private maybeRoll(bytes: number, firstOffset: number, lastOffset: number, maxTimestamp: number): LogSegment {
    const active = this.activeSegment;
    if (this.shouldRoll(active, bytes, lastOffset, maxTimestamp)) return this.roll(firstOffset);
    return active;
  }

  private shouldRoll(active: LogSegment, bytes: number, lastOffset: number, maxTimestamp: number): boolean {
    if (active.size === 0) return lastOffset - active.baseOffset > RELATIVE_OFFSET_MAX;
    const waitedMs = active.firstBatchTimestamp >= 0 && maxTimestamp >= 0
      ? maxTimestamp - active.firstBatchTimestamp
      : this.clock.nowMs() - active.createdMs;
    return active.size + bytes > this.config.segmentBytes
      || waitedMs > this.config.segmentMs
      || (active.offsetIndex?.isFull() ?? false)
      || (active.timeIndex?.isFull() ?? false)
      || lastOffset - active.baseOffset > RELATIVE_OFFSET_MAX;
  }

  /** New active segment at baseOffset; the old one is finalised (indexes written) by the next flush. */
  private roll(baseOffset: number): LogSegment {
    const old = this.activeSegment;
    invariant(baseOffset >= old.nextOffset, () => `roll to ${baseOffset} below ${old.nextOffset}`);
    old.onBecomeInactive();
    this.pendingFinalize.push(old);
    const segment = this.newSegment(baseOffset);
    this.segments.push(segment);
    // The old segment's bytes go first: a new segment file must never exist on disk before the data
    // that precedes it, or recovery would see a gap in the offsets.
    if (this.flushTimer !== undefined) clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
    this.enqueueIo(() => this.flushPending(this.config.durabilityMode === 'fsync')).catch(noop);
    this.enqueueIo(() => this.createSegmentFile(segment)).catch(noop);
    return segment;
  }

  private newSegment(baseOffset: number): LogSegment {
    const segment = new LogSegment(this.dir, baseOffset, this.clock.nowMs());
    segment.createIndexes(this.maxIndexEntries());
    segment.indexesDirty = true;
    return segment;
  }

  private maxIndexEntries(): number {
    return Math.max(8, Math.floor(this.config.segmentIndexBytes / 8));
  }

  private async createSegmentFile(segment: LogSegment): Promise<void> {
    if (segment.deleted || segment.fileCreated) return;
    await this.pool.withFile(segment.logPath, true, async () => undefined);
    await fsyncDirectory(this.dir);
    segment.fileCreated = true;
  }

  // ---------------------------------------------------------------- tail cache

  private tailLimitBytes(): number {
    return Math.min(this.config.tailCacheBytes, this.tailCacheShareBytes);
  }

  private tailStartOffset(): number {
    return this.tail.startOffset(this.logEndOffset);
  }

  // ---------------------------------------------------------------- IO chain and group commit

  /**
   * Runs op after every op enqueued before it. pipelined (fsync-mode flushes only): op may leave its
   * synced write in flight (see startPipelinedWrite); every other op waits for those writes to end.
   */
  private enqueueIo(op: () => Promise<void>, pipelined = false): Promise<void> {
    const run = this.ioTail.then(async () => {
      if (!pipelined) await this.lastSyncedWrite.catch(noop);
      return this.failure === undefined && !this.removed ? op() : undefined;
    });
    this.ioTail = run.catch((err: unknown) => this.fail(err));
    return run;
  }

  /** One flush per flush window (fsync mode); `none` writes at the next turn of the event loop. */
  private scheduleFlush(): void {
    if (this.flushScheduled || this.closed) return;
    this.flushScheduled = true;
    const windowMs = this.config.durabilityMode === 'fsync' ? this.config.flushWindowMs : 0;
    const delayMs = Math.max(0, this.lastFlushStartMs + windowMs - performance.now());
    const run = (): void => {
      this.flushTimer = undefined;
      const sync = this.config.durabilityMode === 'fsync';
      this.enqueueIo(() => this.flushPending(sync), sync).catch(noop);
    };
    if (delayMs === 0) {
      setImmediate(run);
    } else {
      this.flushTimer = setTimeout(run, delayMs);
    }
  }

  private async flushPending(sync: boolean): Promise<void> {
    this.flushScheduled = false;
    this.lastFlushStartMs = performance.now();
    if (sync && this.canPipeline(this.unwritten)) {
      const entries = this.unwritten;
      this.unwritten = [];
      await this.startPipelinedWrite(entries);
      return;
    }
    // Taken only after the writes in flight end: if one failed, fail() has rejected them (none may become
    // durable after an earlier batch that did not), and a failed log does no more file work.
    await this.lastSyncedWrite.catch(noop);
    if (this.failure !== undefined) return;
    const entries = this.unwritten;
    this.unwritten = [];
    try {
      await this.persistEpochsIfDirty();
      await this.writeEntries(entries, sync);
    } catch (err) {
      this.rejectEntries(entries, err);
      throw err;
    }
    this.markDurable(entries);
    await this.finalizeRolledSegments();
    this.tail.evict(this.tailLimitBytes());
  }

  /**
   * The common group commit — entries all in the active, created segment, nothing else to persist —
   * may start while the previous one is still on disk: the next batches' wait for the partition's
   * previous commit was most of a synced answer's time under load.
   */
  private canPipeline(entries: TailEntry[]): boolean {
    if (entries.length === 0) return false;
    const segment = (entries[0] as TailEntry).segment;
    return segment.fileCreated && !segment.unsyncedWrites && !segment.deleted && !this.leaderEpochCache.dirty &&
      this.pendingFinalize.length === 0 && entries.every((e) => e.segment === segment);
  }

  /**
   * One O_DSYNC pwritev, left in flight; returns once the previous one has ended, so at most two are on
   * disk at once (1–6% above one in seven rotating probes, level in an eighth, four level with two: docs/
   * docs/benchmarks.md "Runtime probes"; more would split group commits into more, smaller writes). The entries
   * become written and durable only when this write and every earlier one have ended, so
   * acknowledgements and the durable end advance in offset order whichever write the disk finishes
   * first; a failure of one fails the log and every later write's entries. A crash with a later write
   * on disk and an earlier one not leaves a hole recovery truncates at (no batch there was answered).
   */
  private async startPipelinedWrite(entries: TailEntry[]): Promise<void> {
    const segment = (entries[0] as TailEntry).segment;
    const write = this.writeSynced(segment, entries.map((e) => e.buf), (entries[0] as TailEntry).position);
    const previous = this.lastSyncedWrite;
    const done = Promise.all([previous, write]).then(
      () => {
        this.noteWritten(segment, entries);
        this.markDurable(entries);
        this.tail.evict(this.tailLimitBytes());
      },
      (err: unknown) => {
        this.rejectEntries(entries, err);
        this.fail(err);
        throw err;
      },
    );
    done.catch(noop); // callers learn of a failure through fail() and their entries
    this.lastSyncedWrite = done;
    await previous.catch(noop);
  }

  private async writeSynced(segment: LogSegment, buffers: Buffer[], position: number): Promise<void> {
    const started = performance.now();
    await this.pool.withFile(segment.logPath, true, (fd) => pwritevFull(fd, buffers, position), true);
    this.onLogFlush(performance.now() - started);
  }

  private noteWritten(segment: LogSegment, run: TailEntry[]): void {
    const last = run[run.length - 1] as TailEntry;
    segment.writtenSize = Math.max(segment.writtenSize, last.position + last.buf.length);
  }

  private markDurable(entries: TailEntry[]): void {
    for (const e of entries) e.written = true;
    for (const e of entries) e.durable?.resolve();
    const last = entries[entries.length - 1];
    if (last !== undefined) this.durableEndOffset = Math.max(this.durableEndOffset, last.lastOffset + 1);
    if (this.txnIndexPending.size > 0) this.scheduleTxnIndexWrite();
  }

  private rejectEntries(entries: TailEntry[], err: unknown): void {
    const error = this.asStorageError(err);
    for (const e of entries) e.durable?.reject(error);
  }

  /** Every enqueued op and every synced write in flight has ended. */
  private async ioSettled(): Promise<void> {
    await this.ioTail;
    await this.lastSyncedWrite.catch(noop);
  }

  /**
   * One writev per run of entries in the same segment. sync: through the segment's O_DSYNC descriptor,
   * so the write returns only once the bytes (and the file size that makes them readable) are on disk —
   * one thread-pool job per group commit instead of two. Bytes written unsynced before (`none` mode,
   * then a switch or flush()) are outside that range: then pwritev + fdatasync of the whole file.
   * Unsynced (`none`) writes only copy into the page cache and are done on the event loop's thread.
   */
  private async writeEntries(entries: TailEntry[], sync: boolean): Promise<void> {
    let i = 0;
    while (i < entries.length) {
      const segment = (entries[i] as TailEntry).segment;
      let j = i;
      while (j < entries.length && (entries[j] as TailEntry).segment === segment) j++;
      if (!segment.deleted) {
        const run = entries.slice(i, j);
        const buffers = run.map((e) => e.buf);
        const position = (run[0] as TailEntry).position;
        if (!sync) {
          // Set before the write: a failure midway must not leave unsynced bytes unaccounted for.
          segment.unsyncedWrites = true;
          await this.pool.withFile(segment.logPath, true, async (fd) => pwritevFullSync(fd, buffers, position));
        } else if (!segment.unsyncedWrites) {
          await this.writeSynced(segment, buffers, position);
        } else {
          const started = performance.now();
          await this.pool.withFile(segment.logPath, true, async (fd) => {
            await pwritevFull(fd, buffers, position);
            await fdatasyncFd(fd);
          });
          this.onLogFlush(performance.now() - started);
          segment.unsyncedWrites = false;
        }
        this.noteWritten(segment, run);
        // A new file's directory entry must be durable before its bytes are acknowledged.
        if (sync && !segment.fileCreated) await this.createSegmentFile(segment);
      }
      i = j;
    }
  }

  /** Rolled segments: log synced, indexes written, then the recovery point moves past them. */
  private async finalizeRolledSegments(): Promise<void> {
    while (this.pendingFinalize.length > 0) {
      const segment = this.pendingFinalize[0] as LogSegment;
      if (!segment.deleted) {
        await this.pool.withFile(segment.logPath, true, fdatasyncFd);
        segment.unsyncedWrites = false;
        await this.writeIndexFiles(segment);
        // Every marker of a rolled segment is durable by now: its aborted-transaction entries go with it.
        await this.writeTxnIndex(segment, Number.MAX_SAFE_INTEGER);
        await segment.txnIndex.sync(this.pool);
      }
      this.pendingFinalize.shift();
      const next = this.segments[this.segments.indexOf(segment) + 1];
      if (next !== undefined) this.recoveryPoint = Math.max(this.recoveryPoint, next.baseOffset);
      this.noteInactiveIndexes(segment);
    }
  }

  private async writeIndexFiles(segment: LogSegment): Promise<void> {
    if (segment.offsetIndex === undefined || segment.timeIndex === undefined) return;
    const offsetIndex = segment.offsetIndex.serialize();
    const timeIndex = segment.timeIndex.serialize();
    await writeFileAtomic(segment.indexPath, offsetIndex);
    await writeFileAtomic(segment.timeIndexPath, timeIndex);
    if (segment !== this.activeSegment) segment.indexesDirty = false;
  }

  private async persistEpochsIfDirty(): Promise<void> {
    if (!this.leaderEpochCache.dirty) return;
    // A new log whose epochs start at its end describes no batch yet; becoming leader after a restart
    // assigns the same entry again. Written with the first batch instead: a clean stop of 20,000 new
    // partitions wrote 20,000 checkpoint files (issue 26, defect 3).
    if (!this.epochCheckpointExists && this.leaderEpochCache.all().every((e) => e.startOffset >= this.logEndOffset)) return;
    this.epochCheckpointExists = true;
    this.leaderEpochCache.dirty = false;
    await writeFileAtomic(join(this.dir, LEADER_EPOCH_CHECKPOINT_FILE), this.leaderEpochCache.serialize());
  }

  /** Writes and syncs everything appended so far (even in `none` mode). */
  async flush(): Promise<void> {
    if (this.flushTimer !== undefined) clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
    await this.enqueueIo(() => this.flushPending(true)).catch(noop);
    await this.enqueueIo(async () => {
      const active = this.activeSegment;
      // Synced writes (O_DSYNC) leave nothing to sync: an idle log's close costs no fdatasync (issue 26 defect 3).
      if (!active.deleted && active.unsyncedWrites && active.size > 0) {
        await this.pool.withFile(active.logPath, true, fdatasyncFd);
        active.unsyncedWrites = false;
      }
    }).catch(noop);
    if (this.failure !== undefined) throw this.failure;
  }

  private async drainIo(): Promise<void> {
    await this.flush();
    await this.ioSettled();
    if (this.failure !== undefined) throw this.failure;
  }

  private fail(err: unknown): void {
    if (this.failure !== undefined) return;
    this.failure = this.asStorageError(err);
    this.logger.error({ err, topic: this.topic, partition: this.partition }, 'partition log failed: IO error');
    this.rejectEntries(this.unwritten, this.failure);
    this.unwritten = [];
  }

  private asStorageError(err: unknown): StorageError {
    if (err instanceof StorageError) return err;
    return new StorageError(StorageErrorCode.KAFKA_STORAGE_ERROR, `IO error in ${this.name()}: ${String(err)}`, { cause: err });
  }

  private name(): string {
    return `${this.topic}-${this.partition}`;
  }

  // ---------------------------------------------------------------- read

  /**
   * Whole batches from the one containing offset (KIP-74: at least one whole batch when minOneBatch,
   * even past maxBytes), none ending at or past upperBound (HW, later LSO). Throws OFFSET_OUT_OF_RANGE
   * outside [logStartOffset, logEndOffset].
   */
  async read(offset: number, maxBytes: number, upperBound = Number.MAX_SAFE_INTEGER, minOneBatch = true): Promise<LogReadResult> {
    if (this.failure !== undefined) throw this.failure;
    if (offset < this.logStartOffset || offset > this.logEndOffset) {
      throw offsetOutOfRange(offset, this.logStartOffset, this.logEndOffset);
    }
    const bound = Math.min(upperBound, this.logEndOffset);
    return this.readResult(offset, await this.readFilling(offset, maxBytes, bound, minOneBatch));
  }

  /**
   * Fills up to maxBytes across segment ends and the disk/tail boundary, one part per round: the disk
   * below tailStartOffset, memory from it on. The tail may have moved during a disk read, so each round
   * looks again. Bounded: every round adds at least one batch or stops.
   */
  private async readFilling(offset: number, maxBytes: number, bound: number, minOneBatch: boolean): Promise<Buffer[]> {
    const records: Buffer[] = [];
    let used = 0;
    let next = offset;
    for (let round = 0; round < READ_ROUNDS_MAX && next < bound; round++) {
      const first = records.length === 0;
      if (!first && used >= maxBytes) break;
      const part = await this.readPart(next, maxBytes - used, bound, first && minOneBatch);
      if (part.length === 0) break;
      for (const buf of part) {
        records.push(buf);
        used += buf.length;
      }
      next = lastOffsetOfLastBatch(part[part.length - 1] as Buffer) + 1;
    }
    return records;
  }

  private async readPart(offset: number, maxBytes: number, bound: number, minOneBatch: boolean): Promise<Buffer[]> {
    const tailStart = this.tailStartOffset();
    if (offset >= tailStart) return this.tail.read(offset, maxBytes, bound, minOneBatch);
    const fromDisk = await this.readDisk(offset, maxBytes, Math.min(bound, tailStart), minOneBatch);
    // Nothing at or after offset on disk below the tail (a gap): the tail's first batch follows.
    return fromDisk ?? this.tail.read(offset, maxBytes, bound, minOneBatch);
  }

  private readResult(offset: number, records: Buffer[]): LogReadResult {
    let sizeInBytes = 0;
    for (const b of records) sizeInBytes += b.length;
    const lastBuf = records[records.length - 1];
    const nextOffset = lastBuf === undefined ? offset : lastOffsetOfLastBatch(lastBuf) + 1;
    return {
      records, sizeInBytes, nextOffset,
      highWatermark: this.highWatermark, logStartOffset: this.logStartOffset, logEndOffset: this.logEndOffset,
    };
  }

  /** Undefined when no segment holds a batch at or after offset below the tail. */
  private async readDisk(offset: number, maxBytes: number, bound: number, minOneBatch: boolean): Promise<Buffer[] | undefined> {
    const segments = this.segments;
    for (let i = this.segmentIndexFor(offset); i < segments.length; i++) {
      const segment = segments[i] as LogSegment;
      if (segment.baseOffset >= bound) return undefined;
      const found = await this.readSegment(segment, offset, maxBytes, bound, minOneBatch);
      if (found !== undefined) return found;
    }
    return undefined;
  }

  /** Index of the last segment with baseOffset ≤ offset (0 when offset is below all of them). */
  private segmentIndexFor(offset: number): number {
    let lo = 0;
    let hi = this.segments.length - 1;
    let found = 0;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      if ((this.segments[mid] as LogSegment).baseOffset <= offset) {
        found = mid;
        lo = mid + 1;
      } else {
        hi = mid - 1;
      }
    }
    return found;
  }

  /**
   * Reads from the index position for offset; undefined when the segment holds no batch at or after
   * offset (the caller moves on to the next segment). Each round consumes bytes or grows the window
   * to one whole batch, so rounds are bounded by the segment size.
   */
  private async readSegment(
    segment: LogSegment, offset: number, maxBytes: number, bound: number, minOneBatch: boolean,
  ): Promise<Buffer[] | undefined> {
    for (let attempt = 0; attempt < 2; attempt++) {
      await this.ensureIndexes(segment);
      const entry = (segment.offsetIndex as OffsetIndex).lookup(offset);
      const result = await this.readFromEntry(segment, entry, offset, maxBytes, bound, minOneBatch);
      if (result !== INDEX_MISMATCH) return result;
      await this.repairIndexes(segment);
    }
    const fromStart = await this.readFromEntry(segment, { offset: segment.baseOffset, position: 0 }, offset, maxBytes, bound, minOneBatch);
    return fromStart === INDEX_MISMATCH ? undefined : fromStart;
  }

  /**
   * The batch at an index entry's position must end at the entry's offset; INDEX_MISMATCH otherwise
   * (a damaged index that passed the load checks: the caller rebuilds it).
   */
  private async readFromEntry(
    segment: LogSegment, entry: OffsetPosition, offset: number, maxBytes: number, bound: number, minOneBatch: boolean,
  ): Promise<Buffer[] | undefined | typeof INDEX_MISMATCH> {
    let position = entry.position;
    const verify = !(entry.position === 0 && entry.offset === segment.baseOffset);
    // Only completed writes: bytes of a writev in flight may be torn (they belong to the tail anyway).
    const end = Math.min(segment.size, segment.writtenSize);
    let want = Math.max(maxBytes, 0) + this.config.indexIntervalBytes + READ_SLACK_BYTES;
    const roundsMax = 4 + Math.ceil((end - position) / RECORD_BATCH_OVERHEAD);
    for (let round = 0; round < roundsMax && position < end; round++) {
      const window = await this.preadSegment(segment, position, Math.min(end - position, want));
      if (round === 0 && verify && !batchEndsAt(window, entry.offset)) return INDEX_MISMATCH;
      const cut = findBatches(window, offset, maxBytes, bound, minOneBatch);
      if (cut.kind === 'found') return cut.to > cut.from ? [window.subarray(cut.from, cut.to)] : [];
      if (cut.kind === 'end') return undefined;
      if (cut.from === 0 && (window.length < Math.min(end - position, want) || cut.size <= window.length)) return undefined;
      position += cut.from;
      want = Math.max(want, cut.size);
    }
    return undefined;
  }

  /**
   * Rebuilds a segment's indexes from its written bytes into a scratch segment, replays the unwritten
   * tail entries on top and swaps them in, unless a truncation or deletion happened meanwhile.
   */
  private async repairIndexes(segment: LogSegment): Promise<void> {
    const generation = this.truncations;
    this.logger.warn({ segment: segment.logPath }, 'offset index does not match the log: rebuilding it');
    const scratch = new LogSegment(this.dir, segment.baseOffset, segment.createdMs);
    scratch.createIndexes(this.maxIndexEntries());
    const interval = this.config.indexIntervalBytes;
    await this.pool.withFile(segment.logPath, false, (fd) => scanSegmentFile(fd, segment.baseOffset, 0, segment.writtenSize, false, (b) => {
      scratch.onBatch(b.buf, b.pos, b.size, b.position, interval);
      return true;
    }));
    if (generation !== this.truncations || segment.deleted) return;
    this.tail.forEachOf(segment, (e) => {
      if (e.position >= scratch.size) scratch.onBatch(e.buf, 0, e.buf.length, e.position, interval);
    });
    if (scratch.size !== segment.size) return;
    segment.offsetIndex = scratch.offsetIndex;
    segment.timeIndex = scratch.timeIndex;
    segment.maxTimestamp = scratch.maxTimestamp;
    segment.offsetOfMaxTimestamp = scratch.offsetOfMaxTimestamp;
    segment.bytesSinceLastIndexEntry = scratch.bytesSinceLastIndexEntry;
    segment.firstBatchTimestamp = scratch.firstBatchTimestamp;
    if (segment !== this.activeSegment) this.enqueueIo(() => this.writeIndexFiles(segment)).catch(noop);
  }

  private async preadSegment(segment: LogSegment, position: number, length: number): Promise<Buffer> {
    const buf = Buffer.allocUnsafe(length);
    try {
      const n = await this.pool.withFile(segment.logPath, false, (fd) => preadFull(fd, buf, length, position));
      return buf.subarray(0, n);
    } catch (err) {
      if (segment.deleted) throw offsetOutOfRange(segment.baseOffset, this.logStartOffset, this.logEndOffset);
      throw this.asStorageError(err);
    }
  }

  /** Batches (as slices of the read buffers) from offset to upTo, for scans that need them all. */
  async *batches(fromOffset: number, upToOffset = Number.MAX_SAFE_INTEGER): AsyncGenerator<Buffer> {
    let offset = Math.max(fromOffset, this.logStartOffset);
    const roundsMax = 1_000_000_000;
    for (let round = 0; round < roundsMax && offset < Math.min(upToOffset, this.logEndOffset); round++) {
      const result = await this.read(offset, BATCH_ITERATION_BYTES, upToOffset, true);
      if (result.records.length === 0) return;
      for (const buf of result.records) yield* splitBatches(buf);
      offset = result.nextOffset;
    }
  }

  /** Batch headers from an offset: what the idempotent-producer state is rebuilt from. */
  async *batchHeaders(fromOffset: number, upToOffset = Number.MAX_SAFE_INTEGER): AsyncGenerator<RecordBatchHeader> {
    for await (const batch of this.batches(fromOffset, upToOffset)) yield readBatchHeader(batch, 0);
  }

  // ---------------------------------------------------------------- timestamps

  /**
   * ListOffsets by timestamp: the first offset whose timestamp is ≥ timestampMs (LogSegment
   * findOffsetByTimestamp). Record-level for uncompressed CreateTime batches; the batch's baseOffset
   * otherwise. Undefined when no record is that recent.
   */
  async offsetForTimestamp(timestampMs: number): Promise<TimestampAndOffset | undefined> {
    for (const segment of this.segments.slice()) {
      await this.ensureIndexes(segment);
      if ((segment.maxTimestamp ?? -1) < timestampMs) continue;
      const start = await this.timeIndexStart(segment, timestampMs);
      for await (const batch of this.batches(start)) {
        if (batchMaxTimestamp(batch) < timestampMs) continue;
        return this.timestampAndOffset(batch, (ts) => ts >= timestampMs);
      }
      return undefined;
    }
    return undefined;
  }

  /**
   * Where a timestamp search may start in segment: the time-index entry ≤ timestampMs, checked against
   * the batch it names (that batch ends at the entry's offset and reached its timestamp); a damaged
   * time index is rebuilt, and the search starts at the segment's base if it still does not match.
   */
  private async timeIndexStart(segment: LogSegment, timestampMs: number): Promise<number> {
    for (let attempt = 0; attempt < 2; attempt++) {
      const entry = (segment.timeIndex as TimeIndex | undefined)?.lookup(timestampMs);
      if (entry === undefined) return segment.baseOffset;
      const read = entry.offset >= this.logStartOffset && entry.offset < this.logEndOffset
        ? await this.read(entry.offset, 0, Number.MAX_SAFE_INTEGER, true)
        : undefined;
      const batch = read?.records[0];
      if (batch !== undefined && batchLastOffset(batch) === entry.offset && batchMaxTimestamp(batch) === entry.timestamp) return entry.offset;
      if (entry.offset < this.logStartOffset) return this.logStartOffset;
      await this.repairIndexes(segment);
      await this.ensureIndexes(segment);
    }
    return segment.baseOffset;
  }

  /** ListOffsets MAX_TIMESTAMP (KIP-734): the record with the largest timestamp (earliest on ties). */
  async maxTimestampAndOffset(): Promise<TimestampAndOffset | undefined> {
    let best: LogSegment | undefined;
    for (const segment of this.segments.slice()) {
      await this.ensureIndexes(segment);
      if ((segment.maxTimestamp ?? -1) > (best?.maxTimestamp ?? -1)) best = segment;
    }
    if (best === undefined) return undefined;
    const maxTimestamp = best.maxTimestamp as number;
    for await (const batch of this.batches(best.offsetOfMaxTimestamp)) {
      return this.timestampAndOffset(batch, (ts) => ts >= maxTimestamp);
    }
    return undefined;
  }

  private timestampAndOffset(batch: Buffer, matches: (ts: number) => boolean): TimestampAndOffset {
    const leaderEpoch = batch.readInt32BE(PARTITION_LEADER_EPOCH_OFFSET);
    const logAppendTime = (batch.readInt16BE(ATTRIBUTES_OFFSET) & TIMESTAMP_TYPE_MASK) !== 0;
    let found: TimestampAndOffset | undefined;
    if (!logAppendTime) {
      forEachRecordTimestamp(batch, 0, batch.length, (offset, timestamp) => {
        if (!matches(timestamp)) return false;
        found = { offset, timestamp, leaderEpoch };
        return true;
      }, this.decompressRecords);
    }
    const fallback = { offset: batchBaseOffset(batch), timestamp: batchMaxTimestamp(batch), leaderEpoch };
    const result = found ?? fallback;
    return { ...result, offset: Math.max(result.offset, this.logStartOffset) };
  }

  // ---------------------------------------------------------------- indexes

  private ensureIndexes(segment: LogSegment): Promise<void> {
    if (segment.indexesLoaded()) return Promise.resolve();
    let loading = this.indexLoads.get(segment);
    if (loading === undefined) {
      loading = this.loadIndexes(segment).finally(() => this.indexLoads.delete(segment));
      this.indexLoads.set(segment, loading);
    }
    return loading;
  }

  /** Index files if they are sane, then a CRC-checked scan of the bytes after the last index entry. */
  private async loadIndexes(segment: LogSegment): Promise<void> {
    const intact = await this.loadIndexFiles(segment);
    if (!intact) {
      const fileBytes = segment.size;
      const result = await this.rebuildIndexes(segment, false);
      this.logger.warn(
        { topic: this.topic, partition: this.partition, segment: segment.logPath, bytes: result.validBytes },
        `index files of ${segment.logPath} were missing or damaged: rebuilt from ${result.validBytes} bytes of the log (offsets ${segment.baseOffset} to ${segment.nextOffset - 1})`,
      );
      if (result.stop !== undefined) this.warnUnreadableTail(segment, fileBytes, result);
    }
    this.noteInactiveIndexes(segment);
  }

  /** An inactive segment's damaged bytes are left on disk but never served: reads stop before them. */
  private warnUnreadableTail(segment: LogSegment, fileBytes: number, result: ScanResult): void {
    const next = this.segments[this.segments.indexOf(segment) + 1];
    const lost = offsetRange(segment.nextOffset, next?.baseOffset);
    this.logger.warn(
      { topic: this.topic, partition: this.partition, segment: segment.logPath, position: result.validBytes, bytes: fileBytes - result.validBytes, stop: result.stop, ...lost.fields },
      `damaged bytes in inactive segment ${segment.logPath} (${result.stop}): ${fileBytes - result.validBytes} bytes from position ${result.validBytes} are not served, ${lost.text}`,
    );
  }

  /** True when the index files were valid and the bytes after them scanned clean to the end. */
  private async loadIndexFiles(segment: LogSegment): Promise<boolean> {
    let [indexBuf, timeBuf] = await Promise.all([readFileIfExists(segment.indexPath), readFileIfExists(segment.timeIndexPath)]);
    // An empty segment's indexes are empty: close() does not write them (see activeIndexesOnDisk).
    if (segment.size === 0 && indexBuf === undefined && timeBuf === undefined) [indexBuf, timeBuf] = [Buffer.alloc(0), Buffer.alloc(0)];
    const next = this.segments[this.segments.indexOf(segment) + 1];
    const maxEntries = this.maxIndexEntries();
    const offsetIndex = indexBuf && OffsetIndex.parse(indexBuf, segment.baseOffset, maxEntries, Math.max(segment.size, 1));
    const timeIndex = timeBuf && TimeIndex.parse(timeBuf, segment.baseOffset, Math.floor((maxEntries * 8) / 12), next?.baseOffset ?? Number.MAX_SAFE_INTEGER);
    if (offsetIndex === undefined || timeIndex === undefined) return false;
    segment.offsetIndex = offsetIndex;
    segment.timeIndex = timeIndex;
    const fileSize = segment.size;
    const result = await this.replayFromLastIndexEntry(segment, fileSize);
    const timeEntryValid = result.stop === undefined && (await this.lastTimeEntryMatches(segment));
    if (!timeEntryValid || segment.size !== fileSize) {
      segment.offsetIndex = undefined;
      segment.timeIndex = undefined;
      segment.size = fileSize;
      return false;
    }
    await this.readFirstBatchTimestamp(segment);
    return true;
  }

  /**
   * Restores maxTimestamp from the time index and replays batches from the last offset-index entry to
   * upToPosition (LogSegment.recover/truncateTo reset their counters the same way).
   */
  private async replayFromLastIndexEntry(segment: LogSegment, upToPosition: number): Promise<ScanResult> {
    const offsetIndex = segment.offsetIndex as OffsetIndex;
    const from = offsetIndex.entries > 0 ? offsetIndex.lookup(Number.MAX_SAFE_INTEGER).position : 0;
    const lastTime = (segment.timeIndex as TimeIndex).lastEntry();
    segment.maxTimestamp = lastTime?.timestamp ?? -1;
    segment.offsetOfMaxTimestamp = lastTime?.offset ?? segment.baseOffset;
    segment.bytesSinceLastIndexEntry = 0;
    segment.size = from;
    if (from === 0) {
      segment.nextOffset = segment.baseOffset;
      segment.firstBatchTimestamp = -1;
    }
    const expected = offsetIndex.entries > 0 ? offsetIndex.lastOffset() : undefined;
    return this.scanInto(segment, from, upToPosition, false, expected);
  }

  /** The segment's largest timestamp comes from the last time-index entry: check it names its batch. */
  private async lastTimeEntryMatches(segment: LogSegment): Promise<boolean> {
    const last = (segment.timeIndex as TimeIndex).lastEntry();
    if (last === undefined) return true;
    const from = (segment.offsetIndex as OffsetIndex).lookup(last.offset).position;
    let matches = false;
    await this.pool.withFile(segment.logPath, false, (fd) => scanSegmentFile(fd, segment.baseOffset, from, segment.size, false, (b) => {
      if (b.lastOffset < last.offset) return true;
      matches = b.lastOffset === last.offset && batchMaxTimestamp(b.buf, b.pos) === last.timestamp;
      return false;
    }));
    return matches;
  }

  private async readFirstBatchTimestamp(segment: LogSegment): Promise<void> {
    if (segment.firstBatchTimestamp >= 0 || segment.size < RECORD_BATCH_OVERHEAD) return;
    const header = await this.preadSegment(segment, 0, RECORD_BATCH_OVERHEAD);
    if (header.length === RECORD_BATCH_OVERHEAD) segment.firstBatchTimestamp = batchMaxTimestamp(header);
  }

  /** Fresh indexes from a full CRC-checked scan; assigns leader epochs when recovering. */
  private async rebuildIndexes(segment: LogSegment, assignEpochs: boolean): Promise<ScanResult> {
    const fileSize = segment.size;
    segment.createIndexes(this.maxIndexEntries());
    segment.size = 0;
    segment.nextOffset = segment.baseOffset;
    segment.firstBatchTimestamp = -1;
    segment.indexesDirty = true;
    const result = await this.scanInto(segment, 0, fileSize, assignEpochs);
    if (segment !== this.activeSegment) segment.indexesDirty = false;
    return result;
  }

  /** Scans [from, to) of the segment file, accounting each valid batch into the segment. */
  private async scanInto(
    segment: LogSegment, from: number, to: number, assignEpochs: boolean, firstLastOffset?: number,
  ): Promise<ScanResult> {
    if (to <= from) {
      segment.writtenSize = segment.size;
      return { validBytes: from, stop: firstLastOffset === undefined ? undefined : 'offsets' };
    }
    let nextProgressBytes = RECOVERY_PROGRESS_BYTES;
    let expectFirst = firstLastOffset;
    let mismatch = false;
    const result = await this.pool.withFile(segment.logPath, false, (fd) => scanSegmentFile(fd, segment.baseOffset, from, to, true, (batch) => {
      // The batch at the last index entry must end at its offset, or the index file is damaged.
      if (expectFirst !== undefined && batch.lastOffset !== expectFirst) {
        mismatch = true;
        return false;
      }
      expectFirst = undefined;
      segment.onBatch(batch.buf, batch.pos, batch.size, batch.position, this.config.indexIntervalBytes);
      if (assignEpochs) this.assignEpochFromBatch(batch.partitionLeaderEpoch, batch.baseOffset);
      if (batch.position >= nextProgressBytes) {
        nextProgressBytes += RECOVERY_PROGRESS_BYTES;
        this.logger.info({ segment: segment.logPath, position: batch.position, size: to }, 'recovering segment');
      }
      return true;
    }));
    segment.writtenSize = segment.size;
    if (mismatch || expectFirst !== undefined) return { validBytes: from, stop: 'offsets' };
    return result;
  }

  private assignEpochFromBatch(epoch: number, baseOffset: number): void {
    const latest = this.leaderEpochCache.latestEpoch();
    if (epoch >= 0 && (latest === undefined || epoch > latest)) this.leaderEpochCache.assign(epoch, baseOffset);
  }

  /** Bounds memory: only the most recently used inactive segments keep their indexes. */
  private noteInactiveIndexes(segment: LogSegment): void {
    if (segment === this.activeSegment || segment.deleted) return;
    const at = this.loadedInactive.indexOf(segment);
    if (at >= 0) this.loadedInactive.splice(at, 1);
    this.loadedInactive.push(segment);
    while (this.loadedInactive.length > INACTIVE_INDEXES_MAX) {
      const evicted = this.loadedInactive.shift() as LogSegment;
      if (evicted !== this.activeSegment) evicted.dropIndexes();
    }
  }

  // ---------------------------------------------------------------- open and recovery

  private async load(options: PartitionLogOptions): Promise<void> {
    await fsp.mkdir(this.dir, { recursive: true });
    const names = await fsp.readdir(this.dir);
    const orphanBases = await this.removeStrayFiles(names);
    await this.loadSegments(names);
    this.warnMissingSegments(orphanBases);
    const epochsIntact = await this.loadLeaderEpochs();
    await this.loadPartitionMetadata();
    if (this.segments.length === 0) {
      const segment = this.newSegment(options.logStartOffset ?? 0);
      this.segments.push(segment);
      await this.createSegmentFile(segment);
    }
    const recoveryPoint = epochsIntact ? (options.recoveryPoint ?? 0) : 0;
    await this.recover(recoveryPoint, (options.cleanShutdown ?? false) && epochsIntact);
    this.finishLoad(options);
  }

  /** Removes temporaries and index files without their log; returns the base offsets of the latter. */
  private async removeStrayFiles(names: string[]): Promise<Set<number>> {
    const logs = new Set(names.filter((n) => n.endsWith(LOG_SUFFIX)).map((n) => n.slice(0, -LOG_SUFFIX.length)));
    const orphanBases = new Set<number>();
    for (const name of names) {
      const orphanIndex = [INDEX_SUFFIX, TIME_INDEX_SUFFIX, TXN_INDEX_SUFFIX].some((s) => name.endsWith(s) && !logs.has(name.slice(0, -s.length)));
      if (orphanIndex) {
        const base = parseOffsetFileName(name, INDEX_SUFFIX) ?? parseOffsetFileName(name, TIME_INDEX_SUFFIX) ?? parseOffsetFileName(name, TXN_INDEX_SUFFIX);
        if (base !== undefined) orphanBases.add(base);
      }
      if (name.endsWith('.tmp') || orphanIndex) await unlinkIfExists(join(this.dir, name));
    }
    return orphanBases;
  }

  /**
   * Index files outlive their `.log` only when the log file was lost: segment deletion unlinks the
   * indexes first (deleteSegmentFiles). Also warns for inactive segments found empty.
   */
  private warnMissingSegments(orphanBases: ReadonlySet<number>): void {
    for (const base of [...orphanBases].sort((a, b) => a - b)) {
      const next = this.segments.find((segment) => segment.baseOffset > base);
      const lost = offsetRange(base, next?.baseOffset);
      this.logger.warn(
        { topic: this.topic, partition: this.partition, segment: join(this.dir, offsetFileName(base, LOG_SUFFIX)), ...lost.fields },
        `segment file ${offsetFileName(base, LOG_SUFFIX)} of ${this.name()} is missing (its index files remain): ${lost.text}`,
      );
    }
    for (let i = 0; i + 1 < this.segments.length; i++) {
      const segment = this.segments[i] as LogSegment;
      if (segment.size > 0) continue;
      const lost = offsetRange(segment.baseOffset, (this.segments[i + 1] as LogSegment).baseOffset);
      this.logger.warn(
        { topic: this.topic, partition: this.partition, segment: segment.logPath, bytes: 0, ...lost.fields },
        `segment ${segment.logPath} is empty though a later segment follows it: ${lost.text}`,
      );
    }
  }

  private async loadSegments(names: string[]): Promise<void> {
    const bases = names.map((n) => parseOffsetFileName(n, LOG_SUFFIX)).filter((o): o is number => o !== undefined).sort((a, b) => a - b);
    const txnIndexes = new Set(names.map((n) => parseOffsetFileName(n, TXN_INDEX_SUFFIX)).filter((o): o is number => o !== undefined));
    for (const base of bases) {
      const segment = new LogSegment(this.dir, base, 0, txnIndexes.has(base));
      const stat = await fsp.stat(segment.logPath);
      segment.size = stat.size;
      segment.writtenSize = stat.size;
      segment.createdMs = stat.mtimeMs;
      segment.maxTimestamp = undefined;
      segment.fileCreated = true;
      this.segments.push(segment);
    }
    for (let i = 0; i + 1 < this.segments.length; i++) {
      (this.segments[i] as LogSegment).nextOffset = (this.segments[i + 1] as LogSegment).baseOffset;
    }
  }

  /** False when the checkpoint exists but is damaged: the caller then recovers every segment. */
  private async loadLeaderEpochs(): Promise<boolean> {
    const text = await readFileIfExists(join(this.dir, LEADER_EPOCH_CHECKPOINT_FILE));
    if (text === undefined) return true;
    this.epochCheckpointExists = true;
    const cache = LeaderEpochCache.parse(text.toString('utf8'));
    if (cache !== undefined) {
      this.leaderEpochCache = cache;
      return true;
    }
    this.logger.warn({ dir: this.dir }, 'damaged leader-epoch-checkpoint: rebuilding from the log');
    this.leaderEpochCache.dirty = true;
    return false;
  }

  private async loadPartitionMetadata(): Promise<void> {
    const path = join(this.dir, PARTITION_METADATA_FILE);
    const text = await readFileIfExists(path);
    const match = text?.toString('utf8').match(/^version: 0\ntopic_id: (\S+)\n?$/);
    if (match !== null && match !== undefined) {
      this.topicId = match[1];
    } else if (this.topicId !== undefined) {
      await writeFileAtomic(path, `version: 0\ntopic_id: ${this.topicId}\n`);
    }
  }

  /**
   * LogLoader.recoverLog: segments from the one holding the recovery point onward are scanned batch by
   * batch; at the first torn or corrupt batch the segment is cut and every later segment deleted.
   */
  private async recover(recoveryPoint: number, cleanShutdown: boolean): Promise<void> {
    if (cleanShutdown && (await this.loadIndexFiles(this.activeSegment))) {
      this.activeIndexesOnDisk = this.activeSegment;
      // The clean close synced every segment: nothing for the next flush or close to sync.
      for (const segment of this.segments) segment.unsyncedWrites = false;
      await this.recoverTxnIndex(this.activeSegment);
      return;
    }
    const first = cleanShutdown ? this.segments.length - 1 : this.segmentIndexFor(recoveryPoint);
    // Below the recovery point too: a rebuild may have indexed markers there again before the crash
    // (entries synced only by the next producer snapshot). Cheap: only segments with an abort have a file.
    for (const segment of cleanShutdown ? [] : this.segments.slice(0, first)) {
      if (!segment.txnIndex.isEmpty()) await this.recoverTxnIndex(segment);
    }
    for (let i = first; i < this.segments.length; i++) {
      const segment = this.segments[i] as LogSegment;
      const started = performance.now();
      const fileBytes = segment.size;
      const result = await this.rebuildIndexes(segment, true);
      // An empty segment (a partition just created, a segment just rolled) had nothing to recover.
      if (result.validBytes > 0 || result.stop !== undefined) {
        this.logger.info({ segment: segment.logPath, bytes: result.validBytes, ms: Math.round(performance.now() - started) }, 'recovered segment');
      }
      if (result.stop !== undefined) await this.cutRecoveredSegment(segment, fileBytes, result, i);
      await this.recoverTxnIndex(segment);
      // Scanned inactive segments get their rebuilt indexes written by the next flush.
      if (segment !== this.activeSegment) this.pendingFinalize.push(segment);
    }
  }

  /**
   * A segment recovery scanned may end with aborted-transaction entries no sync covered: a torn entry,
   * zeros, or a marker recovery cut from the log. The sane prefix stays; the producer state's replay from
   * its snapshot indexes the markers after it again (producer-state-store.ts).
   */
  private async recoverTxnIndex(segment: LogSegment): Promise<void> {
    const cut = await segment.txnIndex.recover(this.pool, segment.nextOffset);
    if (cut === 0) return;
    this.logger.warn(
      { topic: this.topic, partition: this.partition, segment: segment.txnIndex.path, bytes: cut },
      `recovery cut ${cut} bytes from the end of ${segment.txnIndex.path}: entries torn or past the log's end (rebuilt from the log)`,
    );
  }

  private async cutRecoveredSegment(segment: LogSegment, fileBytes: number, result: ScanResult, index: number): Promise<void> {
    const removed = this.segments.splice(index + 1);
    const removedBytes = removed.reduce((sum, s) => sum + s.size, 0);
    const cutBytes = fileBytes - result.validBytes;
    const lost = offsetRange(segment.nextOffset, undefined);
    const what = result.stop === 'torn' ? 'torn' : 'corrupt';
    const later = removed.length === 0 ? '' : ` and ${removed.length} later segment(s) of ${removedBytes} bytes deleted (base offsets ${removed.map((s) => s.baseOffset).join(', ')})`;
    this.logger.warn(
      {
        topic: this.topic, partition: this.partition, segment: segment.logPath, position: result.validBytes, stop: result.stop,
        bytes: cutBytes + removedBytes, segmentsDeleted: removed.map((s) => s.logPath), ...lost.fields,
      },
      `recovery cut a ${what} log tail (${result.stop}) of ${this.name()}: ${cutBytes} bytes from position ${result.validBytes} of ${segment.logPath}${later}; ${lost.text}`,
    );
    await this.pool.withFile(segment.logPath, true, async (fd) => {
      await ftruncateFd(fd, result.validBytes);
      await fdatasyncFd(fd);
    });
    for (const s of removed) await this.deleteSegmentFiles(s);
  }

  /**
   * The node's checkpoints say what the log held: offsets below the recovery point were flushed, below
   * the high watermark acknowledged to acks=-1 producers. A log that now ends below either, or starts
   * above the checkpointed log start offset, lost those offsets (a truncated or deleted file).
   */
  private warnBelowCheckpoints(options: PartitionLogOptions, firstBase: number): void {
    const checkpointedEnd = Math.max(options.recoveryPoint ?? 0, options.highWatermark ?? 0);
    if (this.logEndOffset < checkpointedEnd) {
      const lost = offsetRange(this.logEndOffset, checkpointedEnd);
      this.logger.warn(
        { topic: this.topic, partition: this.partition, logEndOffset: this.logEndOffset, recoveryPoint: options.recoveryPoint, highWatermark: options.highWatermark, ...lost.fields },
        `log ${this.name()} ends at offset ${this.logEndOffset}, below its checkpointed recovery point ${options.recoveryPoint ?? 0} / high watermark ${options.highWatermark ?? 0}: ${lost.text}`,
      );
    }
    const checkpointedStart = options.logStartOffset;
    if (checkpointedStart !== undefined && firstBase > checkpointedStart && checkpointedStart < checkpointedEnd) {
      const lost = offsetRange(checkpointedStart, Math.min(firstBase, checkpointedEnd));
      this.logger.warn(
        { topic: this.topic, partition: this.partition, logStartOffset: checkpointedStart, firstSegmentBaseOffset: firstBase, ...lost.fields },
        `log ${this.name()} starts at offset ${firstBase}, above its checkpointed log start offset ${checkpointedStart} (segments deleted by retention or DeleteRecords just before a crash, or lost): ${lost.text}`,
      );
    }
  }

  private finishLoad(options: PartitionLogOptions): void {
    const active = this.activeSegment;
    active.indexesDirty = true;
    this.logEndOffset = active.nextOffset;
    this.durableEndOffset = this.logEndOffset;
    const firstBase = (this.segments[0] as LogSegment).baseOffset;
    this.logStartOffset = Math.min(Math.max(options.logStartOffset ?? 0, firstBase), this.logEndOffset);
    this.highWatermark = Math.min(Math.max(options.highWatermark ?? 0, this.logStartOffset), this.logEndOffset);
    this.warnBelowCheckpoints(options, firstBase);
    // Scanned but not yet finalised segments hold the recovery point back until their indexes are written.
    this.recoveryPoint = options.cleanShutdown ? this.logEndOffset : (this.pendingFinalize[0] ?? active).baseOffset;
    this.leaderEpochCache.truncateFromEnd(this.logEndOffset);
    this.leaderEpochCache.truncateFromStart(this.logStartOffset);
    this.enqueueIo(() => this.persistEpochsIfDirty()).catch(noop);
    this.enqueueIo(() => deleteSnapshotsOutside(this.dir, 0, this.logEndOffset)).catch(noop);
    if (this.pendingFinalize.length > 0) this.scheduleFlush();
  }

  // ---------------------------------------------------------------- truncation

  /**
   * Removes every batch whose lastOffset ≥ targetOffset (Kafka's LocalLog.truncateTo; a batch is never
   * split, so logEndOffset becomes the end of the last kept batch). Exclusive: no appends meanwhile.
   */
  async truncateTo(targetOffset: number): Promise<void> {
    if (targetOffset >= this.logEndOffset) {
      // Nothing to cut, but an epoch this replica started as leader without appending (its entry sits at
      // the log end) must go: the new leader never had it, and a follower keeping it would send it as
      // LastFetchedEpoch forever (UnifiedLog.truncateTo does the same).
      this.leaderEpochCache.truncateFromEnd(this.logEndOffset);
      if (this.leaderEpochCache.dirty) await this.enqueueIo(() => this.persistEpochsIfDirty());
      return;
    }
    if (targetOffset <= this.logStartOffset) {
      await this.truncateFullyAndStartAt(targetOffset);
      return;
    }
    const logStartOffset = this.logStartOffset;
    await this.exclusively(async () => {
      await this.drainIo();
      const keep = this.lastSegmentIndexBelow(targetOffset);
      for (const s of this.segments.slice(keep + 1)) this.deleteSegment(s);
      this.segments = this.segments.slice(0, keep + 1);
      await this.cutSegment(this.activeSegment, targetOffset);
      this.afterTruncation();
      await this.ioSettled();
    });
    // The batch holding logStartOffset went too (target inside it): start empty at the target instead of
    // exposing offsets below the log start again.
    if (this.logEndOffset < logStartOffset) await this.truncateFullyAndStartAt(targetOffset);
  }

  /** Empties the log and restarts it at offset (follower far behind the leader's log start). */
  async truncateFullyAndStartAt(offset: number): Promise<void> {
    await this.exclusively(async () => {
      await this.drainIo();
      // The new (empty) segment exists before the old ones go, so a crash midway never loses the end.
      const reused = this.segments.find((s) => s.baseOffset === offset);
      const segment = this.newSegment(offset);
      if (reused !== undefined) {
        await this.pool.withFile(reused.logPath, true, (fd) => ftruncateFd(fd, 0));
        await reused.txnIndex.delete(this.pool);
      }
      await this.createSegmentFile(segment);
      for (const s of this.segments) if (s !== reused) this.deleteSegment(s);
      this.segments = [segment];
      this.logStartOffset = offset;
      this.leaderEpochCache.clear();
      this.tail.clear();
      this.afterTruncation();
      this.recoveryPoint = offset;
      await this.ioSettled();
    });
  }

  private async exclusively(op: () => Promise<void>): Promise<void> {
    this.checkWritable();
    this.exclusive = true;
    this.truncations++;
    try {
      await op();
    } finally {
      this.exclusive = false;
    }
    if (this.failure !== undefined) throw this.failure;
  }

  private lastSegmentIndexBelow(offset: number): number {
    let i = this.segments.length - 1;
    while (i > 0 && (this.segments[i] as LogSegment).baseOffset >= offset) i--;
    return i;
  }

  /** Cuts segment at the first batch whose lastOffset ≥ target, then replays its counters. */
  private async cutSegment(segment: LogSegment, targetOffset: number): Promise<void> {
    await this.ensureIndexes(segment);
    let cut = await this.cutPosition(segment, (segment.offsetIndex as OffsetIndex).lookup(targetOffset - 1), targetOffset);
    if (cut === INDEX_MISMATCH) {
      await this.repairIndexes(segment);
      cut = await this.cutPosition(segment, { offset: segment.baseOffset, position: 0 }, targetOffset);
    }
    const position = cut as number;
    await this.pool.withFile(segment.logPath, true, async (fd) => {
      await ftruncateFd(fd, position);
      await fdatasyncFd(fd);
    });
    (segment.offsetIndex as OffsetIndex).truncateTo(targetOffset);
    (segment.timeIndex as TimeIndex).truncateTo(targetOffset);
    // LogSegment.truncateTo: the transactions aborted by the markers cut go from the index too.
    await segment.txnIndex.truncateTo(this.pool, targetOffset);
    const replay = await this.replayFromLastIndexEntry(segment, position);
    if (replay.stop !== undefined) {
      segment.size = position;
      await this.rebuildIndexes(segment, false);
    }
    segment.indexesDirty = true;
  }

  /** Position of the first batch whose lastOffset ≥ target, scanning from an index entry (verified). */
  private async cutPosition(segment: LogSegment, entry: OffsetPosition, targetOffset: number): Promise<number | typeof INDEX_MISMATCH> {
    const verify = !(entry.position === 0 && entry.offset === segment.baseOffset);
    let cut = segment.size;
    let first = true;
    let mismatch = false;
    await this.pool.withFile(segment.logPath, true, (fd) => scanSegmentFile(fd, segment.baseOffset, entry.position, segment.size, false, (b) => {
      if (first && verify && b.lastOffset !== entry.offset) {
        mismatch = true;
        return false;
      }
      first = false;
      if (b.lastOffset < targetOffset) return true;
      cut = b.position;
      return false;
    }));
    if (verify && (mismatch || first)) return INDEX_MISMATCH;
    return cut;
  }

  private afterTruncation(): void {
    const active = this.activeSegment;
    const at = this.pendingFinalize.indexOf(active);
    if (at >= 0) this.pendingFinalize.splice(at, 1);
    const loaded = this.loadedInactive.indexOf(active);
    if (loaded >= 0) this.loadedInactive.splice(loaded, 1);
    this.logEndOffset = active.nextOffset;
    this.durableEndOffset = Math.min(this.durableEndOffset, this.logEndOffset);
    this.tail.truncate(this.logEndOffset);
    this.highWatermark = Math.min(this.highWatermark, this.logEndOffset);
    this.logStartOffset = Math.min(this.logStartOffset, this.logEndOffset);
    this.recoveryPoint = Math.min(this.recoveryPoint, active.baseOffset);
    this.leaderEpochCache.truncateFromEnd(this.logEndOffset);
    this.enqueueIo(() => this.persistEpochsIfDirty()).catch(noop);
    const end = this.logEndOffset;
    this.enqueueIo(() => deleteSnapshotsOutside(this.dir, 0, end)).catch(noop);
  }

  // ---------------------------------------------------------------- log start offset and retention

  /** DeleteRecords: advances logStartOffset (≤ highWatermark) and drops segments wholly below it. */
  async deleteRecords(offset: number): Promise<number> {
    this.checkWritable();
    if (offset > this.highWatermark || offset < 0) {
      throw offsetOutOfRange(offset, this.logStartOffset, this.highWatermark);
    }
    const moved = offset > this.logStartOffset;
    if (moved) {
      this.logStartOffset = offset;
      this.leaderEpochCache.truncateFromStart(offset);
      this.deletePrefix((segment, upper) => upper <= this.logStartOffset && segment.size >= 0);
      this.enqueueIo(() => this.persistEpochsIfDirty()).catch(noop);
    }
    await this.ioSettled();
    if (this.failure !== undefined) throw this.failure;
    const logStartOffset = this.logStartOffset;
    if (moved && this.persistLogStartOffset !== undefined) await this.persistLogStartOffset();
    return logStartOffset;
  }

  /**
   * retention.ms (segment's largest timestamp) then retention.bytes, whole segments only and only those
   * wholly below the high watermark (UnifiedLog.deleteOldSegments). Returns the segments deleted.
   */
  async applyRetention(nowMs = this.clock.nowMs()): Promise<number> {
    if (this.failure !== undefined || this.closed || this.exclusive || !this.config.retentionDeletes) return 0;
    let deleted = 0;
    if (this.config.retentionMs >= 0) {
      for (const segment of this.segments.slice()) {
        await this.ensureIndexes(segment);
        if (nowMs - largestTimestamp(segment) <= this.config.retentionMs) break;
      }
      if (this.exclusive || this.closed) return 0;
      deleted += this.deletePrefix((segment) => segment.maxTimestamp !== undefined
        && nowMs - largestTimestamp(segment) > this.config.retentionMs);
    }
    if (this.config.retentionBytes >= 0) {
      let excess = this.size() - this.config.retentionBytes;
      deleted += this.deletePrefix((segment) => {
        if (excess - segment.size < 0) return false;
        excess -= segment.size;
        return true;
      });
    }
    await this.ioSettled();
    return deleted;
  }

  /**
   * Deletes segments from the front while shouldDelete holds and they lie wholly below the high
   * watermark. The active segment goes too when it is non-empty: a new one is rolled first (as Kafka).
   */
  private deletePrefix(shouldDelete: (segment: LogSegment, upperOffset: number) => boolean): number {
    let deleted = 0;
    while (this.segments.length > 0) {
      const segment = this.segments[0] as LogSegment;
      const isActive = this.segments.length === 1;
      const upper = isActive ? this.logEndOffset : (this.segments[1] as LogSegment).baseOffset;
      if (upper > this.highWatermark || !shouldDelete(segment, upper)) break;
      if (isActive && segment.size === 0) break;
      if (isActive) this.roll(this.logEndOffset);
      this.segments = this.segments.slice(1);
      this.deleteSegment(segment);
      deleted++;
    }
    if (deleted > 0) {
      this.logStartOffset = Math.max(this.logStartOffset, (this.segments[0] as LogSegment).baseOffset);
      this.leaderEpochCache.truncateFromStart(this.logStartOffset);
      this.enqueueIo(() => this.persistEpochsIfDirty()).catch(noop);
    }
    return deleted;
  }

  /** Logical removal now; descriptor retired and files unlinked on the IO chain. */
  private deleteSegment(segment: LogSegment): void {
    segment.deleted = true;
    const loaded = this.loadedInactive.indexOf(segment);
    if (loaded >= 0) this.loadedInactive.splice(loaded, 1);
    this.pool.retire(segment.logPath);
    this.txnIndexPending.delete(segment);
    this.enqueueIo(() => this.deleteSegmentFiles(segment)).catch(noop);
  }

  /** Indexes go first: an index file without its `.log` then always means a lost log file (recovery warns). */
  private async deleteSegmentFiles(segment: LogSegment): Promise<void> {
    segment.deleted = true;
    this.pool.retire(segment.logPath);
    await unlinkIfExists(segment.indexPath);
    await unlinkIfExists(segment.timeIndexPath);
    await segment.txnIndex.delete(this.pool);
    await unlinkIfExists(segment.logPath);
  }

  // ---------------------------------------------------------------- producer snapshots

  /**
   * Writes `<offset>.snapshot` (atomically, with a CRC) for the idempotent-producer state. The aborted
   * transactions with a marker below offset are written and synced to their `.txnindex` first: a restart
   * replays only the markers from the snapshot on, so the index must already hold every one before it.
   */
  writeProducerSnapshot(offset: number, data: Buffer): Promise<void> {
    return this.enqueueIo(async () => {
      await this.writeTxnIndexes(offset);
      for (const segment of this.segments) await segment.txnIndex.sync(this.pool);
      await writeSnapshot(this.dir, offset, data);
    });
  }

  /** Latest intact snapshot at or below logEndOffset. */
  latestProducerSnapshot(): Promise<ProducerSnapshot | undefined> {
    return readLatestSnapshot(this.dir, this.logEndOffset);
  }

  deleteProducerSnapshotsBelow(offset: number): Promise<void> {
    return this.enqueueIo(() => deleteSnapshotsOutside(this.dir, offset, Number.MAX_SAFE_INTEGER));
  }

  // ---------------------------------------------------------------- aborted-transaction index

  /**
   * An ABORT marker just appended at txn.lastOffset closed this transaction (the producer state calls
   * it with no await after the append; UnifiedLog.append → LogSegment.updateTxnIndex). Readable by
   * `collectAbortedTransactions` at once; written to the segment's `.txnindex` once the marker is durable.
   */
  addAbortedTransaction(txn: AbortedTxn): void {
    invariant(txn.lastOffset < this.logEndOffset, () => `aborted transaction at ${txn.lastOffset} past the log end ${this.logEndOffset}`);
    const segment = this.segments[this.segmentIndexFor(txn.lastOffset)] as LogSegment;
    segment.txnIndex.append(txn);
    this.txnIndexPending.add(segment);
    if (txn.lastOffset < this.durableEndOffset) this.scheduleTxnIndexWrite();
  }

  /**
   * Recovery (the producer state replaying the log from its snapshot): indexes the transaction unless its
   * segment's index already ends at or after its marker (entries are appended in marker order).
   */
  async recoverAbortedTransaction(txn: AbortedTxn): Promise<void> {
    if (txn.lastOffset < this.logStartOffset || txn.lastOffset >= this.logEndOffset) return;
    const segment = this.segments[this.segmentIndexFor(txn.lastOffset)] as LogSegment;
    if (txn.lastOffset <= (await segment.txnIndex.lastOffset(this.pool))) return;
    if (segment.deleted) return;
    this.addAbortedTransaction(txn);
  }

  /**
   * The aborted transactions a read_committed fetch of [fetchOffset, upperBoundOffset) reports
   * (UnifiedLog.collectAbortedTransactions): from the segment holding fetchOffset on, each segment's
   * index until one says no later one can overlap the range. Nothing is kept in memory.
   */
  async collectAbortedTransactions(fetchOffset: number, upperBoundOffset: number): Promise<AbortedTxn[]> {
    const out: AbortedTxn[] = [];
    const segments = this.segments;
    for (let i = this.segmentIndexFor(fetchOffset); i < segments.length; i++) {
      const segment = segments[i] as LogSegment;
      // A transaction whose records start in the range may be aborted by a marker segments later.
      if (segment.txnIndex.isEmpty()) continue;
      const result = await segment.txnIndex.collect(this.pool, fetchOffset, upperBoundOffset);
      for (const txn of result.abortedTransactions) out.push(txn);
      if (result.complete) break;
    }
    return out;
  }

  /** Entries appended but not yet written to a `.txnindex`, over every segment (tests; bounded by one flush window's markers). */
  pendingAbortedTransactionCount(): number {
    let count = 0;
    for (const segment of this.txnIndexPending) count += segment.txnIndex.pendingCount;
    return count;
  }

  private scheduleTxnIndexWrite(): void {
    if (this.txnIndexWriteScheduled || this.closed) return;
    this.txnIndexWriteScheduled = true;
    this.enqueueIo(async () => {
      this.txnIndexWriteScheduled = false;
      await this.writeTxnIndexes(this.durableEndOffset);
    }).catch(noop);
  }

  /** Writes (unsynced) the pending entries whose marker is below upToOffset. On the IO chain. */
  private async writeTxnIndexes(upToOffset: number): Promise<void> {
    for (const segment of [...this.txnIndexPending]) await this.writeTxnIndex(segment, upToOffset);
  }

  private async writeTxnIndex(segment: LogSegment, upToOffset: number): Promise<void> {
    if (segment.deleted) {
      this.txnIndexPending.delete(segment);
      return;
    }
    await segment.txnIndex.writePending(this.pool, upToOffset);
    if (segment.txnIndex.pendingCount === 0) this.txnIndexPending.delete(segment);
  }

  /** Every segment's index written and synced (close; the next open trusts them). */
  private async persistTxnIndexes(): Promise<void> {
    await this.writeTxnIndexes(Number.MAX_SAFE_INTEGER);
    for (const segment of this.segments) await segment.txnIndex.sync(this.pool);
  }

  // ---------------------------------------------------------------- close

  /** Clean shutdown: everything written and synced, active indexes written, recoveryPoint = LEO. */
  async close(): Promise<void> {
    if (this.closed) return;
    if (this.failure === undefined) {
      await this.drainIo().catch(noop);
      await this.enqueueIo(() => this.persistTxnIndexes()).catch(noop);
      if (this.activeIndexesCurrent()) this.recoveryPoint = this.logEndOffset;
      else await this.enqueueIo(() => this.writeActiveIndexes()).catch(noop);
    }
    await this.ioSettled();
    this.closed = true;
    if (this.flushTimer !== undefined) clearTimeout(this.flushTimer);
    this.pool.retireUnder(this.dir + sep);
  }

  /**
   * The active segment's index files already say what close() would write: loaded intact at a clean
   * open and nothing appended since, or an empty segment (no files needed, loadIndexFiles). A clean stop
   * of 20,000 idle partitions wrote 40,000 index files (issue 26, defect 3: SIGTERM took minutes).
   */
  private activeIndexesCurrent(): boolean {
    const active = this.activeSegment;
    if (active.size === 0 && this.segments.length === 1) return true;
    return this.activeIndexesOnDisk === active && !active.indexesDirty;
  }

  private async writeActiveIndexes(): Promise<void> {
    const active = this.activeSegment;
    active.onBecomeInactive();
    await this.writeIndexFiles(active);
    await this.persistEpochsIfDirty();
    this.recoveryPoint = this.logEndOffset;
  }

  /** Deletes the log's directory contents (the log manager removes the directory itself). */
  async closeAndDelete(): Promise<void> {
    this.closed = true;
    this.removed = true;
    if (this.flushTimer !== undefined) clearTimeout(this.flushTimer);
    for (const e of this.unwritten) e.durable?.reject(new StorageError(StorageErrorCode.KAFKA_STORAGE_ERROR, 'log deleted'));
    this.unwritten = [];
    await this.ioSettled();
    this.pool.retireUnder(this.dir + sep);
  }
}

/** Offsets [from, to) for a warning; `to` undefined when the end is not known. */
function offsetRange(from: number, to: number | undefined): { fields: { fromOffset: number; toOffset?: number; offsets?: number }; text: string } {
  if (to === undefined) return { fields: { fromOffset: from }, text: `offsets from ${from} on are dropped` };
  return { fields: { fromOffset: from, toOffset: to - 1, offsets: to - from }, text: `offsets ${from} to ${to - 1} (${to - from}) are dropped` };
}

function largestTimestamp(segment: LogSegment): number {
  const ts = segment.maxTimestamp ?? -1;
  return ts >= 0 ? ts : segment.createdMs;
}

/** lastOffset of the last batch in a buffer of whole batches. */
function lastOffsetOfLastBatch(buf: Buffer): number {
  let pos = 0;
  let last = -1;
  while (pos + RECORD_BATCH_OVERHEAD <= buf.length) {
    last = batchLastOffset(buf, pos);
    pos += 12 + buf.readInt32BE(pos + 8);
  }
  return last;
}

function* splitBatches(buf: Buffer): Generator<Buffer> {
  let pos = 0;
  while (pos + RECORD_BATCH_OVERHEAD <= buf.length) {
    const size = 12 + buf.readInt32BE(pos + 8);
    yield buf.subarray(pos, pos + size);
    pos += size;
  }
}

type BatchCut =
  | { kind: 'found'; from: number; to: number }
  | { kind: 'need'; from: number; size: number }
  | { kind: 'end' };

/**
 * Within a window read at an index position: skips batches ending before offset, then takes whole
 * batches below bound up to maxBytes (the first one regardless when minOneBatch, KIP-74). 'need' asks
 * for the window to restart at `from` holding at least `size` bytes.
 */
function findBatches(window: Buffer, offset: number, maxBytes: number, bound: number, minOneBatch: boolean): BatchCut {
  let pos = 0;
  let first = -1;
  let total = 0;
  for (;;) {
    const size = probeBatch(window, pos, window.length, 0x7fffffff);
    if (size < 0 || pos + size > window.length) {
      if (first >= 0) return { kind: 'found', from: first, to: pos };
      if (size < 0 && window.length - pos >= RECORD_BATCH_OVERHEAD) return { kind: 'end' };
      return { kind: 'need', from: pos, size: size > 0 ? size : RECORD_BATCH_OVERHEAD };
    }
    const lastOffset = batchLastOffset(window, pos);
    if (first < 0 && lastOffset < offset) {
      pos += size;
      continue;
    }
    const fits = total + size <= maxBytes || (first < 0 && minOneBatch);
    if (lastOffset >= bound || !fits) return { kind: 'found', from: Math.max(first, 0), to: first < 0 ? 0 : pos };
    if (first < 0) first = pos;
    total += size;
    pos += size;
  }
}
