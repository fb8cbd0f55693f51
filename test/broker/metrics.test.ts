/**
 * The operators' HTTP listener (metrics.listener, src/broker/operator-http.ts) and the broker metrics
 * (src/broker/metrics.ts): counters move with real produce and fetch traffic, errors carry Kafka's
 * names, the exposition passes `promtool check metrics` (Debian's prometheus package; the test says so
 * loudly when promtool is missing), /readyz is 503 while storage recovers and 200 after.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm, unlink, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RunnelNode } from '../../src/node/runnel-node.js';
import { resolveConfig } from '../../src/config/config.js';
import { ApiKey } from '../../src/protocol/generated/index.js';
import { ErrorCode } from '../../src/protocol/errors.js';
import { call } from './kafka-test-client.js';
import { createTopic, produce, startHarness, type Harness } from './standalone-harness.js';
import { recordBatch, simpleBatch } from '../replication/batches.js';
import { ZERO_UUID } from '../../src/protocol/codec-support.js';
import { freePort } from '../network/free-port.js';

const metricsOn = { 'metrics.listener': '127.0.0.1:0' };

async function get(port: number, path: string): Promise<{ status: number; body: string; contentType: string | null }> {
  const response = await fetch(`http://127.0.0.1:${port}${path}`, { signal: AbortSignal.timeout(5000) });
  return { status: response.status, body: await response.text(), contentType: response.headers.get('content-type') };
}

/** The value of one series in the exposition text, e.g. sample(text, 'x_total', { topic: 't' }). */
function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    const labelText = /\{(.*)\}/.exec(line)?.[1] ?? '';
    if (Object.entries(labels).every(([k, v]) => labelText.includes(`${k}="${v}"`))) return Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return undefined;
}

async function withMetrics(body: (h: Harness, port: number) => Promise<void>, properties: Record<string, string> = {}): Promise<void> {
  const h = await startHarness({ ...metricsOn, ...properties });
  try {
    const port = h.broker.metricsPort;
    assert.ok(port !== undefined && port > 0, 'metrics.listener is bound');
    await body(h, port);
  } finally {
    await h.close();
  }
}

async function fetchFrom(h: Harness, topic: string, offset: bigint) {
  const response = await call(h.client, ApiKey.Fetch, 12, {
    clusterId: null, replicaId: -1, replicaState: { replicaId: -1, replicaEpoch: -1n }, maxWaitMs: 0, minBytes: 1,
    maxBytes: 1 << 20, isolationLevel: 0, sessionId: 0, sessionEpoch: -1,
    topics: [{ topic, topicId: ZERO_UUID, partitions: [{ partition: 0, currentLeaderEpoch: -1, fetchOffset: offset, lastFetchedEpoch: -1, logStartOffset: -1n, partitionMaxBytes: 1 << 20, replicaDirectoryId: ZERO_UUID, highWatermark: 0x7fffffffffffffffn }] }],
    forgottenTopicsData: [], rackId: '',
  });
  return response.body.responses[0]?.partitions[0];
}

test('metrics.listener is off by default', async () => {
  const h = await startHarness();
  try {
    assert.equal(h.broker.metricsPort, undefined);
  } finally {
    await h.close();
  }
});

