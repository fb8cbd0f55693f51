/**
 * kill -9 of the standalone broker under a Java kafka-clients 4.1.1 producer left at its defaults
 * (idempotence on, acks=all, retries unbounded): Runnel runs as a child process through its CLI
 * (fsync durability, the default); test/faults/java/StandaloneKill.java sends sequence-numbered records
 * and prints every acknowledged (seq, partition, offset); the broker is SIGKILLed at seeded random
 * moments mid-stream and restarted on the same data directory and port while the producer retries.
 * Afterwards a Java consumer reads every partition and the test asserts: every acknowledged record is
 * present exactly once at the offset it was acknowledged with, no record anywhere is duplicated, and
 * per partition the sequence numbers are exactly p, p+P, p+2P, … in offset order (no gap, no reorder).
 * Seed: STANDALONE_SEED=<n> replays the kill schedule. Skipped without java / the interop cache's jars.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  freePort, javaMissing, kill9, killJava, prng, runJava, seedFromEnv, startBrokerChild, type BrokerChild, type JavaRun,
} from './standalone-broker.js';

const TOPIC = 'kill-java';
const PARTITIONS = 3;
const RECORDS = Number(process.env.STANDALONE_KILL_RECORDS ?? '30000');
const KILLS = Number(process.env.STANDALONE_KILL_COUNT ?? '4');
/** Sends between two 1 ms pauses of the producer: paces the stream over several seconds. */
const BURST = 20;
const RUN_MS = 150_000;

interface Ack { seq: number; partition: number; offset: number }

