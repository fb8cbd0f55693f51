/**
 * Network fuzz (DESIGN.md 7: "bad input never crashes a node ... fuzzing proves it").
 *
 * A broker runs as a child process (so a crash is seen as an exit, not a failed assertion in the same
 * heap). Many short connections each send a pipelined batch of hostile frames (fuzz-frames.ts) and then
 * half-close; meanwhile one well-formed client keeps asking ApiVersions and Metadata and checks every
 * answer. Afterwards: the broker is alive, every fuzz connection was closed by the broker, resident
 * memory grew by less than a bound, and SIGTERM still shuts it down cleanly.
 *
 * FUZZ_FRAMES (default 100000) sets the frame count, FUZZ_WORKERS (default 24) the concurrent connections,
 * FUZZ_SEED replays a run; the seed is printed.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { connect } from 'node:net';
import { once } from 'node:events';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { Prng } from '../../src/common/prng.js';
import { ApiKey } from '../../src/protocol/generated/index.js';
import { BUILTIN_HANDLERS } from '../../src/broker/handlers/index.js';
import { RawClient } from '../network/raw-client.js';
import { FrameDecoder } from '../../src/network/frame-decoder.js';
import { call } from '../broker/kafka-test-client.js';
import { fuzzFrame, type FrameKind } from './fuzz-frames.js';
import { Reader } from '../../src/protocol/reader.js';
import { decodeRequestHeader } from '../../src/protocol/headers.js';
import { decodeRequest } from '../../src/protocol/generated/index.js';

const frameTarget = Number(process.env.FUZZ_FRAMES ?? 100_000);
const seed = Number(process.env.FUZZ_SEED ?? Math.floor(Math.random() * 2 ** 31));
const workerCount = Number(process.env.FUZZ_WORKERS ?? 24);
const batchFramesMax = 4;
const connectionCloseTimeoutMs = 10_000;
/** Resident memory the broker may gain over the run (after warm-up). */
const rssGrowthBytesMax = 160 * 1024 * 1024;

interface Stats {
  /** Connections still open after the close timeout because the broker parks a Fetch for longer (allowed). */
  heldByParkedFetch: number;
  framesSent: number;
  /** Frames the broker read: those answered plus the one that made it close a connection early. */
  framesConsumed: number;
  responses: number;
  connections: number;
  byKind: Partial<Record<FrameKind, number>>;
}

interface BrokerProcess {
  child: ChildProcess;
  port: number;
  stderr: () => string;
  /** Log lines at error level or above after the start line: a bug, not a bad client. */
  errorLines: string[];
}

async function startBrokerProcess(dataDir: string): Promise<BrokerProcess> {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', 'src/cli/main.ts', 'start', '--port', '0', '--data-dir', dataDir],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => { stderr = (stderr + chunk.toString()).slice(-10_000); });
  const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
  const errorLines: string[] = [];
  let started: ((port: number) => void) | null = null;
  const startedPort = new Promise<number>((resolve) => { started = resolve; });
  const lines = createInterface({ input: child.stdout! });
  lines.on('line', (line) => {
    const entry = JSON.parse(line) as { msg?: string; listener?: string; level?: number };
    if ((entry.level ?? 0) >= 50 && errorLines.length < 100) errorLines.push(line);
    if (entry.msg === 'runnel broker started') started?.(Number(/:(\d+)$/.exec(entry.listener ?? '')?.[1]));
  });
  const exited = once(child, 'exit').then(() => -1);
  const port = await Promise.race([startedPort, exited]);
  clearTimeout(timer);
  if (port > 0) return { child, port, stderr: () => stderr, errorLines };
  throw new Error(`broker did not start: ${stderr}`);
}

async function residentBytes(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/^VmRSS:\s+(\d+) kB$/m.exec(status)?.[1] ?? NaN);
  return kb * 1024;
}

