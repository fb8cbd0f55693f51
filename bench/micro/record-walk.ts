/**
 * Record-walk micro-benchmark: `npm run bench:records`. The cost of the check every leader append makes
 * (protocol/records.ts validateBatchRecords: records parse; compressed batches decompressed first), as
 * CPU-seconds per million records, per codec, for two batch shapes: ProducerPerformance's (batch.size=16384
 * → 150 records of 100 bytes) and franz-go's (up to 1 MB → 9,000 records). Values are random capital
 * letters, as both load generators send. Also counts garbage collections during the uncompressed walk:
 * the walk allocates nothing, so none may happen (a young-generation GC only runs when allocation fills it).
 * The last row of each shape is the lz4 path before the tuning pass (lz4-napi's decoder, which allocates
 * its output per call), for comparison with src/protocol/lz4.ts in the same run.
 * Single-threaded, in this process; compare runs on the same machine only. No assertion on timing.
 */
import { cpus } from 'node:os';
import { PerformanceObserver, performance } from 'node:perf_hooks';
import { compressFrameSync, decompressFrameSync } from 'lz4-napi';
import { validateBatchRecords, walkRecords } from '../../src/protocol/records.js';
import { encodeRecord, frameBatch, recordBatch } from '../../test/replication/batches.js';

const msAt = process.argv.indexOf('--ms');
const measureMs = msAt >= 0 ? Number(process.argv[msAt + 1]) : 1500;
const CODECS: Array<[string, number]> = [['none', 0], ['gzip', 1], ['snappy', 2], ['lz4', 3], ['zstd', 4]];
const SHAPES: Array<[string, number]> = [['16 KiB batch (150 records)', 150], ['1 MB batch (9,000 records)', 9000]];

let state = 12345;
/** xorshift32 letters: random capital letters as ProducerPerformance and franz-perf send. */
function letters(n: number): Buffer {
  const out = Buffer.allocUnsafe(n);
  for (let i = 0; i < n; i++) {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    out[i] = 0x41 + ((state >>> 0) % 26);
  }
  return out;
}

let gcs = 0;
new PerformanceObserver((list) => { gcs += list.getEntries().length; }).observe({ entryTypes: ['gc'] });

type Check = (batch: Buffer) => string | undefined;
const options = { origin: 'client' } as const;
const walk: Check = (batch) => validateBatchRecords(batch, 0, batch.length, options);
/** The lz4 path before the tuning pass: lz4-napi's decoder, which allocates its output per call. */
const walkViaLz4Napi: Check = (batch) => {
  const records = decompressFrameSync(batch.subarray(61));
  return walkRecords(records, 0, records.length, batch.readInt32BE(57), batch.readInt32BE(23), options);
};

async function run(batch: Buffer, records: number, check: Check): Promise<{ cpuSecPerMillion: number; gcs: number; calls: number }> {
  for (const end = performance.now() + 200; performance.now() < end;) check(batch);
  await new Promise((resolve) => setTimeout(resolve, 50)); // GC entries of the warm-up arrive first
  const gcsBefore = gcs;
  const cpuBefore = process.cpuUsage();
  const end = performance.now() + measureMs;
  let calls = 0;
  while (performance.now() < end) {
    for (let i = 0; i < 10; i++) {
      if (check(batch) !== undefined) throw new Error('bench batch refused');
    }
    calls += 10;
  }
  const cpu = process.cpuUsage(cpuBefore);
  const cpuSec = (cpu.user + cpu.system) / 1e6;
  await new Promise((resolve) => setTimeout(resolve, 50)); // GC entries are delivered asynchronously
  return { cpuSecPerMillion: cpuSec / ((calls * records) / 1e6), gcs: gcs - gcsBefore, calls };
}

async function main(): Promise<void> {
  console.log(`node ${process.version} · ${cpus()[0]?.model ?? 'cpu'} · ${cpus().length} cores · ${measureMs} ms per row`);
  console.log('shape | codec | batch bytes | CPU-s / M records | ns / record | GCs during the run | calls');
  for (const [shapeName, count] of SHAPES) {
    const recs = Array.from({ length: count }, () => ({ key: null, value: letters(100) }));
    // franz-go's lz4 frames (pierrec/lz4 defaults) carry a content checksum the check must verify.
    const raw = Buffer.concat(recs.map((r, i) => encodeRecord(r, i)));
    const lz4Checksummed = frameBatch(compressFrameSync(raw, { contentChecksum: true }), count, { compression: 3 });
    const rows: Array<[string, Buffer, Check]> = [
      ...CODECS.map(([name, codec]): [string, Buffer, Check] => [name, recordBatch(recs, { compression: codec }), walk]),
      ['lz4 + content checksum', lz4Checksummed, walk],
      ['lz4 via lz4-napi', recordBatch(recs, { compression: 3 }), walkViaLz4Napi],
    ];
    for (const [codecName, batch, check] of rows) {
      await new Promise((resolve) => setTimeout(resolve, 50)); // let pending GC entries arrive
      const r = await run(batch, count, check);
      console.log(`${shapeName} | ${codecName} | ${batch.length} | ${r.cpuSecPerMillion.toFixed(3)} | ${(r.cpuSecPerMillion * 1000).toFixed(0)} | ${r.gcs} | ${r.calls}`);
    }
  }
}

void main();
