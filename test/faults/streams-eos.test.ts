/**
 * Kafka Streams (the kafka-streams 4.4.0 jar from Maven Central) with processing.guarantee=exactly_once_v2
 * running a word count end to end (test/interop/streams, WordCount.java): the input lines are written by
 * an idempotent producer, the topology (flatMap → repartition → count in a store with a changelog → output)
 * runs in transactions, and a read_committed consumer of the output must see every word's exact count —
 * a record processed twice, or an aborted transaction's output read, would show as a count above it.
 * 1. Single node (the standalone broker), STREAMS_EOS_INPUTS lines (default 1,000,000).
 * 2. Three nodes (`runnel start` processes), STREAMS_EOS_CLUSTER_INPUTS lines (default 1,000,000), with a
 *    kill -9 of one node (seeded) mid-run and its restart 10 s later.
 * Skipped without java and the built program (scripts/interop/setup.sh --only streams).
 * Each run prints the cluster's finalized transaction.version (the brokers inherit RUNNEL_TRANSACTION_VERSION,
 * the level a new cluster starts at) and the load average, to compare v1 and v2 transactions.
 * STREAMS_EOS_METRICS=1: every broker serves /metrics; the requests, errors and mean time per API are
 * printed at the end (a restarted node's since its restart). With `--cpu-prof` in RUNNEL_FAULT_NODE_FLAGS
 * the brokers are stopped with SIGTERM at the end, so Node writes their profiles.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { INTEROP_CACHE, freePort, kill9, prng, seedFromEnv, startBrokerChild, stopClean, type BrokerChild } from './standalone-broker.js';
import { startProcessCluster, type ProcessCluster } from './replication-cluster.js';
import { ApiKey } from '../../src/protocol/generated/index.js';
import { RawClient } from '../network/raw-client.js';
import { call } from '../broker/kafka-test-client.js';

const STREAMS = join(INTEROP_CACHE, 'streams', 'target');
const INPUTS = Number(process.env.STREAMS_EOS_INPUTS ?? '1000000');
const CLUSTER_INPUTS = Number(process.env.STREAMS_EOS_CLUSTER_INPUTS ?? '1000000');
const RUN_S = Number(process.env.STREAMS_EOS_RUN_S ?? '900');
const METRICS = process.env.STREAMS_EOS_METRICS === '1';
/** Profiled brokers must exit cleanly for Node to write their .cpuprofile. */
const PROFILING = (process.env.RUNNEL_FAULT_NODE_FLAGS ?? '').includes('--cpu-prof');

function streamsMissing(): string {
  if (spawnSync('java', ['-version']).status !== 0) return 'no java on PATH';
  if (!existsSync(join(STREAMS, 'classes', 'dev', 'runnel', 'streams', 'WordCount.class'))) return `no WordCount program in ${STREAMS} (scripts/interop/setup.sh --only streams)`;
  return '';
}

interface Result { ok: boolean; detail: string; ms: number; events: string }