/** One connection: a pipelined batch of fuzz frames, then half-close; resolves when the broker closes. */
async function fuzzConnection(port: number, prng: Prng, stats: Stats, correlationBase: number): Promise<void> {
  const frames = Array.from({ length: prng.int(1, batchFramesMax) }, (_, i) => fuzzFrame(prng, correlationBase + i));
  const socket = connect({ port, host: '127.0.0.1' });
  socket.on('error', () => {});
  await once(socket, 'connect');
  // Answers must be well-framed: a broken size prefix here would throw out of the decoder.
  const decoder = new FrameDecoder(1024 * 1024);
  let answered = 0;
  socket.on('data', (chunk: Buffer) => {
    decoder.push(chunk);
    for (let frame = decoder.next(); frame !== null; frame = decoder.next()) answered++;
  });
  // Not events.once: it rejects on the 'error' that destroy(error) emits below.
  const closed = new Promise<[boolean]>((resolve) => socket.once('close', (hadError: boolean) => resolve([hadError])));
  const sent = Buffer.concat(frames.map((f) => f.bytes));
  socket.end(sent);
  stats.framesSent += frames.length;
  stats.connections++;
  for (const f of frames) stats.byKind[f.kind] = (stats.byKind[f.kind] ?? 0) + 1;
  // A Fetch whose max_wait_ms a mutation made long is parked that long, and its connection answers it
  // before it closes, as Kafka's does (its channel stays muted until the answer is sent): up to
  // parkedFetchAllowanceMs more is waited for, a longer park is let go (counted, not a failure).
  const parkedMs = longestFetchWaitMs(sent);
  const parkedLong = connectionCloseTimeoutMs + parkedMs > parkedFetchAllowanceMs;
  const timer = setTimeout(() => socket.destroy(new Error(parkedLong ? 'parked fetch' : 'broker kept a fuzz connection open')),
    parkedLong ? connectionCloseTimeoutMs : connectionCloseTimeoutMs + parkedMs);
  const [hadError] = await closed;
  clearTimeout(timer);
  if (hadError && socket.errored?.message === 'parked fetch') stats.heldByParkedFetch++;
  else assert.equal(decoder.bufferedByteCount, 0, `seed ${seed}: a response frame was cut short`);
  stats.responses += answered;
  stats.framesConsumed += Math.min(frames.length, answered + 1);
  assert.equal(hadError && socket.errored?.message === 'broker kept a fuzz connection open', false,
    `seed ${seed}: a fuzz connection was not closed by the broker within ${connectionCloseTimeoutMs + parkedMs} ms`);
}

/** Longest wait for a fuzz connection held open by a parked Fetch before it is let go. */
const parkedFetchAllowanceMs = 30_000;

/**
 * The longest max_wait_ms among the Fetch requests the broker reads from `bytes` (framed as it frames
 * them: the first bad or unfinished size prefix ends what it reads), 0 when there is none.
 */
function longestFetchWaitMs(bytes: Buffer): number {
  let longest = 0;
  for (let at = 0; at + 4 <= bytes.length;) {
    const size = bytes.readInt32BE(at);
    if (size < 0 || at + 4 + size > bytes.length) break;
    const body = bytes.subarray(at + 4, at + 4 + size);
    at += 4 + size;
    try {
      const reader = new Reader(body);
      const header = decodeRequestHeader(reader);
      if (header.requestApiKey !== ApiKey.Fetch || header.requestApiVersion < 4 || header.requestApiVersion > 18) continue;
      longest = Math.max(longest, decodeRequest(ApiKey.Fetch, header.requestApiVersion, reader).maxWaitMs);
    } catch {
      // not a Fetch the broker decodes: answered with an error or the connection is closed
    }
  }
  return longest;
}

// Every registered handler, as ApiVersions sorts them (the list grows as handlers land).
const expectedApis = [...BUILTIN_HANDLERS]
  .sort((a, b) => a.apiKey - b.apiKey)
  .map((h) => ({ apiKey: h.apiKey, minVersion: h.minVersion, maxVersion: h.maxVersion }));

/**
 * The well-formed client: keeps asking and checking until told to stop. Like a real Kafka client it
 * reconnects when the broker closes its connection: under the fuzz's memory pressure the broker may close
 * a connection whose (starved) reader has not taken its answers for `connections.max.stalled.ms` (issue
 * #26's stall reclaim, documented). Reconnections are counted and bounded; an answer that is wrong, or a
 * broker that stops accepting, still fails the test.
 */
async function probe(port: number, running: () => boolean): Promise<{ probes: number; reconnects: number }> {
  let client = await RawClient.connect(port);
  let probes = 0;
  let reconnects = 0;
  try {
    for (let round = 0; round < 1_000_000 && running(); round++) {
      try {
        const versions = await call(client, ApiKey.ApiVersions, 3, { clientSoftwareName: 'probe', clientSoftwareVersion: '1', clusterId: null, nodeId: -1 });
        assert.equal(versions.body.errorCode, 0);
        assert.deepEqual(versions.body.apiKeys, expectedApis);
        const metadata = await call(client, ApiKey.Metadata, 12, {
          topics: null, allowAutoTopicCreation: true, includeClusterAuthorizedOperations: false, includeTopicAuthorizedOperations: false,
        });
        assert.deepEqual(metadata.body.brokers, [{ nodeId: 1, host: '127.0.0.1', port, rack: null }]);
        assert.equal(metadata.trailingBytes, 0);
        probes++;
      } catch (error) {
        if (!/connection closed/.test((error as Error).message) || !running() || reconnects >= PROBE_RECONNECTS_MAX) throw error;
        reconnects++;
        client.destroy();
        client = await RawClient.connect(port);
      }
      await sleep(10);
    }
  } finally {
    client.destroy();
  }
  return { probes, reconnects };
}

