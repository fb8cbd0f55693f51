// Macro benchmark: Runnel and Apache Kafka side by side, driven alternately (Kafka row, then the same
// row against Runnel) by the same load generators — Kafka's own ProducerPerformance,
// ConsumerPerformance and EndToEndLatency from the kafka-tools jar (~/.cache/runnel/kafka-4.4.0), and
// franz-perf (bench/macro/franz-perf: a franz-go producer shaped like ProducerPerformance, built by
// scripts/interop/setup.sh into ~/.cache/runnel/interop/franz-go/franz-perf).
//
//   npm run bench                 full run (1,000,000 records per Java produce row, 5,000,000 per
//                                 franz-go row, every produce and consume row 3 times: the median is reported)
//   npm run bench -- --quick      under 3 minutes: single node only, 50,000 / 1,000,000 records, once
//   options: --records N  --franz-records N  --repeat N  --e2e-messages N  --topologies single,cluster
//            --runnel-mode dist|src  --runnel-set key=value (repeatable, passed to `runnel start --set`)
//            --runnel-durability fsync,none (Runnel variants, default both: log.durability.mode)
//            --kafka-durability none,fsync (Kafka variants, default both; fsync: the same Kafka process,
//            topics created with flush.messages=1, so every append is fsynced before it is acknowledged)
//            --workloads 'produce acks=1 (java)',… (rows to run, by their exact names in the table; default
//            all; a row whose `needs` row is not selected is n/a: consume reads produce acks=1 (java)'s topic)
//
// Load: 100-byte records, throughput unlimited, compression none (but the franz-go acks=1 lz4 / zstd
// rows: the cost of decompressing to check records), 3 partitions per topic (RF 1 single
// node, RF 3 on the 3-node cluster), acks 0 / 1 / -1 (idempotence off for 0 and 1, the client default
// for -1). Java rows: ProducerPerformance with batch.size=16384, linger.ms=5. franz-go rows: franz-go's
// defaults (batches up to 1,000,012 bytes, linger 10 ms, 5 requests in flight with idempotence), 5 in
// flight without it too (franz-perf --max-inflight; franz-go's own default there is 1).
// Repeated rows run the brokers in a rotating order (rep r starts with broker r mod n), so no broker
// always follows the same neighbour's disk writeback.
// Measures per row: msg/s, MB/s, latency p50/p99/p99.9 (producer: send→ack per record; e2e: produce→
// consume per message), broker CPU-seconds per million messages (utime+stime from /proc/<pid>/stat,
// summed over the broker's processes, delta over the row), broker peak RSS (VmHWM, summed over
// processes, so far in the run), and per broker the time from process start to the first successful
// produce. Writes bench/results/<timestamp>-<quick|full>.json and prints a table with Runnel/Kafka ratios:
// every Runnel variant against Kafka's default, and Runnel fsync against Kafka fsync (equal durability).
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { cpus, totalmem, loadavg } from 'node:os';
import { join, dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startKafka, javaClasspath, assembleKafka, KAFKA_VERSION } from '../../scripts/kafka/kafka.js';
import { startRunnel, startRunnelCluster, type RunnelMode } from '../../scripts/interop/runnel.js';
import { produceUntilSuccess, freePort } from '../../scripts/interop/kafka-wire.js';
import { FRANZ_PERF, parseProducerSummary, runProcess, type ToolResult } from './load-tools.js';
import { parseWorkloadNames, selectWorkloads } from './workload-select.js';
import { BENCH_USAGE, parseBenchArgs, type BenchArgs } from './bench-args.js';
import { stopChildrenOnSignal } from './process-cleanup.js';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const argv = process.argv.slice(2);
let args: BenchArgs;
try {
  args = parseBenchArgs(argv);
} catch (e) {
  console.error(`bench: ${(e as Error).message}\nRun 'npm run bench -- --help' for the options.`);
  process.exit(2);
}
if (args.help) {
  console.log(BENCH_USAGE);
  process.exit(0);
}
const quick = args.quick;
// Ctrl-C, SIGTERM or SIGHUP: stop every broker and load generator this run started (process-cleanup.ts).
stopChildrenOnSignal((signal) => progress(`${signal}: stopping every broker and load generator of this run`));