test('/metrics: request, byte, message and partition metrics move with a produce and a fetch', async () => {
  await withMetrics(async (h, port) => {
    await createTopic(h, 'orders');
    const before = (await get(port, '/metrics')).body;
    assert.equal(sample(before, 'kafka_network_request_metrics_requests_total', { request: 'Produce' }), undefined);
    const batch = simpleBatch(5);
    assert.equal((await produce(h, 'orders', 0, batch, { acks: 1 })).errorCode, ErrorCode.NONE);
    assert.equal((await produce(h, 'orders', 0, simpleBatch(3), { acks: -1 })).errorCode, ErrorCode.NONE);
    const fetched = await fetchFrom(h, 'orders', 0n);
    assert.equal(fetched?.errorCode, ErrorCode.NONE);
    const response = await get(port, '/metrics');
    assert.equal(response.status, 200);
    assert.match(response.contentType ?? '', /^text\/plain; version=0\.0\.4/);
    const text = response.body;
    assert.equal(sample(text, 'kafka_network_request_metrics_requests_total', { request: 'Produce' }), 2);
    assert.equal(sample(text, 'kafka_network_request_metrics_requests_total', { request: 'Fetch' }), 1);
    assert.equal(sample(text, 'kafka_network_request_metrics_total_time_seconds_count', { request: 'Produce' }), 2);
    assert.equal(sample(text, 'kafka_server_broker_topic_metrics_messages_in_total', { topic: 'orders' }), 8);
    assert.equal(sample(text, 'kafka_server_broker_topic_metrics_bytes_in_total', { topic: 'orders' }), batch.length + simpleBatch(3).length);
    assert.equal(sample(text, 'kafka_server_broker_topic_metrics_bytes_out_total', { topic: 'orders' }), batch.length + simpleBatch(3).length);
    assert.equal(sample(text, 'kafka_server_replica_manager_partitions'), 1);
    assert.equal(sample(text, 'kafka_server_replica_manager_leaders'), 1);
    assert.equal(sample(text, 'kafka_server_replica_manager_under_replicated_partitions'), 0);
    assert.equal(sample(text, 'kafka_server_socket_server_metrics_connections'), 1);
    assert.equal(sample(text, 'kafka_server_socket_server_metrics_connection_creation_total'), 1);
    assert.equal(sample(text, 'kafka_server_delayed_operation_purgatory_size', { delayed_operation: 'Fetch' }), 0);
    // fsync is the default mode: the two appends were synced writes.
    assert.ok((sample(text, 'kafka_log_log_flush_stats_log_flush_time_seconds_count') ?? 0) >= 1);
    assert.equal(sample(text, 'runnel_broker_info', { node_id: '1' }), 1);
    assert.ok(sample(text, 'nodejs_eventloop_lag_seconds') !== undefined, 'Node default metrics');
    assert.ok(sample(text, 'nodejs_heap_size_used_bytes') !== undefined);
  });
});

