/**
 * The chaos suite's franz-go workloads (test/interop/go/chaos.go) against one in-process Runnel broker,
 * without faults: the producers' acknowledgements, two group members and a consumer by assignment, read
 * by the same recorders and checker as the chaos run. A third member joining makes a new generation: each
 * member must log its assignment with the generation, and no partition may have two owners in one. This is
 * what the chaos run relies on when it checks double assignments; skipped (saying why) when the franz-go
 * program is not built (scripts/interop/setup.sh --only go).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startBroker } from '../../src/index.js';
import { check } from './checker.js';
import { createTopic, listOffset } from './probe.js';
import { franzMissing, startFranzAssignReader, startFranzGroupMember, startFranzProducer, type Producer, type Reader } from './workload.js';

const TOPIC = 'franz-chaos';
const PARTITIONS = 3;
const WAIT_MS = 90_000;

async function until(what: string, done: () => boolean, timeoutMs = WAIT_MS): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (let i = 0; i < 100_000 && Date.now() < deadline; i++) {
    if (done()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.fail(`timed out waiting for ${what}`);
}

test('franz-go chaos workloads: acknowledged, read by a group and by assignment, one owner per partition per generation', { timeout: 240_000 }, async (t) => {
  const missing = franzMissing(false);
  if (missing !== '') {
    t.skip(missing);
    return;
  }
  const root = await mkdtemp(join(tmpdir(), 'runnel-franz-chaos-'));
  const broker = await startBroker({ dataDir: join(root, 'data'), port: 0 });
  const clients: Array<Producer | Reader> = [];
  try {
    const at = { host: '127.0.0.1', port: broker.port };
    assert.equal(await createTopic(at, TOPIC, PARTITIONS, 1, {}), 0);
    const bootstrap = broker.bootstrapServers;
    const startMs = Date.now();
    const producers = [
      startFranzProducer(root, bootstrap, TOPIC, { idempotent: true, prefix: 3, throughput: 200, acks: 'all' }, startMs),
      startFranzProducer(root, bootstrap, TOPIC, { idempotent: false, prefix: 4, throughput: 200, acks: 'all' }, startMs),
    ];
    const members = [1, 2].map((i) => startFranzGroupMember(root, bootstrap, TOPIC, `franz-group-${i}`, 'fg', startMs));
    const direct = startFranzAssignReader(root, bootstrap, TOPIC, PARTITIONS, 'franz-assign', startMs);
    clients.push(...producers, ...members, direct);
    await until('acknowledgements and both members assigned', () => producers.every((p) => p.recorder.ackCount >= 200)
      && members.every((m) => (m.recorder.history().assignments ?? []).length > 0));
    // A third member: the group rebalances into a new generation while the producers go on.
    const third = startFranzGroupMember(root, bootstrap, TOPIC, 'franz-group-3', 'fg', startMs);
    clients.push(third);
    members.push(third);
    await until('the third member assigned', () => (third.recorder.history().assignments ?? []).length > 0);
    await new Promise((r) => setTimeout(r, 1_500));
    await Promise.all(producers.map((p) => p.client.stop()));

    const hw = await Promise.all(Array.from({ length: PARTITIONS }, (_, p) => listOffset(at, TOPIC, p, -1n)));
    const reached = (readers: Reader[]): boolean => hw.every((h, p) => Math.max(...readers.map((r) => r.recorder.next.get(p) ?? 0)) >= h);
    await until('the group and the reader by assignment at the high watermarks', () => reached(members) && reached([direct]));
    await Promise.all([...members, direct].map((r) => r.client.stop()));
    const final = startFranzAssignReader(root, bootstrap, TOPIC, PARTITIONS, 'final', startMs);
    clients.push(final);
    await until('the final read', () => reached([final]));
    await final.client.stop();

    const finalRecords = final.recorder.history().records;
    const result = check(producers.map((p) => p.recorder.history()), [...members, direct].map((r) => r.recorder.history()),
      hw.map((h, p) => ({ partition: p, logStartOffset: 0, highWatermark: h, records: finalRecords.filter((r) => r.partition === p).map((r) => ({ offset: r.offset, value: r.value })) })));
    assert.equal(result.ok, true, JSON.stringify(result.examples));
    assert.equal(result.finalRecords, hw.reduce((a, b) => a + b, 0));
    // No faults: every record written was acknowledged (a retried non-idempotent send may add a copy).
    assert.equal(result.acked + result.duplicatesPlain, result.finalRecords);
    assert.ok(result.generationsChecked >= 2, `generations seen: ${result.generationsChecked}`);
    for (const m of members) {
      const h = m.recorder.history();
      assert.ok((h.assignments ?? []).every((a) => a.generation > 0 && a.memberId !== ''), `${h.name} logs generation and member`);
      assert.ok(h.commits.length > 0, `${h.name} committed`);
    }
    assert.equal(direct.recorder.history().records.length, result.finalRecords, 'the reader by assignment read every record once');
    for (const p of producers) assert.equal(p.recorder.history().sent, p.recorder.ackCount, `${p.recorder.name}: sent = acknowledged`);
  } finally {
    for (const c of clients) c.client.kill();
    await broker.close();
    await rm(root, { recursive: true, force: true });
  }
});
