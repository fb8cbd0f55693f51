/**
 * Failover without loss (issue #22): a 3-process Runnel cluster (combined broker + controller nodes,
 * `runnel start --config`), a topic with RF 3 and min.insync.replicas=2, the Java kafka-clients 4.1.1
 * producer at its defaults (idempotent, acks=all) streaming sequence-numbered records
 * (test/faults/java/StandaloneKill.java), while the leader of partition 0 is killed with SIGKILL ten times
 * (restarted on its data directory each time, the next kill only once the ISR is back to 3).
 * Then: every acknowledged record is read back exactly once, at its acknowledged offset, per partition
 * in sequence order with no gap or duplicate; every partition's ISR is 3 again; and every replica's
 * segment bytes equal the leader's up to the HW (byte identity).
 * REPLICATION_FAILOVER_SEED=<n> replays the kill schedule; REPLICATION_FAILOVER_KILLS / _RECORDS scale it.
 * Skipped without java / the interop cache's jars.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { javaMissing, killJava, prng, runJava, type JavaRun } from './standalone-broker.js';
import { checkTopicIdentity, createTopic, eventually, partitionStates, startProcessCluster, type ProcessCluster } from './replication-cluster.js';

const TOPIC = 'failover-java';
const PARTITIONS = 3;
const RECORDS = Number(process.env.REPLICATION_FAILOVER_RECORDS ?? '200000');
const KILLS = Number(process.env.REPLICATION_FAILOVER_KILLS ?? '10');
/** Sends between two 1 ms pauses: paces the stream so ten restarts (each tens of seconds) fit in it. */
const BURST = Number(process.env.REPLICATION_FAILOVER_BURST ?? '1');
const RUN_MS = 600_000;

interface Ack { seq: number; partition: number; offset: number }

