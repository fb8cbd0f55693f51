/**
 * Storage micro-benchmark: `npm run bench:storage`.
 * Measures, in one run on the data directory's disk (BENCH_DIR, default the OS temp dir):
 *   raw sequential write bandwidth (plain write + fdatasync loop, 1 MiB and 8 MiB writes, the better of
 *   the two), log append throughput with 16 KiB and 1 MiB batches in `fsync` and `none` modes (ratio
 *   log/raw, median of BENCH_REPEATS pairs), sequential read throughput of a 1 GiB log,
 *   and its recovery time (full CRC scan) and clean-open time. BENCH_MB scales the append runs.
 */
import { closeSync, fdatasyncSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { applyLogConfigOverrides, defaultLogConfig } from '../../src/storage/config.js';
import { FilePool } from '../../src/storage/file-pool.js';
import { PartitionLog } from '../../src/storage/partition-log.js';
import { simpleBatch } from '../../test/storage/batch-builder.js';

const KIB = 1024;
const MIB = 1024 * 1024;
const baseDir = process.env.BENCH_DIR ?? tmpdir();
const appendMb = Number(process.env.BENCH_MB ?? 256);
const bigLogMb = Number(process.env.BENCH_BIG_LOG_MB ?? 1024);
const OUTSTANDING_BYTES_MAX = 64 * MIB;
const REPEATS = Number(process.env.BENCH_REPEATS ?? 3);

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] as number;
}

function mbPerSecond(bytes: number, ms: number): number {
  return bytes / MIB / (ms / 1000);
}

function rawWrite(dir: string, chunkBytes: number, totalBytes: number): number {
  const path = join(dir, 'raw.bin');
  const fd = openSync(path, 'w');
  const chunk = Buffer.alloc(chunkBytes, 7);
  const started = performance.now();
  for (let written = 0; written < totalBytes; written += chunkBytes) {
    writeSync(fd, chunk);
    fdatasyncSync(fd);
  }
  const ms = performance.now() - started;
  closeSync(fd);
  rmSync(path);
  return mbPerSecond(totalBytes, ms);
}

/** A batch of about batchBytes (one record). */
function batchOf(batchBytes: number): Buffer {
  return simpleBatch(1, batchBytes - 80);
}

async function openBenchLog(dir: string, mode: string): Promise<PartitionLog> {
  const config = applyLogConfigOverrides(defaultLogConfig, {
    'durability.mode': mode, 'tail.cache.bytes': 0, 'max.message.bytes': 2 * MIB, 'segment.bytes': 1024 * MIB,
  });
  return PartitionLog.open({ dir, topic: 'bench', partition: 0, config, filePool: new FilePool(16) });
}

/** Appends totalBytes in batchBytes batches with up to 64 MiB outstanding, as pipelined producers would. */
async function appendRun(dir: string, mode: string, batchBytes: number, totalBytes: number): Promise<{ mbps: number; log: PartitionLog }> {
  const log = await openBenchLog(dir, mode);
  const template = batchOf(batchBytes);
  const poolSize = Math.ceil(OUTSTANDING_BYTES_MAX / template.length) + 1;
  const buffers = Array.from({ length: poolSize }, () => Buffer.from(template));
  const pending: Array<Promise<void>> = [];
  const count = Math.ceil(totalBytes / template.length);
  // Requests from the network arrive between event-loop turns: yield every ~4 MiB so the group-commit
  // timer can fire while appends continue, as it does in the broker.
  const yieldEvery = Math.max(1, Math.floor((4 * MIB) / template.length));
  const started = performance.now();
  for (let i = 0; i < count; i++) {
    if (pending.length >= poolSize - 1) await pending.shift();
    pending.push(log.append(buffers[i % poolSize] as Buffer, 0).durable);
    if (i % yieldEvery === yieldEvery - 1) await new Promise((resolve) => setImmediate(resolve));
  }
  await Promise.all(pending);
  const ms = performance.now() - started;
  return { mbps: mbPerSecond(count * template.length, ms), log };
}