test('Java producer (defaults: idempotent, acks=all) across kill -9 restarts: every acknowledged record once, no gap', { timeout: RUN_MS + 30_000 }, async (t) => {
  const reason = javaMissing();
  if (reason !== '') { t.skip(reason); return; }
  const seed = seedFromEnv();
  const random = prng(seed);
  t.diagnostic(`seed ${seed} (STANDALONE_SEED=${seed} replays the kill schedule)`);
  // Kill points: one per slice of the acknowledged stream, at a random place inside it.
  const killAt = Array.from({ length: KILLS }, (_, i) => Math.floor(RECORDS * (i + 0.2 + 0.6 * random()) / (KILLS + 1)));
  const delayMs = killAt.map(() => Math.floor(random() * 30));
  t.diagnostic(`kills after ${killAt.join(', ')} acknowledged records (+ ${delayMs.join(', ')} ms)`);

  const dataDir = await mkdtemp(join(tmpdir(), 'runnel-standalone-kill-'));
  const port = await freePort();
  let broker: BrokerChild | undefined;
  let producer: JavaRun | undefined;
  let dumper: JavaRun | undefined;
  const acks: Ack[] = [];
  const errors: string[] = [];
  let done = '';
  let retries = -1;
  try {
    broker = await startBrokerChild(dataDir, port);
    producer = runJava(['produce', broker.bootstrap, TOPIC, String(PARTITIONS), String(RECORDS), String(BURST)], (line) => {
      const [kind, a, b, c] = line.split(' ');
      if (kind === 'ACK') acks.push({ seq: Number(a), partition: Number(b), offset: Number(c) });
      else if (kind === 'ERR') errors.push(line);
      else if (kind === 'DONE') done = line;
      else if (kind === 'RETRIES') retries = Number(a);
    }, RUN_MS);
    const deadline = Date.now() + RUN_MS;
    let kills = 0;
    for (const [i, threshold] of killAt.entries()) {
      for (let polls = 0; acks.length < threshold && producer.child.exitCode === null && Date.now() < deadline && polls < 100_000; polls++) {
        await new Promise((r) => setTimeout(r, 2));
      }
      if (acks.length < threshold) break;
      await new Promise((r) => setTimeout(r, delayMs[i]));
      const before = acks.length;
      await kill9(broker);
      kills++;
      broker = await startBrokerChild(dataDir, port);
      t.diagnostic(`kill ${kills}: after ${before} acks, restarted (${acks.length} acks now)`);
    }
    const code = await producer.exited;
    assert.equal(code, 0, `producer exit ${code}: ${producer.err().slice(-2000)}`);
    assert.ok(kills === KILLS, `only ${kills} of ${KILLS} kills happened before the stream ended (${acks.length} acks): make it slower`);
    assert.deepEqual(errors.slice(0, 5), [], 'no send failed (retries are unbounded, delivery.timeout.ms 120 s)');
    assert.equal(done, `DONE ${RECORDS} 0`);

    // Read everything back with a Java consumer.
    const log = new Map<number, Array<{ offset: number; seq: number; key: string; valueSeq: string }>>();
    const ends = new Map<number, [number, number]>();
    dumper = runJava(['dump', broker.bootstrap, TOPIC], (line) => {
      const [kind, ...f] = line.split(' ');
      if (kind === 'REC') {
        const partition = Number(f[0]);
        const records = log.get(partition) ?? [];
        records.push({ offset: Number(f[1]), seq: Number(f[2]), key: f[3]!, valueSeq: f[4]! });
        log.set(partition, records);
      } else if (kind === 'END') {
        ends.set(Number(f[0]), [Number(f[1]), Number(f[2])]);
      }
    }, 60_000);
    assert.equal(await dumper.exited, 0, `dump failed: ${dumper.err().slice(-2000)}`);

    const bySeq = new Map<number, { partition: number; offset: number }>();
    let duplicates = 0;
    for (let p = 0; p < PARTITIONS; p++) {
      const records = log.get(p) ?? [];
      assert.deepEqual(ends.get(p), [0, records.length], `partition ${p}: offsets 0..end, end = records read`);
      for (const [i, r] of records.entries()) {
        assert.equal(r.offset, i, `partition ${p}: offsets are dense`);
        assert.equal(r.key, `k${r.seq}`, `partition ${p} offset ${r.offset}: key matches the header`);
        assert.equal(r.valueSeq, String(r.seq), `partition ${p} offset ${r.offset}: value matches the header`);
        if (bySeq.has(r.seq)) duplicates++;
        else bySeq.set(r.seq, { partition: p, offset: r.offset });
      }
      // Idempotence + ordering: the log of partition p is exactly p, p+P, p+2P, … (no duplicate, gap or reorder).
      const expected = Array.from({ length: Math.ceil((RECORDS - p) / PARTITIONS) }, (_, i) => p + i * PARTITIONS);
      const seqs = records.map((r) => r.seq);
      const firstBad = seqs.findIndex((s, i) => s !== expected[i]);
      assert.ok(firstBad < 0 && seqs.length === expected.length,
        `partition ${p}: ${seqs.length} records, expected ${expected.length}; first difference at offset ${firstBad}: got ${seqs.slice(Math.max(0, firstBad - 2), firstBad + 3).join(',')} expected ${expected.slice(Math.max(0, firstBad - 2), firstBad + 3).join(',')}`);
    }
    assert.equal(duplicates, 0, 'no record is duplicated');
    let moved = 0;
    for (const ack of acks) {
      const found = bySeq.get(ack.seq);
      if (found?.partition !== ack.partition || found.offset !== ack.offset) moved++;
    }
    assert.equal(moved, 0, 'every acknowledged record is at the partition and offset it was acknowledged with');
    assert.equal(new Set(acks.map((a) => a.seq)).size, RECORDS, 'every record acknowledged once');
    t.diagnostic(`kills ${kills}, records ${RECORDS}, acknowledged ${acks.length}, in the log ${bySeq.size}, producer record retries ${retries}, duplicates ${duplicates}, gaps 0`);
  } catch (e) {
    if (broker) t.diagnostic(`broker log tail: ${broker.log().slice(-2000)}`);
    throw e;
  } finally {
    if (producer) await killJava(producer);
    if (dumper) await killJava(dumper);
    if (broker) await kill9(broker);
    await rm(dataDir, { recursive: true, force: true });
  }
});
