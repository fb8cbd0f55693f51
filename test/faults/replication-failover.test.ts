/**
 * Failover without loss (issue #22): a 3-process Runnel cluster (combined broker + controller nodes,
 * `runnel start --config`), a topic with RF 3 and min.insync.replicas=2, a producer at its defaults
 * (idempotent, acks=all) streaming sequence-numbered records while the leader of partition 0 is killed with
 * SIGKILL (restarted on its data directory each time, the next kill only once the ISR is back to 3).
 * Two producers, one cluster each: the Java kafka-clients 4.1.1 producer (test/faults/java/StandaloneKill.java)
 * and the franz-go producer (`interop-franz produce-seq`, test/interop/go/produce_seq.go).
 * Then: every acknowledged record is read back (by the Java consumer) exactly once, at its acknowledged
 * offset, per partition in sequence order with no gap or duplicate; every partition's ISR is 3 again; and
 * every replica's segment bytes equal the leader's up to the HW (byte identity).
 * REPLICATION_FAILOVER_SEED=<n> replays the kill schedule of both runs. Scale:
 *   REPLICATION_FAILOVER_KILLS / _RECORDS / _BURST           the Java run (default 10 kills, 200,000 records;
 *                                                            CI runs 3 kills over 60,000 records, .ci/run says why)
 *   REPLICATION_FAILOVER_FRANZ_KILLS / _FRANZ_RECORDS        the franz-go run (default 10 kills, 200,000 records;
 *                                                            CI runs 3 kills over 60,000 records to bound its time)
 * REPLICATION_FAILOVER_ONLY=java|franz-go runs one of them. Each skips without its client (the interop cache).
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { INTEROP_CACHE, javaMissing, killJava, prng, runJava, runLines, type JavaRun } from './standalone-broker.js';
import { checkTopicIdentity, createTopic, eventually, partitionStates, startProcessCluster, type ProcessCluster } from './replication-cluster.js';

const PARTITIONS = 3;
/** Sends between two 1 ms pauses: paces the stream so ten restarts (each tens of seconds) fit in it. */
const BURST = Number(process.env.REPLICATION_FAILOVER_BURST ?? '1');
const RUN_MS = 600_000;
const ONLY = process.env.REPLICATION_FAILOVER_ONLY ?? '';
const FRANZ = join(INTEROP_CACHE, 'franz-go', 'interop-franz');

interface Ack { seq: number; partition: number; offset: number }

type Producer = 'java' | 'franz-go';

interface Run {
  producer: Producer;
  kills: number;
  records: number;
}

const runs: Run[] = [
  {
    producer: 'java',
    kills: Number(process.env.REPLICATION_FAILOVER_KILLS ?? '10'),
    records: Number(process.env.REPLICATION_FAILOVER_RECORDS ?? '200000'),
  },
  {
    producer: 'franz-go',
    kills: Number(process.env.REPLICATION_FAILOVER_FRANZ_KILLS ?? '10'),
    records: Number(process.env.REPLICATION_FAILOVER_FRANZ_RECORDS ?? '200000'),
  },
];

/** Empty when the producer's client can run, else why not. */
function producerMissing(producer: Producer): string {
  const java = javaMissing(); // the Java consumer reads every run back
  if (java !== '') return java;
  if (producer === 'java') return '';
  if (!existsSync(FRANZ)) return `no ${FRANZ} (scripts/interop/setup.sh --only go)`;
  return '';
}

function startProducer(producer: Producer, bootstrap: string, topic: string, records: number, onLine: (line: string) => void): JavaRun {
  const args = [bootstrap, topic, String(PARTITIONS), String(records), String(BURST)];
  if (producer === 'java') return runJava(['produce', ...args], onLine, RUN_MS);
  return runLines(FRANZ, ['produce-seq', ...args], onLine, RUN_MS);
}

for (const run of runs) {
  test(`3 nodes, RF 3, min.insync.replicas=2: ${run.producer} idempotent acks=all producer across ${run.kills} kill -9 of the partition leader loses nothing`,
    { timeout: RUN_MS + 180_000, skip: ONLY !== '' && ONLY !== run.producer }, (t) => failover(t, run));
}

async function failover(t: TestContext, run: Run): Promise<void> {
  const reason = producerMissing(run.producer);
  if (reason !== '') { t.skip(reason); return; }
  if (run.producer === 'franz-go') {
    // A binary built before produce_seq.go existed reads "produce-seq" as a bootstrap address.
    const usage = spawnSync(FRANZ, ['produce-seq'], { encoding: 'utf8', timeout: 10_000 });
    assert.match(usage.stderr, /usage: interop-franz produce-seq/, `${FRANZ} predates produce-seq: rebuild it (scripts/interop/setup.sh --only go)`);
  }
  const { kills: KILLS, records: RECORDS } = run;
  const TOPIC = `failover-${run.producer}`;

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
    producer = startProducer(run.producer, c.bootstrap, TOPIC, RECORDS, (line) => {
      const [kind, a, b, d] = line.split(' ');
      if (kind === 'ACK') acks.push({ seq: Number(a), partition: Number(b), offset: Number(d) });
      else if (kind === 'ERR') errors.push(line);
      else if (kind === 'DONE') done = line;
    });
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
    t.diagnostic(`${run.producer}: kills ${kills}, records ${RECORDS}, acknowledged ${acks.length}, read ${bySeq.size}, duplicates 0; byte identity: ${reports.map((r) => `p${r.partition} ${r.comparedBytes} B below HW ${r.highWatermark}`).join(', ')}`);
  } catch (e) {
    if (cluster !== undefined) for (const n of cluster.nodes) t.diagnostic(`node ${n.id} log tail: ${n.log.slice(-1500)}`);
    throw e;
  } finally {
    if (producer) await killJava(producer);
    if (dumper) await killJava(dumper);
    await cluster?.close();
    await rm(root, { recursive: true, force: true, maxRetries: 10, retryDelay: 200 });
  }
}
