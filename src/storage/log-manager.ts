/**
 * All partition logs of one node under `<dataDir>/wal/{topic}/{partition}/` (DESIGN §4), after Kafka's
 * LogManager: loads (recovers) every log at startup with bounded concurrency, creates and deletes logs,
 * holds per-topic configuration changeable at runtime, runs the retention loop and writes the per-node
 * checkpoints file `<dataDir>/checkpoints` (recovery point, log start offset, high watermark).
 */
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { systemClock, type Clock } from '../common/clock.js';
import type { RecordsDecompressor } from '../protocol/record-batch.js';
import { formatCheckpoint, parseCheckpoint, parseOffset } from './checkpoint-file.js';
import { applyLogConfigOverrides, defaultLogConfig, type LogConfig } from './config.js';
import { StorageError, StorageErrorCode } from './errors.js';
import { FilePool } from './file-pool.js';
import { fsyncDirectory, readFileIfExists, unlinkIfExists, writeFileAtomic } from './fs-util.js';
import { PartitionLog, silentLogger, type StorageLogger } from './partition-log.js';

export const WAL_DIR = 'wal';
export const CHECKPOINTS_FILE = 'checkpoints';
/** Present only between a clean close and the next open: recovery can skip scanning. */
export const CLEAN_SHUTDOWN_FILE = 'storage-clean-shutdown';

const TOPIC_NAME = /^[a-zA-Z0-9._-]{1,249}$/;
/** A long load logs its progress this often. */
const LOAD_PROGRESS_INTERVAL_MS = 5_000;
const PARTITION_MAX = 1_000_000;
const DELETING_MARK = '.deleting-';

export interface LogManagerOptions {
  dataDir: string;
  /** Broker-level defaults (log.segment.bytes …, as Kafka names without the `log.` prefix). */
  defaults?: Readonly<Record<string, string | number>>;
  /** Per-topic overrides known at startup (from the metadata image). */
  topicConfigs?: Readonly<Record<string, Readonly<Record<string, string | number>>>>;
  clock?: Clock;
  logger?: StorageLogger;
  /** Open segment descriptors across all partitions. */
  openFilesMax?: number;
  /** log.retention.check.interval.ms */
  retentionCheckIntervalMs?: number;
  /** log.flush.offset.checkpoint.interval.ms */
  checkpointIntervalMs?: number;
  recoveryThreads?: number;
  /** Node-wide bound of all tail caches, shared equally by the partitions (default 256 MiB). */
  tailCacheBytesTotal?: number;
  /** Passed to every log: record-exact timestamp lookups in compressed batches. */
  decompressRecords?: RecordsDecompressor;
  /** Passed to every log: told the time of each synced write, in ms (the log flush metric). */
  onLogFlush?: (ms: number) => void;
}

export interface TopicPartition {
  topic: string;
  partition: number;
}

interface CheckpointEntry {
  recoveryPoint: number;
  logStartOffset: number;
  highWatermark: number;
}

export class LogManager {
  readonly walDir: string;
  private readonly logsByKey = new Map<string, PartitionLog>();
  private readonly topicOverrides = new Map<string, Readonly<Record<string, string | number>>>();
  private readonly defaults: LogConfig;
  private readonly pool: FilePool;
  private readonly clock: Clock;
  private readonly logger: StorageLogger;
  private retentionTimer: ReturnType<typeof setInterval> | undefined;
  private checkpointTimer: ReturnType<typeof setInterval> | undefined;
  private retentionRunning = false;
  private checkpointWrites: Promise<void> = Promise.resolve();
  private deletions = 0;
  private closed = false;

  private constructor(private readonly options: LogManagerOptions) {
    this.walDir = join(options.dataDir, WAL_DIR);
    this.defaults = applyLogConfigOverrides(defaultLogConfig, options.defaults ?? {});
    this.pool = new FilePool(options.openFilesMax ?? 1024);
    this.clock = options.clock ?? systemClock;
    this.logger = options.logger ?? silentLogger;
    for (const [topic, overrides] of Object.entries(options.topicConfigs ?? {})) this.topicOverrides.set(topic, overrides);
  }

  /** Opens the data directory and loads (recovering as needed) every partition log in it. */
  static async open(options: LogManagerOptions): Promise<LogManager> {
    const manager = new LogManager(options);
    await manager.loadAll();
    return manager;
  }

  get openFileCount(): number {
    return this.pool.openCount;
  }

