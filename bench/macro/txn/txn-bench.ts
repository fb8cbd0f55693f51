/**
 * Transactional produce, Runnel beside Apache Kafka 4.1.1 (single node, default durability each:
 * Runnel `fsync`, Kafka page cache): bench/macro/txn/TxnPerf.java, 100-byte records, a commit every
 * 1,000 records, 3 partitions; runs alternate Runnel and Kafka. Prints each run and the medians.
 *   node --import tsx bench/macro/txn/txn-bench.ts [records=500000] [runs=3]
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startKafka } from '../../../scripts/kafka/kafka.js';
import { freePort, JAVA_DEPS, kill9, REPO, startBrokerChild } from '../../../test/faults/standalone-broker.js';

const RECORDS = Number(process.argv[2] ?? '500000');
const RUNS = Number(process.argv[3] ?? '3');
const PER_TXN = 1000;

function txnPerf(bootstrap: string, topic: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn('java', ['-cp', `${JAVA_DEPS}/*`, join(REPO, 'bench/macro/txn/TxnPerf.java'), bootstrap, topic, String(RECORDS), String(PER_TXN)], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => { out += d.toString(); });
    child.stderr.on('data', (d: Buffer) => { err = (err + d.toString()).slice(-4000); });
    const timer = setTimeout(() => child.kill('SIGKILL'), 600_000);
    child.on('close', () => {
      clearTimeout(timer);
      const line = out.split('\n').find((l) => l.startsWith('RESULT '));
      if (line === undefined) reject(new Error(`TxnPerf failed: ${err}`));
      else resolve(Number(line.split(' ')[3]));
    });
  });
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] as number;
}

const results: Record<'runnel' | 'kafka', number[]> = { runnel: [], kafka: [] };
for (let run = 0; run < RUNS; run++) {
  const dir = await mkdtemp(join(tmpdir(), 'runnel-txn-bench-'));
  const runnel = await startBrokerChild(dir, await freePort());
  try {
    results.runnel.push(await txnPerf(runnel.bootstrap, `txn-bench-${run}`));
  } finally {
    await kill9(runnel);
    await rm(dir, { recursive: true, force: true });
  }
  const kafka = await startKafka();
  try {
    results.kafka.push(await txnPerf(kafka.bootstrapServers, `txn-bench-${run}`));
  } finally {
    await kafka.stop();
  }
  console.log(`run ${run + 1}: Runnel ${results.runnel.at(-1)} msg/s, Kafka ${results.kafka.at(-1)} msg/s`);
}
console.log(`median of ${RUNS}: Runnel ${median(results.runnel)} msg/s, Kafka ${median(results.kafka)} msg/s (${RECORDS} records, commit every ${PER_TXN})`);