const RECORDS = args.records ?? (quick ? 50_000 : 1_000_000);
const FRANZ_RECORDS = args.franzRecords ?? (quick ? 1_000_000 : 5_000_000);
const REPEAT = args.repeat ?? (quick ? 1 : 3);
const E2E_MESSAGES = args.e2eMessages ?? (quick ? 300 : 5000);
const RECORD_SIZE = 100;
const PARTITIONS = 3;
const PRODUCER_PROPS = ['batch.size=16384', 'linger.ms=5', 'compression.type=none'];
// The broker settings scripts/kafka/kafka.ts gives Kafka (as Kafka's own config/server.properties does),
// given to Runnel too so both run the same configuration: without them Runnel's consume row spends
// Kafka's built-in 3 s group.initial.rebalance.delay.ms joining while Kafka's does not.
const RUNNEL_SETTINGS_AS_KAFKA = ['group.initial.rebalance.delay.ms=0', 'offsets.topic.num.partitions=10'];
// Runnel runs in both durability modes (DESIGN §4: benchmarks report both); Kafka's default is the page cache.
const RUNNEL_DURABILITY = (args.runnelDurability ?? 'fsync,none').split(',');
// Kafka with Runnel's fsync guarantee: flush.messages=1 makes UnifiedLog.append flush the segment
// (FileChannel.force) before the produce is answered. Same process as the default variant, other topics.
const KAFKA_DURABILITY = (args.kafkaDurability ?? 'none,fsync').split(',');
const KAFKA_FSYNC_TOPIC_CONFIGS = ['flush.messages=1'];
for (const [flag, values] of [['runnel-durability', RUNNEL_DURABILITY], ['kafka-durability', KAFKA_DURABILITY]] as const) {
  const unknown = values.filter((v) => v !== 'fsync' && v !== 'none');
  if (unknown.length > 0) throw new Error(`--${flag}: ${unknown.join(',')} is not fsync or none`);
}
const SELECTED = parseWorkloadNames(args.workloads);
// --quick covers the single node only (the 3-node rows need ~3 JVM start-ups): add --topologies single,cluster.
const TOPOLOGIES = (args.topologies ?? (quick ? 'single' : 'single,cluster')).split(',');
workloads(); // refuses an unknown --workloads name before any broker starts
const CLK_TCK = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim() || '100');
const started = Date.now();

function progress(msg: string): void {
  process.stderr.write(`[bench t+${((Date.now() - started) / 1000).toFixed(0)}s] ${msg}\n`);
}

/**
 * 'kafka' (its default: acknowledged from the page cache), 'kafka fsync' (topics with flush.messages=1),
 * or 'runnel <log.durability.mode>' (fsync: acks>=1 after fdatasync; none: after the page cache, as Kafka).
 */
type BrokerKind = string;
interface Broker {
  kind: BrokerKind; bootstrap: string; pids: number[]; firstProduceMs?: number; firstProduceError?: string;
  /** Topic configs every topic of this variant is created with (TopicCommand --config). */
  topicConfigs?: string[];
  /** Part of every topic name of this variant: variants sharing one process need their own topics. */
  topicTag?: string;
  stop(): Promise<void>;
}

interface Row {
  topology: string;
  workload: string;
  broker: BrokerKind;
  status: 'ok' | 'n/a' | 'failed';
  note?: string;
  records?: number;
  msgPerSec?: number;
  mbPerSec?: number;
  p50Ms?: number;
  p99Ms?: number;
  p999Ms?: number;
  cpuSecPerMillion?: number;
  peakRssMb?: number;
  seconds?: number;
  /** msg/s of every repetition, when the row ran more than once (the row shows the median one). */
  samples?: number[];
}

