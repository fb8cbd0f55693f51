// Interop matrix: every client × scenario against one broker, each in its own process with a timeout.
//   npm run interop -- --broker kafka            (starts Apache Kafka 4.4.0 from the cache, single node)
//   npm run interop -- --broker kafka --nodes 3  (3-node KRaft cluster)
//   npm run interop -- --broker runnel           (starts Runnel from source: src/cli/main.ts)
//   npm run interop -- --broker runnel --nodes 3 (3 `runnel start --config` processes, combined broker + controller)
// With --nodes N > 1 every scenario topic has RF min(3, N) (INTEROP_REPLICATION_FACTOR) and the cluster's
// min.insync.replicas is 2, so produce and consume go through replication; without it RF is 1.
//   npm run interop -- --bootstrap 127.0.0.1:9092 --label mine
// Options: --clients a,b  --scenarios x,y  --records N (produce-consume size, default 10000)
//          --timeout-ms T (per cell, default 180000)  --out FILE (default test/interop/results/<label>.json)
// Prints progress and a table; writes JSON. Exit code 0 unless the harness itself failed.
import { mkdirSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { cpus, totalmem } from 'node:os';
import { join, dirname } from 'node:path';
import { CLIENTS, REPO, SCENARIOS, runScenario, type ScenarioResult } from './clients.js';
import { startKafka, KAFKA_VERSION } from '../../scripts/kafka/kafka.js';
import { startRunnel, startRunnelCluster } from '../../scripts/interop/runnel.js';
import { freePort } from '../../scripts/interop/kafka-wire.js';

export interface MatrixReport {
  label: string;
  broker: string;
  bootstrap: string;
  command: string;
  date: string;
  machine: string;
  records: number;
  /** Every scenario topic's replication factor (absent in reports written before it was recorded: 1). */
  replicationFactor?: number;
  /** git commit of the tree that ran (Runnel's source), "+dirty" when it had local changes. */
  revision?: string;
  results: ScenarioResult[];
}

function revision(): string {
  const head = spawnSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: REPO, encoding: 'utf8' }).stdout.trim();
  const dirty = spawnSync('git', ['status', '--porcelain', '--untracked-files=no', 'src'], { cwd: REPO, encoding: 'utf8' }).stdout.trim();
  return `${head || 'unknown'}${dirty ? '+dirty' : ''}`;
}

function opt(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

export function cell(r: ScenarioResult | undefined): string {
  if (!r) return '—';
  if (r.skipped) return 'skip';
  return r.ok ? 'pass' : 'FAIL';
}

export function table(results: ScenarioResult[], clients: string[], scenarios: readonly string[]): string {
  const header = ['client', ...scenarios];
  const rows = clients.map((c) => [c, ...scenarios.map((s) => cell(results.find((r) => r.client === c && r.scenario === s)))]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cols: string[]): string => cols.map((c, i) => c.padEnd(widths[i]!)).join('  ');
  return [line(header), ...rows.map(line)].join('\n');
}

async function main(): Promise<void> {
  const brokerKind = opt('broker');
  const bootstrapArg = opt('bootstrap');
  const nodes = Number(opt('nodes') ?? '1');
  const records = Number(opt('records') ?? '10000');
  const replicationFactor = Math.min(3, nodes);
  const timeoutMs = Number(opt('timeout-ms') ?? '180000');
  const clients = (opt('clients')?.split(',') ?? CLIENTS.map((c) => c.name));
  const scenarios = opt('scenarios')?.split(',') ?? [...SCENARIOS];
  const label = opt('label') ?? (brokerKind ? `${brokerKind}${nodes > 1 ? `-${nodes}n` : ''}` : 'custom');
  const out = opt('out') ?? join(REPO, 'test', 'interop', 'results', `${label}.json`);
  if (!brokerKind && !bootstrapArg) {
    console.error('usage: matrix.ts --broker kafka|runnel [--nodes 3] | --bootstrap host:port [--label L]');
    process.exit(2);
  }
  let stop: () => Promise<void> = async () => {};
  let bootstrap = bootstrapArg ?? '';
  let brokerName = bootstrapArg ? `external ${bootstrapArg}` : '';
  if (brokerKind === 'kafka') {
    process.stderr.write(`starting Apache Kafka ${KAFKA_VERSION} (${nodes} node${nodes > 1 ? 's' : ''})...\n`);
    const k = await startKafka({ nodes });
    bootstrap = k.bootstrapServers;
    brokerName = `Apache Kafka ${KAFKA_VERSION} (${nodes} node${nodes > 1 ? 's' : ''}, KRaft)`;
    stop = k.stop;
  } else if (brokerKind === 'runnel') {
    process.stderr.write(`starting Runnel (src/cli/main.ts, ${nodes} node${nodes > 1 ? 's' : ''})...\n`);
    try {
      const r = nodes > 1 ? await startRunnelCluster({ nodes, mode: 'src' }) : await startRunnel({ port: await freePort(), mode: 'src' });
      bootstrap = r.bootstrapServers;
      brokerName = nodes > 1 ? `Runnel (${nodes} nodes, combined broker + controller, from source)` : 'Runnel (single node, from source)';
      stop = r.stop;
    } catch (e) {
      brokerName = `Runnel — did not start: ${(e as Error).message}`;
    }
  }
  const results: ScenarioResult[] = [];
  const total = clients.length * scenarios.length;
  let n = 0;
  const started = Date.now();
  try {
    for (const name of clients) {
      const client = CLIENTS.find((c) => c.name === name);
      if (!client) throw new Error(`unknown client ${name}`);
      for (const s of scenarios) {
        n++;
        const r: ScenarioResult = bootstrap
          ? await runScenario(client, bootstrap, s, timeoutMs, { INTEROP_RECORDS: String(records), INTEROP_REPLICATION_FACTOR: String(replicationFactor) })
          : { client: name, scenario: s, ok: false, detail: brokerName, ms: 0 };
        results.push(r);
        const secs = ((Date.now() - started) / 1000).toFixed(0);
        process.stderr.write(`[${n}/${total} t+${secs}s] ${name} ${s}: ${cell(r)} (${(r.ms / 1000).toFixed(1)}s) ${r.ok ? '' : r.detail.slice(0, 160)}\n`);
      }
    }
  } finally {
    await stop();
  }
  const report: MatrixReport = {
    label, broker: brokerName, bootstrap,
    command: `npm run interop -- ${process.argv.slice(2).join(' ')}`,
    date: new Date().toISOString(),
    machine: `${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}`,
    records, replicationFactor, revision: revision(), results,
  };
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, JSON.stringify(report, null, 2) + '\n');
  console.log(`\n${brokerName} — ${bootstrap}\n`);
  console.log(table(results, clients, scenarios));
  const passed = results.filter((r) => r.ok).length;
  const skipped = results.filter((r) => r.skipped).length;
  console.log(`\n${passed} pass, ${results.length - passed - skipped} fail, ${skipped} skip in ${((Date.now() - started) / 1000).toFixed(0)} s → ${out}`);
}

if (process.argv[1]?.endsWith('/matrix.ts')) await main();