test('3 nodes, RF 3, min.insync.replicas=2: Java idempotent acks=all producer across 10 kill -9 of the partition leader loses nothing', { timeout: RUN_MS + 120_000 }, async (t) => {
  const reason = javaMissing();
  if (reason !== '') { t.skip(reason); return; }
  const envSeed = process.env.REPLICATION_FAILOVER_SEED;
  const seed = envSeed !== undefined && envSeed !== '' ? Number(envSeed) >>> 0 : (Date.now() ^ (process.pid << 16)) >>> 0;
  const random = prng(seed);
  t.diagnostic(`seed ${seed} (REPLICATION_FAILOVER_SEED=${seed} replays the kill schedule)`);
  const killAt = Array.from({ length: KILLS }, (_, i) => Math.floor(RECORDS * (i + 0.2 + 0.6 * random()) / (KILLS + 1)));
  const root = await mkdtemp(join(tmpdir(), 'runnel-failover-'));
  let cluster: ProcessCluster | undefined;
  let producer: JavaRun | undefined;
  let dumper: JavaRun | undefined;
  const acks: Ack[] = [];
  const errors: string[] = [];
  let done = '';
  try {
    cluster = await startProcessCluster(root, 3, { 'replica.lag.time.max.ms': '10000' });
    const c = cluster;
    assert.equal(await createTopic(c.nodes[0]!.port, TOPIC, PARTITIONS, 3, { 'min.insync.replicas': '2' }), 0);
    await eventually('every partition led with ISR 3', async () => {
      const states = await partitionStates(c.nodes[0]!.port, TOPIC);
      return states.length === PARTITIONS && states.every((s) => s.leader >= 0 && s.isr.length === 3);
    });
    producer = runJava(['produce', c.bootstrap, TOPIC, String(PARTITIONS), String(RECORDS), String(BURST)], (line) => {
      const [kind, a, b, d] = line.split(' ');
      if (kind === 'ACK') acks.push({ seq: Number(a), partition: Number(b), offset: Number(d) });
      else if (kind === 'ERR') errors.push(line);
      else if (kind === 'DONE') done = line;
    }, RUN_MS);
    const deadline = Date.now() + RUN_MS;
    let kills = 0;
    let lastRestartAcks = 0;
    for (const planned of killAt) {
      // A restart can take longer than the stream slice it was planned in: the next kill waits for more
      // acknowledgements after it, so every kill hits a leader under load.
      const threshold = Math.max(planned, lastRestartAcks + 300);
      for (let polls = 0; acks.length < threshold && producer.child.exitCode === null && Date.now() < deadline && polls < 1_000_000; polls++) {
        await new Promise((r) => setTimeout(r, 5));
      }
      if (acks.length < threshold) break;
      const alive = c.nodes.find((n) => n.child?.exitCode === null)!;
      const leader = (await partitionStates(alive.port, TOPIC)).find((s) => s.partition === 0)?.leader ?? -1;
      if (leader < 0) break;
      const before = acks.length;
      await c.kill9(leader);
      kills++;
      await c.start(leader);
      await eventually('ISR back to 3 after the restart', async () => {
        const states = await partitionStates(c.node(leader).port, TOPIC);
        return states.length === PARTITIONS && states.every((s) => s.leader >= 0 && s.isr.length === 3);
      }, 120_000);
      lastRestartAcks = acks.length;
      t.diagnostic(`kill ${kills}: node ${leader} (leader of partition 0) after ${before} acks; back in every ISR at ${acks.length} acks`);
    }
    const code = await producer.exited;
    assert.equal(code, 0, `producer exit ${code}: ${producer.err().slice(-2000)}`);
    assert.equal(kills, KILLS, `only ${kills} of ${KILLS} kills happened before the stream ended (${acks.length} acks)`);
    assert.deepEqual(errors.slice(0, 5), [], 'no send failed');
    assert.equal(done, `DONE ${RECORDS} 0`);

    const log = new Map<number, Array<{ offset: number; seq: number }>>();
    dumper = runJava(['dump', c.bootstrap, TOPIC], (line) => {
      const [kind, ...f] = line.split(' ');
      if (kind !== 'REC') return;
      const partition = Number(f[0]);
      const records = log.get(partition) ?? [];
      records.push({ offset: Number(f[1]), seq: Number(f[2]) });
      log.set(partition, records);
    }, 120_000);
    assert.equal(await dumper.exited, 0, `dump failed: ${dumper.err().slice(-2000)}`);
    const bySeq = new Map<number, { partition: number; offset: number }>();
    let duplicates = 0;
    for (let p = 0; p < PARTITIONS; p++) {
      const records = log.get(p) ?? [];
      for (const [i, r] of records.entries()) {
        assert.equal(r.offset, i, `partition ${p}: offsets are dense`);
        if (bySeq.has(r.seq)) duplicates++;
        else bySeq.set(r.seq, { partition: p, offset: r.offset });
      }
      const expected = Array.from({ length: Math.ceil((RECORDS - p) / PARTITIONS) }, (_, i) => p + i * PARTITIONS);
      const seqs = records.map((r) => r.seq);
      const firstBad = seqs.findIndex((s, i) => s !== expected[i]);
      assert.ok(firstBad < 0 && seqs.length === expected.length,
        `partition ${p}: ${seqs.length} records, expected ${expected.length}; first difference at offset ${firstBad}`);
    }
    assert.equal(duplicates, 0, 'no record is duplicated');
    const moved = acks.filter((a) => { const f = bySeq.get(a.seq); return f?.partition !== a.partition || f.offset !== a.offset; }).length;
    assert.equal(moved, 0, 'every acknowledged record is at the partition and offset it was acknowledged with');
    assert.equal(new Set(acks.map((a) => a.seq)).size, RECORDS, 'every record acknowledged once');
    await eventually('ISR 3 everywhere', async () => (await partitionStates(c.nodes[0]!.port, TOPIC)).every((s) => s.isr.length === 3));
    const reports = await checkTopicIdentity(c, TOPIC);
    for (const r of reports) assert.deepEqual(r.mismatches, [], `partition ${r.partition}: replicas differ from the leader below HW ${r.highWatermark}`);
    t.diagnostic(`kills ${kills}, records ${RECORDS}, acknowledged ${acks.length}, read ${bySeq.size}, duplicates 0; byte identity: ${reports.map((r) => `p${r.partition} ${r.comparedBytes} B below HW ${r.highWatermark}`).join(', ')}`);
  } catch (e) {
    if (cluster !== undefined) for (const n of cluster.nodes) t.diagnostic(`node ${n.id} log tail: ${n.log.slice(-1500)}`);
    throw e;
  } finally {
    if (producer) await killJava(producer);
    if (dumper) await killJava(dumper);
    await cluster?.close();
    await rm(root, { recursive: true, force: true, maxRetries: 10, retryDelay: 200 });
  }
});