function cpuTicks(pids: number[]): number {
  let t = 0;
  for (const pid of pids) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      t += Number(fields[11]) + Number(fields[12]); // utime, stime (fields 14 and 15 of stat)
    } catch { /* process gone */ }
  }
  return t;
}

function peakRssMb(pids: number[]): number {
  let kb = 0;
  for (const pid of pids) {
    try {
      const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
      kb += Number(m?.[1] ?? 0);
    } catch { /* process gone */ }
  }
  return Math.round(kb / 1024);
}

function runTool(mainClass: string, args: string[], timeoutMs: number): Promise<ToolResult> {
  return runProcess('java', ['-Xmx768m', '-Dlog4j2.level=warn', '-cp', javaClasspath(), mainClass, ...args], timeoutMs);
}

/** The most telling lines of a tool's output: exception messages first, else the last lines. */
function lastLines(s: string, n = 2): string {
  const lines = s.trim().split('\n').filter((l) => !/^SLF4J|No logging configuration|StatusLogger|^\s+at |^\s*\.\.\. \d+ more/.test(l));
  const errors = lines.filter((l) => /Exception|Error|does not support/.test(l));
  return (errors.length > 0 ? errors.slice(0, n) : lines.slice(-n)).join(' ⏎ ').slice(0, 300);
}

async function createTopic(b: Broker, topic: string, rf: number): Promise<string | undefined> {
  const r = await runTool('org.apache.kafka.tools.TopicCommand', ['--bootstrap-server', b.bootstrap, '--create', '--topic', topic,
    '--partitions', String(PARTITIONS), '--replication-factor', String(rf), ...(b.topicConfigs ?? []).flatMap((c) => ['--config', c])], 60_000);
  return r.code === 0 ? undefined : `create topic failed: ${r.timedOut ? 'timeout' : lastLines(r.out)}`;
}

async function measure(b: Broker, base: Omit<Row, 'broker' | 'status'>, run: () => Promise<ToolResult>, parse: (out: string) => Partial<Row> | undefined, records: number): Promise<Row> {
  const cpu0 = cpuTicks(b.pids);
  const t0 = Date.now();
  const r = await run();
  const seconds = (Date.now() - t0) / 1000;
  const cpu = (cpuTicks(b.pids) - cpu0) / CLK_TCK;
  const gone = b.pids.filter((pid) => !existsSync(`/proc/${pid}`));
  if (gone.length > 0) {
    return { ...base, broker: b.kind, status: 'failed', note: `broker process ${gone.join(',')} exited during the row`, seconds };
  }
  const parsed = r.code === 0 && !r.timedOut ? parse(r.out) : undefined;
  if (!parsed) {
    return { ...base, broker: b.kind, status: 'failed', note: r.timedOut ? `timed out after ${seconds.toFixed(0)} s` : `exit ${r.code}: ${lastLines(r.out)}`, seconds };
  }
  // A latency-bound row (end-to-end, one message at a time) mostly idles: CPU per message would mislead.
  const cpuSecPerMillion = base.workload.startsWith('end-to-end') ? undefined : cpu / (records / 1e6);
  return { ...base, broker: b.kind, status: 'ok', records, ...parsed, cpuSecPerMillion, peakRssMb: peakRssMb(b.pids), seconds };
}

function parseProducer(out: string): Partial<Row> | undefined {
  const m = parseProducerSummary(out);
  return m && { msgPerSec: m.msgPerSec, mbPerSec: m.mbPerSec, p50Ms: m.p50Ms, p99Ms: m.p99Ms, p999Ms: m.p999Ms };
}

function parseConsumer(out: string): Partial<Row> | undefined {
  // start.time, end.time, data.consumed.in.MB, MB.sec, data.consumed.in.nMsg, nMsg.sec, rebalance.time.ms, fetch.time.ms, fetch.MB.sec, fetch.nMsg.sec
  const line = out.split('\n').find((l) => /^\d{4}-\d\d-\d\d .*,/.test(l));
  if (!line) return undefined;
  const f = line.split(',').map((s) => s.trim());
  if (Number(f[4]) <= 0) return undefined;
  return { mbPerSec: Number(f[3]), msgPerSec: Number(f[5]) };
}

