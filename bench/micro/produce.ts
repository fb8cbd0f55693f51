/**
 * Produce-path micro-benchmark: `npm run bench:produce -- [--requests N] [--acks 1|-1|0] [--durability fsync|none] [--set key=value]…`.
 * The broker runs in this process; one raw connection sends pre-encoded Produce v9 requests shaped like
 * ProducerPerformance's at batch.size=16384 (3 partitions × one 16 KiB batch of 100-byte records, valid
 * CRC-32C), at most 5 in flight (max.in.flight.requests.per.connection), and only reads the response
 * sizes. The client side costs next to nothing, so the process CPU per million messages is close to the
 * broker's own (decode, validation, append, flush, response encode, socket writes), without a JVM on
 * the same cores. Also prints GC count and pause time (PerformanceObserver 'gc'). No assertion on timing.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { PerformanceObserver, constants, performance } from 'node:perf_hooks';
import { connect, type Socket } from 'node:net';
import { RunnelNode } from '../../src/node/runnel-node.js';
import { resolveConfig } from '../../src/config/config.js';
import { ApiKey } from '../../src/protocol/generated/index.js';
import { requestFrame } from '../../test/broker/kafka-test-client.js';
import { buildBatch } from '../../test/storage/batch-builder.js';

function arg(name: string, fallback: string): string {
  const index = process.argv.indexOf(`--${name}`);
  return index >= 0 && process.argv[index + 1] !== undefined ? process.argv[index + 1] as string : fallback;
}

const requests = Number(arg('requests', '6000'));
const acks = Number(arg('acks', '1'));
const durability = arg('durability', 'fsync');
const partitions = 3;
const recordBytes = 100;
const inFlightMax = 5;
/** Records per 16 KiB batch: 100-byte values cost ~108 bytes each in a v2 batch. */
const recordsPerBatch = Math.floor((16384 - 61) / (recordBytes + 8));
const topic = 'produce-bench';

const dir = await mkdtemp(join(tmpdir(), 'runnel-produce-bench-'));
const overrides: Array<[string, string]> = [['log.dirs', dir], ['listeners', 'PLAINTEXT://127.0.0.1:0'], ['log.durability.mode', durability]];
// --set key=value (repeatable): any other broker setting, e.g. --set log.flush.window.ms=0.
process.argv.forEach((a, i) => {
  const setting = process.argv[i + 1];
  if (a === '--set' && setting !== undefined && setting.includes('=')) overrides.push([setting.slice(0, setting.indexOf('=')), setting.slice(setting.indexOf('=') + 1)]);
});
const node = await RunnelNode.start({ config: resolveConfig({ overrides }).config });
const broker = node.broker!;
try {
  const created = await broker.services.topicCreator.create({ name: topic, numPartitions: partitions, replicationFactor: 1 });
  if (created.errorCode !== 0) throw new Error(`create ${topic}: error ${created.errorCode}`);
  await broker.services.replicaManager.whenIdle();
  const frames = encodeFrames(64);
  const socket = await open(broker.port);
  const gc = { count: 0, ms: 0, majorCount: 0, majorMs: 0 };
  const observer = new PerformanceObserver((list) => { for (const e of list.getEntries()) {
    gc.count++;
    gc.ms += e.duration;
    // perf_hooks.constants.NODE_PERFORMANCE_GC_MAJOR: mark-compact, what promoted request buffers cost.
    if ((e as { detail?: { kind?: number } }).detail?.kind === constants.NODE_PERFORMANCE_GC_MAJOR) { gc.majorCount++; gc.majorMs += e.duration; }
  } });
  observer.observe({ entryTypes: ['gc'] });
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await drive(socket, frames);
  const seconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  observer.disconnect();
  socket.destroy();
  const messages = requests * partitions * recordsPerBatch;
  const cpuSeconds = (cpu.user + cpu.system) / 1e6;
  console.log(`${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, Node ${process.version}; durability ${durability}, acks ${acks}, ${requests} requests × ${partitions} × ${recordsPerBatch} records of ${recordBytes} B`);
  console.log(`${Math.round(messages / seconds).toLocaleString('en-US')} msg/s, ${(messages * recordBytes / seconds / 1e6).toFixed(1)} MB/s, `
    + `process CPU ${(cpuSeconds / (messages / 1e6)).toFixed(3)} s/M msg (user ${(cpu.user / 1e6).toFixed(2)} s, system ${(cpu.system / 1e6).toFixed(2)} s), `
    + `${Math.round(cpuSeconds * 1e6 / requests)} µs/request, GC ${gc.count}× ${gc.ms.toFixed(0)} ms (mark-compact ${gc.majorCount}× ${gc.majorMs.toFixed(0)} ms)`);
} finally {
  await node.close();
  await rm(dir, { recursive: true, force: true });
}

function encodeFrames(count: number): Buffer[] {
  const value = Buffer.alloc(recordBytes, 120);
  const now = Date.now();
  return Array.from({ length: count }, (_, i) => requestFrame(ApiKey.Produce, 9, i, {
    transactionalId: null, acks, timeoutMs: 30_000,
    topicData: [{
      name: topic,
      topicId: '00000000-0000-0000-0000-000000000000',
      partitionData: Array.from({ length: partitions }, (_unused, index) => ({
        index, records: buildBatch({ baseTimestamp: now, records: Array.from({ length: recordsPerBatch }, () => ({ value })) }),
      })),
    }],
  }, 'producer-bench'));
}

function open(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect({ port, host: '127.0.0.1', noDelay: true }, () => resolve(socket));
    socket.once('error', reject);
  });
}

/** Keeps inFlightMax requests outstanding (none awaited for acks=0) until every one is answered. */
function drive(socket: Socket, frames: Buffer[]): Promise<void> {
  return new Promise((resolve, reject) => {
    let sent = 0;
    let answered = 0;
    let pending: Buffer = Buffer.alloc(0);
    const fill = (): void => {
      while (sent < requests && (acks === 0 || sent - answered < inFlightMax)) {
        socket.write(frames[sent % frames.length] as Buffer);
        sent++;
      }
      if (acks === 0 && sent === requests) socket.end(() => resolve());
    };
    socket.on('data', (chunk: Buffer) => {
      pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
      while (pending.length >= 4 && pending.length >= 4 + pending.readInt32BE(0)) {
        pending = pending.subarray(4 + pending.readInt32BE(0));
        answered++;
      }
      if (answered === requests) resolve();
      else fill();
    });
    socket.once('error', reject);
    socket.once('close', () => { if (answered < requests && acks !== 0) reject(new Error(`closed after ${answered} answers`)); });
    fill();
  });
}