  getLog(topic: string, partition: number): PartitionLog | undefined {
    return this.logsByKey.get(key(topic, partition));
  }

  allLogs(): PartitionLog[] {
    return [...this.logsByKey.values()];
  }

  topicConfig(topic: string): LogConfig {
    return applyLogConfigOverrides(this.defaults, this.topicOverrides.get(topic) ?? {});
  }

  /** Replaces topic's overrides (Kafka names); applies to its open logs at once. Throws INVALID_CONFIG. */
  setTopicConfig(topic: string, overrides: Readonly<Record<string, string | number>>): void {
    const config = applyLogConfigOverrides(this.defaults, overrides);
    this.topicOverrides.set(topic, { ...overrides });
    for (const log of this.logsByKey.values()) if (log.topic === topic) log.updateConfig(config);
  }

  /** Creates the log (idempotent: an existing one is returned). */
  async createLog(topic: string, partition: number, topicId?: string): Promise<PartitionLog> {
    this.checkOpen();
    checkTopicPartition(topic, partition);
    const existing = this.getLog(topic, partition);
    if (existing !== undefined) return existing;
    const dir = join(this.walDir, topic, String(partition));
    await fsp.mkdir(dir, { recursive: true });
    await fsyncDirectory(join(this.walDir, topic));
    const log = await this.openLog(topic, partition, dir, undefined, false, topicId);
    const raced = this.getLog(topic, partition);
    if (raced !== undefined) return raced;
    this.logsByKey.set(key(topic, partition), log);
    this.shareTailCacheSoon();
    return log;
  }

  /**
   * Replaces a failed log (an IO error, e.g. a full disk: PartitionLog fails for good on the first one)
   * by the same directory reopened with recovery, as after a crash: what the failure left half written
   * is cut, no acknowledged batch is lost (acknowledged = written, and synced in fsync mode). First a
   * probe file is written, synced and removed in the log's directory, so while the disk still fails
   * this throws and the failed log stays. Issue 26, defect 4: before, a partition failed by a full disk
   * answered KAFKA_STORAGE_ERROR until the broker restarted. (Kafka instead takes the whole log
   * directory offline until a restart; a single-directory broker would then serve nothing.)
   */
  async reopenFailedLog(topic: string, partition: number): Promise<PartitionLog> {
    this.checkOpen();
    const failed = this.getLog(topic, partition);
    if (failed === undefined || !failed.isFailed()) throw new Error(`log ${topic}-${partition} is not failed`);
    await probeWritable(failed.dir);
    await failed.close();
    const checkpoint = { recoveryPoint: failed.recoveryPoint, logStartOffset: failed.logStartOffset, highWatermark: failed.highWatermark };
    const log = await this.openLog(topic, partition, failed.dir, checkpoint, false, failed.topicId);
    if (this.getLog(topic, partition) !== failed || this.closed) {
      await log.close();
      throw new StorageError(StorageErrorCode.KAFKA_STORAGE_ERROR, `log ${topic}-${partition} was removed while it was reopened`);
    }
    this.logsByKey.set(key(topic, partition), log);
    this.shareTailCache();
    return log;
  }

  /** Closes the log and removes its directory (renamed first, so a crash midway leaves no half log). */
  async deleteLog(topic: string, partition: number): Promise<void> {
    const log = this.getLog(topic, partition);
    if (log === undefined) return;
    this.logsByKey.delete(key(topic, partition));
    this.shareTailCache();
    await log.closeAndDelete();
    const doomed = `${log.dir}${DELETING_MARK}${this.clock.nowMs()}-${this.deletions++}`;
    await fsp.rename(log.dir, doomed);
    await fsyncDirectory(join(this.walDir, topic));
    await fsp.rm(doomed, { recursive: true, force: true });
    await fsp.rmdir(join(this.walDir, topic)).catch(() => undefined);
  }

  /** Starts the retention and checkpoint loops (timers unref'd: they never keep the process alive). */
  startBackgroundTasks(): void {
    if (this.retentionTimer !== undefined || this.closed) return;
    const retentionMs = this.options.retentionCheckIntervalMs ?? 300_000;
    const checkpointMs = this.options.checkpointIntervalMs ?? 60_000;
    this.retentionTimer = setInterval(() => { this.runRetentionOnce().catch(() => undefined); }, retentionMs);
    this.checkpointTimer = setInterval(() => { this.writeCheckpoints().catch(() => undefined); }, checkpointMs);
    this.retentionTimer.unref();
    this.checkpointTimer.unref();
  }