function parseE2e(out: string): Partial<Row> | undefined {
  const m = /Percentiles: 50th = ([\d.]+), 99th = ([\d.]+), 99\.9th = ([\d.]+)/.exec(out);
  const avg = /Avg latency: ([\d.]+) ms/.exec(out);
  if (!m || !avg) return undefined;
  return { p50Ms: Number(m[1]), p99Ms: Number(m[2]), p999Ms: Number(m[3]), msgPerSec: 1000 / Number(avg[1]) };
}

interface Workload {
  name: string;
  /** Run REPEAT times (produce and consume rows); end-to-end runs once. */
  repeat: boolean;
  /** The row whose topic this one reads (it must run first). */
  needs?: string;
  /** Why the row cannot run here (a missing load generator), or undefined. */
  missing?: () => string | undefined;
  run(b: Broker, topology: string, rf: number, tag: string, rep: number): Promise<Row>;
}

function workloads(): Workload[] {
  const producer = (acks: string): Workload => ({
    name: `produce acks=${acks} (java)`,
    repeat: true,
    async run(b, topology, rf, tag, rep) {
      const base = { topology, workload: `produce acks=${acks} (java)` };
      // Repetition 0's acks=1 topic is what the consume row reads.
      const topic = `bench-${tag}${b.topicTag ?? ''}-acks${acks.replace('-', 'm')}${rep > 0 ? `-r${rep}` : ''}`;
      const err = await createTopic(b, topic, rf);
      if (err) return { ...base, broker: b.kind, status: 'failed', note: err };
      const props = [`bootstrap.servers=${b.bootstrap}`, `acks=${acks}`, ...PRODUCER_PROPS, ...(acks === '-1' ? [] : ['enable.idempotence=false'])];
      return measure(b, base, () => runTool('org.apache.kafka.tools.ProducerPerformance', ['--topic', topic, '--num-records', String(RECORDS),
        '--record-size', String(RECORD_SIZE), '--throughput', '-1', '--producer-props', ...props], timeoutFor(RECORDS)), parseProducer, RECORDS);
    },
  });
  // compression: the producer's codec; a compressed row shows what the broker pays to check records
  // (Runnel decompresses every compressed batch to walk its records, as Kafka's LogValidator does).
  const franz = (acks: string, compression = 'none'): Workload => {
    const name = `produce acks=${acks}${compression === 'none' ? '' : ` ${compression}`} (franz-go)`;
    return {
      name,
      repeat: true,
      missing: () => (existsSync(FRANZ_PERF) ? undefined : `n/a (${FRANZ_PERF} not built: bash scripts/interop/setup.sh --only go)`),
      async run(b, topology, rf, tag, rep) {
        const base = { topology, workload: name };
        const codec = compression === 'none' ? '' : `-${compression}`;
        const topic = `bench-${tag}${b.topicTag ?? ''}-franz-acks${acks.replace('-', 'm')}${codec}-r${rep}`;
        const err = await createTopic(b, topic, rf);
        if (err) return { ...base, broker: b.kind, status: 'failed', note: err };
        return measure(b, base, () => runProcess(FRANZ_PERF, ['--bootstrap', b.bootstrap, '--topic', topic, '--num-records', String(FRANZ_RECORDS),
          '--record-size', String(RECORD_SIZE), '--acks', acks, '--compression', compression], timeoutFor(FRANZ_RECORDS / 10)), parseProducer, FRANZ_RECORDS);
      },
    };
  };
  const all: Workload[] = [
    producer('0'), producer('1'), producer('-1'),
    franz('0'), franz('1'), franz('-1'), franz('1', 'lz4'), franz('1', 'zstd'),
    {
      name: 'consume',
      needs: 'produce acks=1 (java)',
      // Repeated like the produce rows: a broker's first consumer group pays for creating and loading
      // __consumer_offsets, and a row run once would charge that to whichever broker goes first.
      repeat: true,
      async run(b, topology, _rf, tag) {
        // Reads what the first acks=1 run wrote (RECORDS records, 3 partitions), with a fresh group.
        const base = { topology, workload: 'consume' };
        return measure(b, base, () => runTool('org.apache.kafka.tools.ConsumerPerformance', ['--bootstrap-server', b.bootstrap,
          '--topic', `bench-${tag}${b.topicTag ?? ''}-acks1`, '--messages', String(RECORDS), '--timeout', '30000', '--group', `bench-${tag}-${Date.now()}`], timeoutFor(RECORDS)), parseConsumer, RECORDS);
      },
    },
    {
      name: 'end-to-end acks=1',
      repeat: false,
      async run(b, topology, rf, tag) {
        const base = { topology, workload: 'end-to-end acks=1' };
        const topic = `bench-${tag}${b.topicTag ?? ''}-e2e`;
        const err = await createTopic(b, topic, rf);
        if (err) return { ...base, broker: b.kind, status: 'failed', note: err };
        return measure(b, base, () => runTool('org.apache.kafka.tools.EndToEndLatency', [b.bootstrap, topic, String(E2E_MESSAGES), '1', String(RECORD_SIZE)],
          60_000 + E2E_MESSAGES * 50), parseE2e, E2E_MESSAGES);
      },
    },
  ];
  return selectWorkloads(all, SELECTED);
}