/** Runs WordCount <mode> <bootstrap> <inputs> <arg>; its last JSON line is the result. */
function wordCount(mode: 'produce' | 'run', bootstrap: string, inputs: number, arg: string, timeoutMs: number): Promise<Result> {
  const started = Date.now();
  return new Promise((resolve) => {
    const child = spawn('java', ['-Xmx768m', '-cp', `${join(STREAMS, 'classes')}:${join(STREAMS, 'deps')}/*`, 'dev.runnel.streams.WordCount', mode, bootstrap, String(inputs), arg],
      { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => { out = (out + d.toString()).slice(-20_000); });
    child.stderr.on('data', (d: Buffer) => { err = (err + d.toString()).slice(-4_000); });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('close', (code) => {
      clearTimeout(timer);
      const ms = Date.now() - started;
      const lines = out.split('\n');
      const line = lines.reverse().find((l) => l.startsWith('{"client"'));
      // The program's own lines: Streams state changes and stream-thread deaths, as they happened.
      const events = lines.reverse().filter((l) => l !== '' && !l.startsWith('{"client"')).join(' | ').slice(-6000);
      if (line === undefined) { resolve({ ok: false, detail: `no result line (exit ${code}): ${(err || out).slice(-1000)}`, ms, events }); return; }
      const r = JSON.parse(line) as { ok: boolean; detail: string };
      resolve({ ok: r.ok, detail: r.detail, ms, events });
    });
  });
}

async function transactionalIds(port: number): Promise<string[]> {
  const client = await RawClient.connect(port);
  try {
    const r = await call(client, ApiKey.ListTransactions, 0, { stateFilters: [], producerIdFilters: [], durationFilter: -1n, transactionalIdPattern: null });
    return r.body.transactionStates.map((s) => `${s.transactionalId} (${s.transactionState})`);
  } finally {
    client.destroy();
  }
}

/**
 * The cluster's finalized transaction.version as ApiVersions v4 reports it (0 when not finalized): the
 * brokers inherit RUNNEL_TRANSACTION_VERSION, the bootstrap level, so a run says which protocol it measured.
 */
async function finalizedTransactionVersion(port: number): Promise<number> {
  const client = await RawClient.connect(port);
  try {
    const r = await call(client, ApiKey.ApiVersions, 4, { clientSoftwareName: 'streams-eos-test', clientSoftwareVersion: '1', clusterId: null, nodeId: -1 });
    return r.body.finalizedFeatures.find((f) => f.name === 'transaction.version')?.maxVersionLevel ?? 0;
  } finally {
    client.destroy();
  }
}

/**
 * Requests, error codes and mean time per API summed over the brokers' /metrics (Kafka's RequestMetrics
 * names), busiest first: `Produce 1234 (2.1 ms) …; errors: Produce CONCURRENT_TRANSACTIONS 5 …`.
 */
async function requestSummary(metricsPorts: readonly number[]): Promise<string> {
  const requests = new Map<string, number>();
  const seconds = new Map<string, number>();
  const errors = new Map<string, number>();
  const add = (m: Map<string, number>, k: string, v: number): void => { m.set(k, (m.get(k) ?? 0) + v); };
  for (const port of metricsPorts) {
    const text = await fetch(`http://127.0.0.1:${port}/metrics`, { signal: AbortSignal.timeout(10_000) }).then((r) => r.text()).catch(() => '');
    for (const line of text.split('\n')) {
      const m = /^(kafka_network_request_metrics_\w+)\{request="(\w+)"(?:,error="(\w+)")?\} (\S+)$/.exec(line);
      if (m === null) continue;
      const [, name, request, error, value] = m as unknown as [string, string, string, string | undefined, string];
      if (name === 'kafka_network_request_metrics_requests_total') add(requests, request, Number(value));
      else if (name === 'kafka_network_request_metrics_total_time_seconds_sum') add(seconds, request, Number(value));
      else if (name === 'kafka_network_request_metrics_errors_total') add(errors, `${request} ${error ?? '?'}`, Number(value));
    }
  }
  const perApi = [...requests].sort((a, b) => b[1] - a[1])
    .map(([api, n]) => `${api} ${n} (${((1000 * (seconds.get(api) ?? 0)) / Math.max(1, n)).toFixed(1)} ms)`);
  const errs = [...errors].sort((a, b) => b[1] - a[1]).map(([k, n]) => `${k} ${n}`);
  return `${perApi.join(', ')}; errors: ${errs.join(', ') || 'none'}`;
}

/**
 * CPU seconds (user + system) a broker process used so far, from /proc (Linux; clock ticks at the usual
 * 100 Hz); 0 elsewhere. Less sensitive than wall time to the other work on a shared machine.
 */
function cpuSeconds(pid: number | undefined): number {
  if (pid === undefined) return 0;
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /, '').split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return 0;
  }
}

const load = (): string => loadavg().map((l) => l.toFixed(2)).join(' ');