  /** One retention pass over every log; returns the number of segments deleted. */
  async runRetentionOnce(): Promise<number> {
    if (this.retentionRunning || this.closed) return 0;
    this.retentionRunning = true;
    let deleted = 0;
    try {
      const nowMs = this.clock.nowMs();
      for (const log of this.allLogs()) {
        deleted += await log.applyRetention(nowMs).catch((err: unknown) => {
          this.logger.warn({ err, topic: log.topic, partition: log.partition }, 'retention failed');
          return 0;
        });
      }
    } finally {
      this.retentionRunning = false;
    }
    return deleted;
  }

  /** Writes `<dataDir>/checkpoints` atomically; writes are serialised (timer and close may overlap). */
  writeCheckpoints(): Promise<void> {
    const write = async (): Promise<void> => {
      const lines = this.allLogs().map((l) => `${l.topic} ${l.partition} ${l.recoveryPoint} ${l.logStartOffset} ${l.highWatermark}`);
      await writeFileAtomic(join(this.options.dataDir, CHECKPOINTS_FILE), formatCheckpoint(0, lines));
    };
    const run = this.checkpointWrites.then(write, write);
    this.checkpointWrites = run.catch(() => undefined);
    return run;
  }

  /** Clean shutdown: closes every log, writes checkpoints and the clean-shutdown marker. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.retentionTimer !== undefined) clearInterval(this.retentionTimer);
    if (this.checkpointTimer !== undefined) clearInterval(this.checkpointTimer);
    const logs = this.allLogs();
    await Promise.all(logs.map((l) => l.close()));
    await this.writeCheckpoints();
    if (logs.every((l) => !l.isFailed())) {
      await writeFileAtomic(join(this.options.dataDir, CLEAN_SHUTDOWN_FILE), '');
    }
    await this.pool.closeAll();
  }

  private tailCacheShareScheduled = false;

  /**
   * Once per event-loop turn however many logs were created in it: sharing after each of 20,000 creations
   * was O(n²) (issue 26, defect 3). A new log is empty, so its share may lag a turn.
   */
  private shareTailCacheSoon(): void {
    if (this.tailCacheShareScheduled) return;
    this.tailCacheShareScheduled = true;
    setImmediate(() => {
      this.tailCacheShareScheduled = false;
      this.shareTailCache();
    });
  }

  private shareTailCache(): void {
    const total = this.options.tailCacheBytesTotal ?? 256 * 1024 * 1024;
    const share = Math.floor(total / Math.max(1, this.logsByKey.size));
    for (const log of this.logsByKey.values()) log.tailCacheShareBytes = share;
  }

  private checkOpen(): void {
    if (this.closed) throw new StorageError(StorageErrorCode.KAFKA_STORAGE_ERROR, 'log manager is closed');
  }

  private async openLog(
    topic: string, partition: number, dir: string, checkpoint: CheckpointEntry | undefined, clean: boolean, topicId?: string,
  ): Promise<PartitionLog> {
    return PartitionLog.open({
      dir, topic, partition, config: this.topicConfig(topic), filePool: this.pool, clock: this.clock, logger: this.logger, onLogFlush: this.options.onLogFlush,
      recoveryPoint: checkpoint?.recoveryPoint, logStartOffset: checkpoint?.logStartOffset,
      highWatermark: checkpoint?.highWatermark, cleanShutdown: clean && checkpoint !== undefined, topicId,
      decompressRecords: this.options.decompressRecords,
      persistLogStartOffset: () => this.writeCheckpoints(),
    });
  }