/**
 * One row from repetitions: the median-throughput run (its latency, CPU and RSS as measured in that
 * run), with every run's msg/s kept in `samples`. A failed repetition makes the whole row failed.
 */
function medianRow(runs: Row[]): Row {
  if (runs.length === 1) return runs[0]!;
  const failed = runs.find((r) => r.status !== 'ok');
  if (failed) return { ...failed, note: `${failed.note ?? ''} (1 of ${runs.length} runs)` };
  const sorted = [...runs].sort((a, b) => (a.msgPerSec ?? 0) - (b.msgPerSec ?? 0));
  const median = sorted[Math.floor((sorted.length - 1) / 2)]!;
  return { ...median, samples: runs.map((r) => r.msgPerSec ?? 0), peakRssMb: Math.max(...runs.map((r) => r.peakRssMb ?? 0)) };
}

function timeoutFor(records: number): number {
  return 60_000 + Math.ceil(records / 2000) * 1000;
}

async function startKafkaBroker(nodes: number): Promise<Broker> {
  const t0 = Date.now();
  // Free ports, never fixed ones: the machine is shared and other runs of this bench may be live.
  const k = await startKafka({ nodes });
  const b: Broker = { kind: 'kafka', bootstrap: k.bootstrapServers, pids: k.nodes.map((n) => n.pid), stop: k.stop };
  try {
    await produceUntilSuccess(k.bootstrapServers.split(',')[0]!, 'bench-first-produce', 60_000);
    b.firstProduceMs = Date.now() - t0;
  } catch (e) {
    b.firstProduceError = (e as Error).message;
  }
  return b;
}

async function startRunnelBroker(nodes: number, port: number, mode: RunnelMode, durability: string): Promise<Broker | string> {
  const t0 = Date.now();
  const settings = [...RUNNEL_SETTINGS_AS_KAFKA, `log.durability.mode=${durability}`, ...args.runnelSet];
  let r: { bootstrapServers: string; pids: number[]; stop(): Promise<void> };
  try {
    if (nodes > 1) {
      // N `runnel start --config` processes shaped as scripts/kafka/kafka.ts shapes Kafka's cluster (RF 3,
      // min.insync.replicas 2, internal topics RF 3); CPU and RSS are summed over the N processes, as for Kafka.
      const properties = Object.fromEntries(settings.map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]));
      r = await startRunnelCluster({ nodes, mode, properties });
    } else {
      const single = await startRunnel({ port, mode, extra: settings.flatMap((kv) => ['--set', kv]) });
      r = { bootstrapServers: single.bootstrapServers, pids: [single.pid], stop: single.stop };
    }
  } catch (e) {
    return `n/a (Runnel did not start: ${(e as Error).message.slice(0, 300)})`;
  }
  const b: Broker = { kind: `runnel ${durability}`, bootstrap: r.bootstrapServers, pids: r.pids, stop: r.stop };
  try {
    await produceUntilSuccess(r.bootstrapServers.split(',')[0]!, 'bench-first-produce', quick ? 10_000 : nodes > 1 ? 60_000 : 20_000);
    b.firstProduceMs = Date.now() - t0;
  } catch (e) {
    b.firstProduceError = (e as Error).message;
  }
  return b;
}

