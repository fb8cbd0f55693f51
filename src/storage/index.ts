/**
 * Runnel storage: one segmented log per partition, Kafka's on-disk layout (DESIGN §4).
 *
 *   <dataDir>/wal/{topic}/{partition}/
 *     00000000000000000000.log        record batches v2, verbatim (offsets and leader epoch stamped in place)
 *     00000000000000000000.index      sparse lastOffset → position, every index.interval.bytes (8-byte entries)
 *     00000000000000000000.timeindex  sparse max timestamp → offset (12-byte entries)
 *     00000000000000000000.txnindex   aborted transactions whose ABORT marker is in the segment (Kafka's
 *                                     AbortedTxn, 34-byte entries; transaction-index.ts), once there is one
 *     leader-epoch-checkpoint         epoch → start offset (KIP-101/279)
 *     partition.metadata              topic id
 *     <offset>.snapshot               idempotent-producer state (opaque to storage, CRC-framed)
 *   <dataDir>/checkpoints             recovery point, log start offset, high watermark per partition
 *   <dataDir>/storage-clean-shutdown  present only after a clean close
 *
 * ## LogManager (log-manager.ts)
 *   const logs = await LogManager.open({ dataDir, defaults?, topicConfigs?, clock?, logger?, openFilesMax?,
 *                                        retentionCheckIntervalMs?, checkpointIntervalMs? });
 *   logs.getLog(topic, partition): PartitionLog | undefined
 *   await logs.createLog(topic, partition, topicId?)     idempotent
 *   await logs.deleteLog(topic, partition)
 *   logs.setTopicConfig(topic, { 'retention.ms': 1000, 'segment.bytes': ..., 'message.timestamp.type': 'LogAppendTime',
 *                                'durability.mode': 'fsync' | 'none', 'flush.window.ms': 0, ... })  (INVALID_CONFIG on bad values)
 *   logs.startBackgroundTasks()   retention + checkpoint loops;  await logs.runRetentionOnce()
 *   await logs.close()            clean shutdown
 *
 * ## PartitionLog (partition-log.ts) — one owner, called from the single JS thread
 *   Fields: logStartOffset, logEndOffset, highWatermark, recoveryPoint, topicId, config.
 *
 *   append(records: Buffer, leaderEpoch): AppendResult                                  [sync]
 *     records = the partition's Produce `records` bytes (one or more whole v2 batches). Validates magic,
 *     lengths, CRC-32C, recordsCount vs lastOffsetDelta, max.message.bytes, CreateTime bounds, and that
 *     the records parse (protocol/records.ts walkRecords; compressed ones decompressed to check, never
 *     re-encoded) and have keys on compact topics (INVALID_RECORD, with recordErrors) — all batches
 *     before any byte is touched — then assigns offsets from logEndOffset IN CALL ORDER by patching
 *     baseOffset/partitionLeaderEpoch in place (LogAppendTime: maxTimestamp + attribute set, CRC recomputed).
 *     The Buffer is retained (tail cache, pending write): do not reuse it.
 *     Returns { baseOffset, lastOffset, logAppendTimeMs (-1 for CreateTime), logStartOffset, durable }.
 *     `durable` resolves when the bytes are durable (fsync: after an O_DSYNC pwritev or fdatasync, group-
 *     committed: the next flush starts when the previous one is on disk, or while it is for two synced
 *     writes into the active segment, at most once per flush.window.ms; none:
 *     after the write to the page cache), in append order; it rejects with a StorageError(KAFKA_STORAGE_ERROR)
 *     on IO failure. It is never an unhandled rejection (acks=0 may ignore it).
 *     Throws RecordBatchError (.errorCode: CORRUPT_MESSAGE 2, INVALID_TIMESTAMP 32,
 *     UNSUPPORTED_FOR_MESSAGE_FORMAT 43, INVALID_RECORD 87) or StorageError (MESSAGE_TOO_LARGE 10,
 *     RECORD_LIST_TOO_LARGE 18, KAFKA_STORAGE_ERROR 56). It does not check idempotent sequences or reject
 *     client control batches: that is the Produce handler's job.
 *   appendAsFollower(records): AppendResult                                              [sync]
 *     Keeps the leader's offsets/epochs; offsets must be ≥ logEndOffset and increasing (else StorageError
 *     OFFSET_OUT_OF_RANGE / CORRUPT_MESSAGE); CRC checked.
 *   await read(offset, maxBytes, upperBound = ∞, minOneBatch = true): LogReadResult
 *     { records: Buffer[], sizeInBytes, nextOffset, highWatermark, logStartOffset, logEndOffset }.
 *     Whole batches starting with the one containing offset; the first even if > maxBytes when minOneBatch
 *     (KIP-74); none whose lastOffset ≥ upperBound (pass highWatermark for consumers, logEndOffset for
 *     followers). Buffers go to the socket as they are (tail cache: no disk read for tailing readers).
 *     Throws StorageError OFFSET_OUT_OF_RANGE outside [logStartOffset, logEndOffset].
 *   onAppend = (logEndOffset) => void     produce hook, called synchronously after each append
 *   updateHighWatermark(offset): number                                                  [sync]
 *   endOffsetForEpoch(leaderEpoch): { leaderEpoch, endOffset }   KIP-101/279 (-1/-1 when unknown) [sync]
 *   latestEpoch(): number | undefined                                                    [sync]
 *   await truncateTo(offset)             drops batches with lastOffset ≥ offset; logEndOffset = end of the last kept
 *                                        batch (= offset at batch boundaries). Exclusive: no append meanwhile.
 *   await truncateFullyAndStartAt(offset)
 *   await deleteRecords(offset): newLogStartOffset     offset ≤ highWatermark else OFFSET_OUT_OF_RANGE
 *   await applyRetention(nowMs?): segmentsDeleted      (the LogManager loop calls it)
 *   await offsetForTimestamp(ts): { offset, timestamp, leaderEpoch } | undefined   first offset with ts ≥ ts
 *   await maxTimestampAndOffset(): same | undefined   ListOffsets MAX_TIMESTAMP (KIP-734)
 *   batchHeaders(fromOffset, upTo?): AsyncGenerator<RecordBatchHeader>   producerId, producerEpoch,
 *     baseSequence, lastOffsetDelta, isTransactional, isControl, … — for rebuilding producer state
 *   batches(fromOffset, upTo?): AsyncGenerator<Buffer>
 *   await writeProducerSnapshot(offset, data) · await latestProducerSnapshot(): { offset, data } | undefined
 *   await deleteProducerSnapshotsBelow(offset)    (snapshots above logEndOffset vanish on truncation/recovery)
 *   await flush()   write + fsync everything now;   await close()
 *
 * ## Recovery (at open)
 *   Segments from the one holding the checkpointed recovery point onward are scanned batch by batch
 *   (structure, CRC-32C, monotonic offsets); the first torn/corrupt batch cuts the log there and later
 *   segments are deleted; indexes are rebuilt; the leader-epoch cache is re-derived from the scanned
 *   batches and truncated to the log end. Index files of older segments load lazily (bounded: a few per
 *   partition stay in memory); a damaged one is rebuilt, and every index entry is checked against the batch
 *   it names when used, so an index never sends a read to the wrong place. After a clean close only the
 *   active segment's bytes past its last index entry are scanned.
 *
 * ## Bounds
 *   Open descriptors: LogManager openFilesMax (LRU, `.log` and `.txnindex` files; 10,000 partitions fit in 64).
 *   Tail cache: tail.cache.bytes per partition and LogManager tailCacheBytesTotal shared by all partitions;
 *   unwritten batches always stay cached until written (the network layer bounds what is in flight).
 *   A cached view pins at most 4× its size (or 256 KiB) of its backing buffer: records that are a smaller
 *   share of a larger buffer are copied at append.
 *
 * ## Not here
 *   Idempotent sequence checks, control-batch rules, compaction, which transactions aborted: the producer
 *   state hands each one to addAbortedTransaction / recoverAbortedTransaction (storage writes, syncs,
 *   recovers, truncates and deletes the `.txnindex` files; collectAbortedTransactions reads them).
 *   Timestamp lookups are record-exact in uncompressed and compressed batches (a batch whose records do
 *   not decompress answers at batch level, its baseOffset).
 */
export { LogManager, WAL_DIR, CHECKPOINTS_FILE, CLEAN_SHUTDOWN_FILE } from './log-manager.js';
export type { LogManagerOptions, TopicPartition } from './log-manager.js';
export { PartitionLog, silentLogger } from './partition-log.js';
export type {
  AppendResult, LogReadResult, PartitionLogOptions, StorageLogger, TimestampAndOffset,
} from './partition-log.js';
export { applyLogConfigOverrides, defaultLogConfig } from './config.js';
export type { DurabilityMode, LogConfig } from './config.js';
export { StorageError, StorageErrorCode } from './errors.js';
export { FilePool } from './file-pool.js';
export { LeaderEpochCache, UNDEFINED_EPOCH, UNDEFINED_EPOCH_OFFSET } from './leader-epoch-cache.js';
export type { EpochEndOffset, EpochEntry } from './leader-epoch-cache.js';
export type { ProducerSnapshot } from './producer-snapshots.js';