async function readRun(dir: string): Promise<{ mbps: number; bytes: number }> {
  const log = await openBenchLog(dir, 'none');
  let offset = log.logStartOffset;
  let bytes = 0;
  const started = performance.now();
  while (offset < log.logEndOffset) {
    const r = await log.read(offset, MIB);
    if (r.records.length === 0) break;
    bytes += r.sizeInBytes;
    offset = r.nextOffset;
  }
  const ms = performance.now() - started;
  await log.close();
  return { mbps: mbPerSecond(bytes, ms), bytes };
}

async function timeOpen(dir: string, recoveryPoint: number, clean: boolean): Promise<number> {
  const config = applyLogConfigOverrides(defaultLogConfig, { 'max.message.bytes': 2 * MIB });
  const pool = new FilePool(16);
  const started = performance.now();
  const log = await PartitionLog.open({ dir, topic: 'bench', partition: 0, config, filePool: pool, recoveryPoint, cleanShutdown: clean });
  const ms = performance.now() - started;
  await log.close();
  await pool.closeAll();
  return ms;
}

async function main(): Promise<void> {
  const work = mkdtempSync(join(baseDir, 'runnel-bench-'));
  const rows: string[] = [];
  const line = (name: string, value: string, note = ''): void => {
    rows.push(`| ${name} | ${value} | ${note} |`);
  };
  try {
    const total = appendMb * MIB;
    // This class of virtual disk drifts a lot from second to second, so each log run is paired with a
    // raw run right before it (same bytes) and the median of REPEATS pairs is reported.
    const raw16k = rawWrite(work, 16 * KIB, Math.min(total, 16 * MIB));
    line('raw write+fdatasync, 16 KiB chunks', `${raw16k.toFixed(1)} MB/s`, 'one fsync per 16 KiB: why group commit matters');
    for (const [batchBytes, label] of [[16 * KIB, '16 KiB'], [MIB, '1 MiB']] as const) {
      for (const mode of ['fsync', 'none']) {
        const raws: number[] = [];
        const logs: number[] = [];
        for (let r = 0; r < REPEATS; r++) {
          raws.push(Math.max(rawWrite(work, MIB, total), rawWrite(work, 8 * MIB, total)));
          const dir = join(work, `${mode}-${batchBytes}-${r}`);
          const { mbps, log } = await appendRun(dir, mode, batchBytes, total);
          await log.close();
          rmSync(dir, { recursive: true, force: true });
          logs.push(mbps);
        }
        const raw = median(raws);
        const logMbps = median(logs);
        line(`log append ${label} batches, ${mode}`, `${logMbps.toFixed(1)} MB/s`, `raw ${raw.toFixed(1)} MB/s → log/raw = ${(logMbps / raw * 100).toFixed(0)}%`);
      }
    }
    const bigDir = join(work, 'big');
    const { log: big } = await appendRun(bigDir, 'none', MIB, bigLogMb * MIB);
    await big.close();
    const end = big.logEndOffset;
    const read = await readRun(bigDir);
    line(`read ${bigLogMb} MiB log, 1 MiB fetches`, `${read.mbps.toFixed(1)} MB/s`, 'page cache warm');
    const recoveryMs = await timeOpen(bigDir, 0, false);
    line(`recovery of ${bigLogMb} MiB log (full scan + CRC)`, `${(recoveryMs / 1000).toFixed(2)} s`, `${mbPerSecond(bigLogMb * MIB, recoveryMs).toFixed(0)} MB/s`);
    const cleanMs = await timeOpen(bigDir, end, true);
    line(`clean open of ${bigLogMb} MiB log`, `${cleanMs.toFixed(0)} ms`);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  const cpu = cpus();
  process.stdout.write(`machine: ${cpu[0]?.model ?? 'unknown'} × ${cpu.length}, node ${process.version}, data dir ${baseDir}\n`);
  process.stdout.write(`append runs ${appendMb} MiB each, up to ${OUTSTANDING_BYTES_MAX / MIB} MiB outstanding, median of ${REPEATS}\n\n`);
  process.stdout.write(`| measurement | result | note |\n|---|---|---|\n${rows.join('\n')}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`${String((err as Error)?.stack ?? err)}\n`);
  process.exit(1);
});