function buildRunnel(): RunnelMode {
  const want = (args.runnelMode ?? 'dist') as RunnelMode;
  if (want === 'src') return 'src';
  progress('building Runnel (npm run build → dist/)');
  const r = spawnSync('npm', ['run', '--silent', 'build'], { cwd: REPO, encoding: 'utf8' });
  if (r.status === 0 && existsSync(join(REPO, 'dist', 'src', 'cli', 'main.js'))) return 'dist';
  progress(`build failed, running Runnel from source through tsx instead: ${(r.stdout + r.stderr).trim().split('\n').slice(-2).join(' ')}`);
  return 'src';
}

const fmt = (n: number | undefined, digits = 0): string => (n === undefined || !Number.isFinite(n) ? '' : n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits }));
const ratio = (r: number | undefined, k: number | undefined): string => (r === undefined || k === undefined || k === 0 ? '' : `${(r / k).toFixed(2)}×`);

function renderTable(rows: Row[], startup: Array<{ topology: string; broker: BrokerKind; ms?: number; note?: string }>): string {
  const head = ['topology', 'workload', 'broker', 'msg/s', 'MB/s', 'p50 ms', 'p99 ms', 'p99.9 ms', 'CPU-s/M msg', 'peak RSS MB', 'note'];
  const out: string[][] = [];
  const keys = [...new Set(rows.map((r) => `${r.topology}|${r.workload}`))];
  for (const key of keys) {
    const [topology, workload] = key.split('|') as [string, string];
    const group = rows.filter((r) => r.topology === topology && r.workload === workload);
    const k = group.find((r) => r.broker === 'kafka');
    const kFsync = group.find((r) => r.broker === 'kafka fsync');
    const others = group.filter((r) => r.broker.startsWith('runnel'));
    for (const row of [k, kFsync, ...others]) {
      if (!row) continue;
      out.push([topology, workload, row.broker, fmt(row.msgPerSec), fmt(row.mbPerSec, 2), fmt(row.p50Ms, 1), fmt(row.p99Ms, 1), fmt(row.p999Ms, 1),
        fmt(row.cpuSecPerMillion, 2), fmt(row.peakRssMb), row.status === 'ok' ? samplesNote(row) : (row.status === 'n/a' ? row.note ?? 'n/a' : `${row.status}: ${row.note ?? ''}`).slice(0, 110)]);
    }
    const pairs: Array<readonly [Row, Row | undefined, string]> = others.map((r) => [r, k, 'kafka'] as const);
    const runnelFsync = others.find((r) => r.broker === 'runnel fsync');
    if (runnelFsync && kFsync) pairs.push([runnelFsync, kFsync, 'kafka fsync']);
    for (const [r, base, baseLabel] of pairs) {
      const label = `${r.broker} / ${baseLabel}`;
      if (base?.status === 'ok' && r.status === 'ok') {
        out.push(['', '', label, ratio(r.msgPerSec, base.msgPerSec), ratio(r.mbPerSec, base.mbPerSec), ratio(r.p50Ms, base.p50Ms), ratio(r.p99Ms, base.p99Ms),
          ratio(r.p999Ms, base.p999Ms), ratio(r.cpuSecPerMillion, base.cpuSecPerMillion), ratio(r.peakRssMb, base.peakRssMb), '']);
      } else {
        out.push(['', '', label, 'n/a', '', '', '', '', '', '', '']);
      }
    }
  }
  const main = markdown(head, out, (i) => i >= 3 && i <= 9);
  const sHead = ['topology', 'broker', 'start → first produce', 'ratio to kafka'];
  const sRows = startup.map((x) => {
    const k = startup.find((y) => y.topology === x.topology && y.broker === 'kafka');
    const cell = x.ms !== undefined ? `${fmt(x.ms)} ms` : `n/a${x.note ? ` (${x.note.replace(/^n\/a \((.*)\)$/, '$1').slice(0, 80)})` : ''}`;
    return [x.topology, x.broker, cell, x.broker === 'kafka' ? '' : x.ms !== undefined && k?.ms !== undefined ? ratio(x.ms, k.ms) : 'n/a'];
  });
  return `${main}\n\n${markdown(sHead, sRows, (i) => i > 1)}`;
}