  private async loadAll(): Promise<void> {
    await fsp.mkdir(this.walDir, { recursive: true });
    await this.removeTemporaries();
    const markerPath = join(this.options.dataDir, CLEAN_SHUTDOWN_FILE);
    const clean = (await readFileIfExists(markerPath)) !== undefined;
    const checkpoints = await this.readCheckpoints();
    const found = await this.findLogDirs();
    const started = performance.now();
    let next = 0;
    let loggedMs = started;
    const worker = async (): Promise<void> => {
      while (next < found.length) {
        const { topic, partition } = found[next++] as TopicPartition;
        const dir = join(this.walDir, topic, String(partition));
        const log = await this.openLog(topic, partition, dir, checkpoints.get(key(topic, partition)), clean);
        this.logsByKey.set(key(topic, partition), log);
        // Progress of a long load (issue 26, defect 3: a 45 s start said nothing until it was done).
        if (performance.now() - loggedMs >= LOAD_PROGRESS_INTERVAL_MS) {
          loggedMs = performance.now();
          this.logger.info({ loaded: this.logsByKey.size, of: found.length, clean, ms: Math.round(loggedMs - started) }, 'loading logs');
        }
      }
    };
    const threads = Math.max(1, this.options.recoveryThreads ?? 4);
    await Promise.all(Array.from({ length: threads }, worker));
    this.shareTailCache();
    await unlinkIfExists(markerPath);
    // A first start has no marker but nothing to recover either: not an unclean shutdown (issue #27).
    const previousShutdown = found.length === 0 && checkpoints.size === 0 && !clean ? 'none' : clean ? 'clean' : 'unclean';
    this.logger.info({ logs: found.length, previousShutdown, ms: Math.round(performance.now() - started) }, 'logs loaded');
  }

  /** Temporaries of atomic writes a crash interrupted (only this module's own files). */
  private async removeTemporaries(): Promise<void> {
    for (const name of await fsp.readdir(this.options.dataDir)) {
      const ours = name.startsWith(`${CHECKPOINTS_FILE}.`) || name.startsWith(`${CLEAN_SHUTDOWN_FILE}.`);
      if (ours && name.endsWith('.tmp')) await unlinkIfExists(join(this.options.dataDir, name));
    }
  }

  private async readCheckpoints(): Promise<Map<string, CheckpointEntry>> {
    const result = new Map<string, CheckpointEntry>();
    const text = await readFileIfExists(join(this.options.dataDir, CHECKPOINTS_FILE));
    if (text === undefined) return result;
    const entries = parseCheckpoint(text.toString('utf8'), 0, 5);
    if (entries === undefined) {
      this.logger.warn({ dataDir: this.options.dataDir }, 'damaged checkpoints file: full recovery');
      return result;
    }
    for (const [topic, partition, recoveryPoint, logStartOffset, highWatermark] of entries) {
      const values = [partition, recoveryPoint, logStartOffset, highWatermark].map(parseOffset);
      if (values.some((v) => v === undefined || v < 0)) continue;
      const [p, rp, lso, hw] = values as number[];
      result.set(key(topic as string, p as number), { recoveryPoint: rp as number, logStartOffset: lso as number, highWatermark: hw as number });
    }
    return result;
  }

  /** wal/{topic}/{partition} directories; leftovers of interrupted deletions are removed. */
  private async findLogDirs(): Promise<TopicPartition[]> {
    const found: TopicPartition[] = [];
    for (const topic of await fsp.readdir(this.walDir)) {
      if (!TOPIC_NAME.test(topic) || topic === '.' || topic === '..') continue;
      const topicDir = join(this.walDir, topic);
      if (!(await fsp.stat(topicDir)).isDirectory()) continue;
      for (const name of await fsp.readdir(topicDir)) {
        if (name.includes(DELETING_MARK)) {
          await fsp.rm(join(topicDir, name), { recursive: true, force: true });
          continue;
        }
        if (name.endsWith('.tmp')) continue;
        const partition = Number(name);
        if (/^\d{1,7}$/.test(name) && partition <= PARTITION_MAX) found.push({ topic, partition });
      }
    }
    return found;
  }
}

/** Bytes the recovery probe writes: a disk that cannot take them cannot take a producer's batch either. */
const PROBE_BYTES = 64 * 1024;

async function probeWritable(dir: string): Promise<void> {
  const path = join(dir, `.probe-${process.pid}.tmp`);
  try {
    const handle = await fsp.open(path, 'w');
    try {
      await handle.write(Buffer.alloc(PROBE_BYTES));
      await handle.datasync();
    } finally {
      await handle.close();
    }
  } finally {
    await unlinkIfExists(path).catch(() => undefined);
  }
}

function key(topic: string, partition: number): string {
  return `${topic}\u0000${partition}`;
}

function checkTopicPartition(topic: string, partition: number): void {
  const valid = TOPIC_NAME.test(topic) && topic !== '.' && topic !== '..'
    && Number.isInteger(partition) && partition >= 0 && partition <= PARTITION_MAX;
  if (!valid) throw new StorageError(StorageErrorCode.INVALID_TOPIC_EXCEPTION, `invalid topic-partition ${topic}-${partition}`);
}
