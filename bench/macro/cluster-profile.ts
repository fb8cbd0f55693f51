// Where a 3-node Runnel cluster's CPU goes on one produce path: starts the cluster (scripts/interop/runnel.ts,
// RF 3, min.insync.replicas 2) with every node under V8's sampling profiler (--cpu-prof), creates one topic
// (RF 3, --partitions, default 1, so one node leads and two follow), drives it with franz-perf, stops the
// nodes cleanly (SIGTERM: V8 writes the profile at exit) and prints, per node, the self time by area of the
// code (src/<dir>, node: internals, GC, idle) and the heaviest functions.
//
//   node --import tsx bench/macro/cluster-profile.ts [--acks=-1] [--records 2000000] [--partitions 1]
//        [--durability fsync|none] [--mode dist|src] [--out DIR]
//
// The profiler itself costs a few percent; the figures are shares of each node's sampled time, not
// throughput (the bench measures that without a profiler). Needs franz-perf and Kafka's tools
// (bash scripts/interop/setup.sh --only kafka,go).
import { mkdirSync, readdirSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { startRunnelCluster, type RunnelMode } from '../../scripts/interop/runnel.js';
import { javaClasspath } from '../../scripts/kafka/kafka.js';
import { partitionLeader } from '../../scripts/interop/kafka-wire.js';
import { FRANZ_PERF, parseProducerSummary, runProcess } from './load-tools.js';

const { values } = parseArgs({
  options: {
    acks: { type: 'string', default: '-1' },
    records: { type: 'string', default: '2000000' },
    partitions: { type: 'string', default: '1' },
    durability: { type: 'string', default: 'fsync' },
    mode: { type: 'string' },
    out: { type: 'string' },
    top: { type: 'string', default: '25' },
  },
});
const records = Number(values.records);
const partitions = Number(values.partitions);
const mode: RunnelMode = (values.mode as RunnelMode | undefined) ?? (existsSync('dist/src/cli/main.js') ? 'dist' : 'src');
const out = values.out ?? join(tmpdir(), `runnel-cluster-profile-${Date.now().toString(36)}`);
const top = Number(values.top);

interface ProfileNode { id: number; callFrame: { functionName: string; url: string; lineNumber: number }; hitCount?: number }
interface CpuProfile { nodes: ProfileNode[]; samples: number[]; timeDeltas: number[]; startTime: number; endTime: number }

/** src/<dir> for the project's code (source or dist), node:<module>, a package, or V8's pseudo-frames. */
function area(frame: ProfileNode['callFrame']): string {
  const { url, functionName } = frame;
  if (url === '') return functionName.startsWith('(') ? functionName : '(native)';
  const src = /\/(?:dist\/)?src\/([^/]+)\//.exec(url);
  if (src && !url.includes('node_modules')) return `src/${src[1]}`;
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (pkg) return pkg[1]!;
  if (url.startsWith('node:')) return url.split('/').slice(0, 2).join('/');
  return url;
}

function where(frame: ProfileNode['callFrame']): string {
  const file = frame.url.replace(/^file:\/\/.*?\/(?:dist\/)?(src\/)/, '$1').replace(/^file:\/\/.*node_modules\//, '');
  return `${frame.functionName || '(anonymous)'} ${file}${frame.url ? `:${frame.lineNumber + 1}` : ''}`;
}

function summarize(path: string): string {
  const profile = JSON.parse(readFileSync(path, 'utf8')) as CpuProfile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map<number, number>();
  for (let i = 0; i < profile.samples.length; i++) {
    const id = profile.samples[i]!;
    self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
  }
  const areas = new Map<string, number>();
  const functions = new Map<string, number>();
  let total = 0;
  let idle = 0;
  for (const [id, us] of self) {
    const frame = byId.get(id)!.callFrame;
    total += us;
    if (frame.functionName === '(idle)') { idle += us; continue; }
    const a = area(frame);
    areas.set(a, (areas.get(a) ?? 0) + us);
    const f = where(frame);
    functions.set(f, (functions.get(f) ?? 0) + us);
  }
  const busy = total - idle;
  const pct = (us: number): string => `${((100 * us) / busy).toFixed(1).padStart(5)} %`;
  const lines = [`${path}: ${(total / 1e6).toFixed(1)} s sampled, ${(busy / 1e6).toFixed(1)} s busy (${((100 * busy) / total).toFixed(0)} %), shares of busy time:`];
  lines.push('  by area:');
  for (const [a, us] of [...areas].sort((x, y) => y[1] - x[1]).slice(0, 16)) lines.push(`    ${pct(us)}  ${a}`);
  lines.push(`  top ${top} functions (self time):`);
  for (const [f, us] of [...functions].sort((x, y) => y[1] - x[1]).slice(0, top)) lines.push(`    ${pct(us)}  ${f}`);
  return lines.join('\n');
}

async function main(): Promise<void> {
  if (!existsSync(FRANZ_PERF)) throw new Error(`${FRANZ_PERF} not built: bash scripts/interop/setup.sh --only go`);
  mkdirSync(out, { recursive: true });
  const log = (s: string): void => { process.stderr.write(`[cluster-profile] ${s}\n`); };
  log(`3 nodes (${mode}), log.durability.mode=${values.durability}, profiles in ${out}`);
  const cluster = await startRunnelCluster({
    nodes: 3, mode,
    properties: { 'log.durability.mode': values.durability!, 'group.initial.rebalance.delay.ms': '0', 'offsets.topic.num.partitions': '10' },
    nodeFlags: (id) => ['--cpu-prof', '--cpu-prof-dir', join(out, `node${id}`)],
  });
  let summary = '';
  try {
    const topic = `profile-acks${values.acks!.replace('-', 'm')}`;
    const create = await runProcess('java', ['-Xmx256m', '-cp', javaClasspath(), 'org.apache.kafka.tools.TopicCommand', '--bootstrap-server', cluster.bootstrapServers,
      '--create', '--topic', topic, '--partitions', String(partitions), '--replication-factor', '3'], 120_000);
    if (create.code !== 0) throw new Error(`create topic: ${create.out.slice(-500)}`);
    const first = cluster.bootstrapServers.split(',')[0]!;
    let leader: string | undefined;
    for (let i = 0; i < 300 && leader === undefined; i++) {
      leader = await partitionLeader(first, topic).catch(() => undefined);
      if (leader === undefined) await new Promise((r) => setTimeout(r, 100));
    }
    const leaderNode = leader === undefined ? -1 : cluster.ports.indexOf(Number(leader.split(':')[1])) + 1;
    log(`topic ${topic}: ${partitions} partition(s), RF 3; partition 0 led by node ${leaderNode}`);
    const perf = await runProcess(FRANZ_PERF, ['--bootstrap', cluster.bootstrapServers, '--topic', topic, '--num-records', String(records),
      '--record-size', '100', '--acks', values.acks!], 600_000);
    const s = parseProducerSummary(perf.out);
    summary = s === undefined ? `franz-perf failed: ${perf.out.slice(-500)}` : `franz-perf acks=${values.acks} ${records} records: ${s.msgPerSec.toFixed(0)} msg/s, p50 ${s.p50Ms} ms, p99 ${s.p99Ms} ms (under the profiler); partition 0 leader: node ${leaderNode}`;
    log(summary);
  } finally {
    await cluster.stop();
  }
  const report = [summary];
  for (let id = 1; id <= 3; id++) {
    const dir = join(out, `node${id}`);
    const files = existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('.cpuprofile')) : [];
    if (files.length === 0) { report.push(`node ${id}: no profile written`); continue; }
    report.push(`node ${id}:\n${summarize(join(dir, files[0]!))}`);
  }
  const text = report.join('\n\n');
  writeFileSync(join(out, 'summary.txt'), text + '\n');
  console.log(text);
}

await main();