const PROBE_RECONNECTS_MAX = 1000;

// 5 ms a frame: 100,000 frames took 190-300 s on the shared 2-core VM at load 20-55.
test(`network fuzz: ${frameTarget} hostile frames never crash the broker (seed ${seed})`, { timeout: Math.max(300_000, frameTarget * 5) }, async (t) => {
  t.diagnostic(`FUZZ_SEED=${seed} FUZZ_FRAMES=${frameTarget}`);
  const dataDir = await mkdtemp(join(tmpdir(), 'runnel-fuzz-'));
  const broker = await startBrokerProcess(dataDir);
  let exited = false;
  broker.child.on('exit', () => { exited = true; });
  const pid = broker.child.pid!;
  const stats: Stats = { heldByParkedFetch: 0, framesSent: 0, framesConsumed: 0, responses: 0, connections: 0, byKind: {} };
  try {
    let fuzzing = true;
    const probing = probe(broker.port, () => fuzzing && !exited);
    // A failing probe stops the workers (its error is what the test reports, below); a failing worker
    // stops the probe before the broker is killed, so the first failure is the one reported.
    probing.catch(() => { fuzzing = false; });
    let baselineRss = 0;
    let peakRss = 0;
    const startedMs = performance.now();
    const workers = Array.from({ length: workerCount }, async (_, worker) => {
      const prng = new Prng(seed + worker);
      for (let round = 0; round < frameTarget && stats.framesConsumed < frameTarget && fuzzing && !exited; round++) {
        await fuzzConnection(broker.port, prng, stats, (worker << 24) + round * batchFramesMax);
        if (baselineRss === 0 && stats.framesConsumed >= frameTarget / 20) baselineRss = await residentBytes(pid);
        if (round % 50 === 0) peakRss = Math.max(peakRss, await residentBytes(pid));
      }
    });
    try {
      await Promise.all(workers);
    } catch (error) {
      fuzzing = false;
      await probing.catch(() => {});
      throw error;
    }
    const elapsedMs = performance.now() - startedMs;
    fuzzing = false;
    const { probes, reconnects } = await probing;
    assert.equal(exited, false, `seed ${seed}: the broker exited during the fuzz:\n${broker.stderr()}`);
    assert.deepEqual(broker.errorLines, [], `seed ${seed}: the broker logged errors (bugs, not bad input)`);
    const finalRss = await residentBytes(pid);
    peakRss = Math.max(peakRss, finalRss);
    t.diagnostic(
      `${stats.framesConsumed} frames read by the broker (${stats.framesSent} sent) over ${stats.connections} ` +
      `connections in ${(elapsedMs / 1000).toFixed(1)} s (${Math.round(stats.framesConsumed / (elapsedMs / 1000))} ` +
      `frames/s); ${stats.responses} frames answered; ` +
      `${probes} probe rounds (${reconnects} reconnects after the broker closed the probe's connection); ` +
      `${stats.heldByParkedFetch} connections held by a Fetch parked past ${parkedFetchAllowanceMs} ms; RSS baseline ${mib(baselineRss)}, peak ${mib(peakRss)}, final ${mib(finalRss)}; ` +
      `kinds ${JSON.stringify(stats.byKind)}`,
    );
    assert.ok(stats.framesConsumed >= frameTarget);
    assert.ok(probes > 0, 'the well-formed client got answers during the fuzz');
    assert.ok(finalRss - baselineRss < rssGrowthBytesMax, `RSS grew ${mib(finalRss - baselineRss)}`);
    broker.child.kill('SIGTERM');
    const [code] = exited ? [broker.child.exitCode] : await once(broker.child, 'exit');
    assert.equal(code, 0, `broker did not shut down cleanly: ${broker.stderr()}`);
  } finally {
    if (!exited) broker.child.kill('SIGKILL');
    await rm(dataDir, { recursive: true, force: true });
  }
});

function mib(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}