test('/metrics: error codes in responses are counted under Kafka error names', async () => {
  await withMetrics(async (h, port) => {
    const unknown = await produce(h, 'no-such-topic', 0, simpleBatch(1), { acks: 1 });
    assert.equal(unknown.errorCode, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
    const text = (await get(port, '/metrics')).body;
    assert.equal(sample(text, 'kafka_network_request_metrics_errors_total', { request: 'Produce', error: 'UNKNOWN_TOPIC_OR_PARTITION' }), 1);
    assert.equal(sample(text, 'kafka_server_broker_topic_metrics_messages_in_total', { topic: 'no-such-topic' }), undefined);
  }, { 'auto.create.topics.enable': 'false' });
});

test('/metrics: a deleted topic\'s series disappear at the next scrape', async () => {
  await withMetrics(async (h, port) => {
    await createTopic(h, 'short-lived');
    await produce(h, 'short-lived', 0, simpleBatch(2), { acks: 1 });
    assert.equal(sample((await get(port, '/metrics')).body, 'kafka_server_broker_topic_metrics_messages_in_total', { topic: 'short-lived' }), 2);
    const deleted = await call(h.client, ApiKey.DeleteTopics, 6, { topics: [{ name: 'short-lived', topicId: '00000000-0000-0000-0000-000000000000' }], topicNames: [], timeoutMs: 5000 });
    assert.equal(deleted.body.responses[0]?.errorCode, ErrorCode.NONE);
    assert.equal(sample((await get(port, '/metrics')).body, 'kafka_server_broker_topic_metrics_messages_in_total', { topic: 'short-lived' }), undefined);
  });
});

test('/healthz and /readyz answer 200 on a running broker; other paths 404, other methods 405', async () => {
  await withMetrics(async (_h, port) => {
    assert.deepEqual(await get(port, '/healthz').then((r) => [r.status, r.body]), [200, 'ok\n']);
    assert.deepEqual(await get(port, '/readyz').then((r) => [r.status, r.body]), [200, 'ready\n']);
    assert.equal((await get(port, '/nope')).status, 404);
    const post = await fetch(`http://127.0.0.1:${port}/metrics`, { method: 'POST', body: 'x', signal: AbortSignal.timeout(5000) });
    assert.equal(post.status, 405);
  });
});

test('promtool check metrics accepts the exposition', async (t) => {
  const promtool = process.env['PROMTOOL'] ?? 'promtool';
  if (spawnSync(promtool, ['--version']).error !== undefined) {
    // Loud, not silent: CI installs Debian's prometheus package, so a skip there is a set-up bug.
    t.skip(`${promtool} is not installed (apt-get install prometheus): the exposition is NOT validated`);
    return;
  }
  await withMetrics(async (h, port) => {
    await createTopic(h, 'checked');
    await produce(h, 'checked', 0, simpleBatch(3), { acks: 1 });
    await fetchFrom(h, 'checked', 0n);
    const text = (await get(port, '/metrics')).body;
    const result = spawnSync(promtool, ['check', 'metrics'], { input: text, encoding: 'utf8', timeout: 30_000 });
    assert.equal(result.status, 0, `${result.stdout}${result.stderr}`);
  });
});

test('docs/grafana-dashboard.json queries only series the broker exports', async () => {
  const dashboard = JSON.parse(await readFile('docs/grafana-dashboard.json', 'utf8')) as { panels: Array<{ title: string; targets: Array<{ expr: string }> }> };
  const names = new Set<string>();
  for (const panel of dashboard.panels) {
    for (const target of panel.targets) for (const match of target.expr.matchAll(/\b(?:kafka|runnel|nodejs|process)_[a-z0-9_]+/g)) names.add(match[0]);
  }
  assert.ok(names.size >= 15, `only ${names.size} series in the dashboard`);
  await withMetrics(async (_h, port) => {
    const text = (await get(port, '/metrics')).body;
    const docs = await readFile('docs/metrics.md', 'utf8');
    for (const name of names) {
      const family = name.replace(/_(bucket|sum|count)$/, '');
      assert.ok(text.includes(`# TYPE ${family} `) || text.includes(`# TYPE ${name} `), `${name}: not exported`);
      if (!/^(nodejs|process)_/.test(name)) assert.ok(docs.includes(`\`${family}\``), `${family}: not in docs/metrics.md`);
    }
  });
});


test('/readyz is 503 while storage recovers after an unclean stop, then 200', { timeout: 120_000 }, async () => {
  const dataDir = await mkdtemp(join(tmpdir(), 'runnel-readyz-'));
  try {
    // ~48 MB in one partition, then a clean close with its marker and checkpoints removed: the next
    // start scans every batch (structure + CRC) as after a crash.
    const seed = await startHarness({ 'log.durability.mode': 'none' }, dataDir);
    await createTopic(seed, 'big');
    const batch = recordBatch(Array.from({ length: 400 }, () => ({ key: null, value: Buffer.alloc(1000, 7) })));
    for (let i = 0; i < 120; i++) assert.equal((await produce(seed, 'big', 0, batch, { acks: 1 })).errorCode, ErrorCode.NONE);
    seed.client.destroy();
    await seed.broker.close();
    for (const name of await readdir(dataDir)) {
      if (name === 'storage-clean-shutdown' || name === 'checkpoints') await unlink(join(dataDir, name));
    }
    const port = await freePort();
    const config = resolveConfig({ overrides: [['log.dirs', dataDir], ['listeners', 'PLAINTEXT://127.0.0.1:0'], ['metrics.listener', `127.0.0.1:${port}`]] }).config;
    const starting = RunnelNode.start({ config });
    let done = false;
    const seen: string[] = [];
    void starting.then(() => { done = true; }, () => { done = true; });
    const deadline = Date.now() + 60_000;
    while (!done && Date.now() < deadline) {
      const answer = await get(port, '/readyz').then((r) => `${r.status} ${r.body.trim()}`, () => 'refused');
      if (seen.at(-1) !== answer) seen.push(answer);
      await new Promise((resolve) => setTimeout(resolve, 1));
    }
    const node = await starting;
    const broker = node.broker!;
    try {
      assert.ok(seen.some((answer) => answer.startsWith('503 not ready: recovering storage')), `answers while starting: ${seen.join(' | ')}`);
      assert.equal((await get(port, '/readyz')).status, 200);
      assert.equal((await get(port, '/healthz')).status, 200);
    } finally {
      await node.close();
    }
  } finally {
    await rm(dataDir, { recursive: true, force: true });
  }
});