function samplesNote(row: Row): string {
  if (!row.samples || row.samples.length < 2) return '';
  return `median of ${row.samples.length} (${fmt(Math.min(...row.samples))}–${fmt(Math.max(...row.samples))})`;
}

function markdown(head: string[], rows: string[][], right: (i: number) => boolean): string {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cols: string[]): string => `| ${cols.map((c, i) => (right(i) ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join(' | ')} |`;
  return [line(head), `|${widths.map((w, i) => (right(i) ? `${'-'.repeat(w + 1)}:` : '-'.repeat(w + 2))).join('|')}|`, ...rows.map(line)].join('\n');
}

async function main(): Promise<void> {
  progress(`${quick ? 'quick' : 'full'} run: ${RECORDS.toLocaleString('en-US')} records per produce row, ${E2E_MESSAGES} end-to-end messages, topologies ${TOPOLOGIES.join(', ')}`);
  assembleKafka((s) => progress(s));
  const mode = buildRunnel();
  const rows: Row[] = [];
  const startup: Array<{ topology: string; broker: BrokerKind; ms?: number; note?: string }> = [];
  const runTag = Date.now().toString(36);
  for (const topology of TOPOLOGIES) {
    const nodes = topology === 'cluster' ? 3 : 1;
    const rf = nodes;
    const label = nodes === 1 ? 'single node' : '3 nodes RF 3';
    progress(`${label}: starting Apache Kafka ${KAFKA_VERSION}`);
    const kafka = await startKafkaBroker(nodes);
    startup.push({ topology: label, broker: 'kafka', ms: kafka.firstProduceMs, note: kafka.firstProduceError });
    progress(`${label}: kafka ready, first produce after ${kafka.firstProduceMs ?? 'n/a'} ms`);
    const kafkas: Array<{ kind: string; broker: Broker }> = [];
    if (KAFKA_DURABILITY.includes('none')) kafkas.push({ kind: 'kafka', broker: kafka });
    if (KAFKA_DURABILITY.includes('fsync')) kafkas.push({ kind: 'kafka fsync', broker: { ...kafka, kind: 'kafka fsync', topicConfigs: KAFKA_FSYNC_TOPIC_CONFIGS, topicTag: '-fsync' } });
    // Every Runnel variant is started once per topology; a variant that cannot run is a reason string.
    const runnels: Array<{ kind: string; broker?: Broker; na?: string }> = [];
    for (const durability of RUNNEL_DURABILITY) {
      const kind = `runnel ${durability}`;
      progress(`${label}: starting ${kind} (${mode})`);
      const r = await startRunnelBroker(nodes, await freePort(), mode, durability);
      if (typeof r === 'string') {
        runnels.push({ kind, na: r });
        startup.push({ topology: label, broker: kind, note: r });
        continue;
      }
      startup.push({ topology: label, broker: kind, ms: r.firstProduceMs, note: r.firstProduceError });
      const na = r.firstProduceMs === undefined ? `n/a (Runnel does not serve Produce yet: ${r.firstProduceError})` : undefined;
      runnels.push({ kind, broker: r, na });
      progress(`${label}: ${kind} ${na ?? `first produce after ${r.firstProduceMs} ms`}`);
    }
    try {
      for (const w of workloads()) {
        const tag = `${runTag}-${nodes}`;
        const all: Array<{ kind: string; broker?: Broker; na?: string }> = [...kafkas, ...runnels];
        const missing = w.missing?.();
        if (missing) {
          for (const v of all) rows.push({ topology: label, workload: w.name, broker: v.kind, status: 'n/a', note: missing });
          progress(`${label} · ${w.name}: ${missing}`);
          continue;
        }
        const reps = w.repeat ? REPEAT : 1;
        const samples = new Map<string, Row[]>(all.map((v) => [v.kind, []]));
        for (let rep = 0; rep < reps; rep++) {
          // Rotating order: repetition r starts with broker r mod n.
          for (let i = 0; i < all.length; i++) {
            const v = all[(i + rep) % all.length]!;
            if (v.na || !v.broker) continue;
            const step = `${label} · ${w.name}${reps > 1 ? ` · run ${rep + 1}/${reps}` : ''} · ${v.kind}`;
            progress(`${step} …`);
            const r = await w.run(v.broker, label, rf, tag, rep);
            samples.get(v.kind)!.push(r);
            progress(`${step}: ${r.status === 'ok' ? `${fmt(r.msgPerSec)} msg/s, p99 ${fmt(r.p99Ms, 1)} ms` : `${r.status} ${r.note}`}`);
          }
        }
        for (const v of all) {
          rows.push(v.na || !v.broker ? { topology: label, workload: w.name, broker: v.kind, status: 'n/a', note: v.na } : medianRow(samples.get(v.kind)!));
        }
      }
    } finally {
      await kafka.stop();
      for (const v of runnels) await v.broker?.stop();
    }
  }
  const table = renderTable(rows, startup);
  const machine = `${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ${Math.round(totalmem() / 2 ** 30)} GiB RAM, Node ${process.version}, Java ${javaVersion()}, load average at end ${loadavg().map((l) => l.toFixed(1)).join(' ')}`;
  const command = `npm run bench --${argv.length ? ` ${argv.join(' ')}` : ''}`;
  const result = {
    command, date: new Date().toISOString(), machine, quick, kafkaVersion: KAFKA_VERSION, runnelMode: mode,
    load: { recordSize: RECORD_SIZE, records: RECORDS, franzRecords: FRANZ_RECORDS, repeat: REPEAT, e2eMessages: E2E_MESSAGES, partitions: PARTITIONS, producerProps: PRODUCER_PROPS, franzProps: 'franz-go defaults, compression none, 5 requests in flight', throughput: -1 },
    startup, rows, table,
  };
  const dir = join(REPO, 'bench', 'results');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `${result.date.replace(/[:.]/g, '-')}-${quick ? 'quick' : 'full'}.json`);
  writeFileSync(file, JSON.stringify(result, null, 2) + '\n');
  console.log(`\n${command}\n${machine}\nrecords ${RECORD_SIZE} B, ${PARTITIONS} partitions, throughput unlimited; java rows ${RECORDS.toLocaleString('en-US')} records, batch.size=16384 linger.ms=5; franz-go rows ${FRANZ_RECORDS.toLocaleString('en-US')} records, franz-go defaults; produce rows ×${REPEAT} (median); Runnel ${mode === 'dist' ? 'built (dist/)' : 'from source (tsx)'}${args.runnelSet.length ? `, --set ${args.runnelSet.join(' ')}` : ''}\n`);
  console.log(table);
  console.log(`\nwritten ${file} in ${((Date.now() - started) / 1000).toFixed(0)} s`);
}

function javaVersion(): string {
  const r = spawnSync('java', ['-version'], { encoding: 'utf8' });
  return /version "([^"]+)"/.exec(r.stderr)?.[1] ?? '?';
}

await main();