test('Kafka Streams exactly_once_v2 word count on a single node: exact counts at read_committed', { skip: streamsMissing() || false, timeout: (RUN_S + 600) * 1000 }, async (t) => {
  const dataDir = await mkdtemp(join(tmpdir(), 'runnel-streams-eos-'));
  let broker: BrokerChild | undefined;
  try {
    const metricsPort = await freePort();
    broker = await startBrokerChild(dataDir, await freePort(), METRICS ? { RUNNEL_METRICS_LISTENER: `127.0.0.1:${metricsPort}` } : {});
    t.diagnostic(`finalized transaction.version ${await finalizedTransactionVersion(Number(broker.bootstrap.split(':')[1]))}; load average ${load()}`);
    const produced = await wordCount('produce', broker.bootstrap, INPUTS, '1', 600_000);
    t.diagnostic(`produce (${produced.ms} ms): ${produced.detail}`);
    assert.ok(produced.ok, produced.detail);
    const run = await wordCount('run', broker.bootstrap, INPUTS, String(RUN_S), (RUN_S + 120) * 1000);
    t.diagnostic(`run (${run.ms} ms, load average ${load()}, broker CPU ${cpuSeconds(broker.child.pid).toFixed(1)} s since its start): ${run.detail}`);
    t.diagnostic(`streams events: ${run.events}`);
    assert.ok(run.ok, `word count: ${run.detail}`);
    // exactly_once_v2 ran in transactions: the coordinator knows the application's transactional ids.
    const ids = await transactionalIds(Number(broker.bootstrap.split(':')[1]));
    t.diagnostic(`transactional ids: ${ids.join(', ')}`);
    if (METRICS) t.diagnostic(`requests: ${await requestSummary([metricsPort])}`);
    assert.ok(ids.some((id) => id.startsWith('wc-eos-')), `no wc-eos transactional id among ${ids.join(', ')}`);
  } catch (e) {
    if (broker) t.diagnostic(`broker log tail: ${broker.log().slice(-3000)}`);
    throw e;
  } finally {
    if (broker) await (PROFILING ? stopClean(broker) : kill9(broker));
    await rm(dataDir, { recursive: true, force: true });
  }
});

test('Kafka Streams exactly_once_v2 word count on three nodes across kill -9 of a broker: exact counts at read_committed', { skip: streamsMissing() || false, timeout: (RUN_S + 900) * 1000 }, async (t) => {
  const seed = seedFromEnv();
  const random = prng(seed);
  const victim = 1 + Math.floor(random() * 3);
  const killAfterMs = 10_000 + Math.floor(random() * 10_000);
  t.diagnostic(`seed ${seed} (STANDALONE_SEED=${seed} replays): kill -9 of node ${victim} ${killAfterMs} ms into the run`);
  const root = await mkdtemp(join(tmpdir(), 'runnel-streams-eos-cluster-'));
  let cluster: ProcessCluster | undefined;
  try {
    const metricsPorts = [await freePort(), await freePort(), await freePort()];
    cluster = await startProcessCluster(root, 3, { 'transaction.state.log.replication.factor': '3', 'transaction.state.log.min.isr': '2' },
      (id): Record<string, string> => (METRICS ? { 'metrics.listener': `127.0.0.1:${metricsPorts[id - 1] ?? 0}` } : {}));
    t.diagnostic(`finalized transaction.version ${await finalizedTransactionVersion(cluster.node(1).port)}; load average ${load()}`);
    const produced = await wordCount('produce', cluster.bootstrap, CLUSTER_INPUTS, '3', 600_000);
    t.diagnostic(`produce (${produced.ms} ms): ${produced.detail}`);
    assert.ok(produced.ok, produced.detail);
    const running = wordCount('run', cluster.bootstrap, CLUSTER_INPUTS, String(RUN_S), (RUN_S + 120) * 1000);
    let finished = false;
    void running.then(() => { finished = true; });
    await new Promise((r) => setTimeout(r, killAfterMs));
    assert.equal(finished, false, 'the word count finished before the kill: make it longer (STREAMS_EOS_CLUSTER_INPUTS)');
    const victimCpu = cpuSeconds(cluster.node(victim).child?.pid);
    await cluster.kill9(victim);
    t.diagnostic(`node ${victim} killed`);
    await new Promise((r) => setTimeout(r, 10_000));
    await cluster.start(victim);
    t.diagnostic(`node ${victim} restarted`);
    const run = await running;
    const cpu = cluster.nodes.map((n) => cpuSeconds(n.child?.pid) + (n.id === victim ? victimCpu : 0));
    t.diagnostic(`run (${run.ms} ms, load average ${load()}, brokers' CPU ${cpu.map((c) => c.toFixed(1)).join(' + ')} = ${cpu.reduce((a, b) => a + b, 0).toFixed(1)} s since their start): ${run.detail}`);
    t.diagnostic(`streams events: ${run.events}`);
    if (METRICS) t.diagnostic(`requests (node ${victim}'s since its restart): ${await requestSummary(metricsPorts)}`);
    assert.ok(run.ok, `word count: ${run.detail}`);
  } catch (e) {
    for (const n of cluster?.nodes ?? []) t.diagnostic(`node ${n.id} log tail: ${n.log.slice(-3000)}`);
    throw e;
  } finally {
    if (PROFILING) for (const n of cluster?.nodes ?? []) await cluster?.stop(n.id);
    await cluster?.close();
    await rm(root, { recursive: true, force: true });
  }
});
