// Apache Kafka as a reference broker: assemble (Maven Central → ~/.cache/runnel/kafka-<v>/libs),
// format KRaft storage (kafka.tools.StorageTool), start and stop a single node or a 3-node cluster
// (combined broker+controller nodes on 127.0.0.1, distinct ports).
//
// CLI:  npx tsx scripts/kafka/kafka.ts assemble
//       npx tsx scripts/kafka/kafka.ts start [--nodes 1|3] [--port P (default: free ports)] [--data-dir D]   (runs until Ctrl-C / SIGTERM)
//       npx tsx scripts/kafka/kafka.ts stop --data-dir D      (stops the nodes a `start --data-dir D` left running)
// API:  startKafka({ nodes, basePort }) → { bootstrapServers, nodes: [{ pid, port }], stop() }
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync, openSync, closeSync, mkdtempSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { waitForBrokers, freePort } from '../interop/kafka-wire.js';

export const KAFKA_VERSION = '4.4.0';
const here = dirname(fileURLToPath(import.meta.url));

export function kafkaHome(): string {
  return process.env.RUNNEL_KAFKA_HOME ?? join(homedir(), '.cache', 'runnel', `kafka-${KAFKA_VERSION}`);
}

export function kafkaLibs(): string {
  return join(kafkaHome(), 'libs');
}

export interface ProcessResult { code: number | null; stdout: string; stderr: string }

/** Runs a command to its exit, collecting its output; SIGKILL after timeoutMs (the tests' tool runner). */
export function runProcess(command: string, args: string[], timeoutMs: number): Promise<ProcessResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (d: Buffer) => { stdout += d.toString(); });
    child.stderr!.on('data', (d: Buffer) => { stderr += d.toString(); });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', (err) => { clearTimeout(timer); reject(err); });
    child.on('close', (code) => { clearTimeout(timer); resolve({ code, stdout, stderr }); });
  });
}

/** One of Kafka's command-line tools by its main class (e.g. org.apache.kafka.tools.TopicCommand), quiet logging. */
export function runKafkaTool(mainClass: string, args: string[], timeoutMs: number): Promise<ProcessResult> {
  return runProcess('java', ['-Xmx256m', '-Dlog4j2.level=warn', '-cp', `${kafkaLibs()}/*`, mainClass, ...args], timeoutMs);
}

export function kafkaAssembled(): boolean {
  const libs = kafkaLibs();
  if (!existsSync(libs)) return false;
  const files = readdirSync(libs);
  return ['kafka_2.13-', 'kafka-tools-', 'log4j-slf4j-impl-'].every((p) => files.some((f) => f.startsWith(p)));
}

/** Idempotent: copies Kafka's runtime classpath from Maven Central into the cache. */
export function assembleKafka(log: (s: string) => void = () => {}): void {
  if (kafkaAssembled()) return;
  log(`assembling Apache Kafka ${KAFKA_VERSION} into ${kafkaLibs()} (Maven Central)`);
  mkdirSync(kafkaLibs(), { recursive: true });
  const r = spawnSync('mvn', ['-q', '-B', '-f', join(here, 'pom.xml'), 'dependency:copy-dependencies',
    '-DincludeScope=runtime', `-DoutputDirectory=${kafkaLibs()}`, `-Dkafka.version=${KAFKA_VERSION}`],
  { stdio: 'inherit' });
  if (r.status !== 0 || !kafkaAssembled()) throw new Error('Kafka assembly failed (mvn dependency:copy-dependencies)');
}

export const JVM_FLAGS = ['-Xms1g', '-Xmx1g', '-XX:+UseG1GC', '-XX:MaxGCPauseMillis=20',
  '-XX:InitiatingHeapOccupancyPercent=35', '-XX:+ExplicitGCInvokesConcurrent', '-Djava.awt.headless=true'];

export interface KafkaNode { nodeId: number; port: number; controllerPort: number; pid: number; dir: string }
export interface KafkaCluster {
  bootstrapServers: string;
  nodes: KafkaNode[];
  /** Milliseconds from spawning the JVMs to every node answering Metadata with all brokers. */
  readyMs: number;
  stop(): Promise<void>;
}

export interface StartKafkaOptions {
  nodes?: number;
  /** Node i listens on basePort + i, its controller on basePort + 1000 + i; default: free ports. */
  basePort?: number;
  dataDir?: string;
  /** Port each node advertises instead of its own (a capture proxy in front of it). */
  advertisedPorts?: number[];
  extraProps?: Record<string, string>;
  readyTimeoutMs?: number;
}

function clusterId(): string {
  return randomBytes(16).toString('base64url').slice(0, 22);
}

function serverProperties(n: KafkaNode, voters: string, count: number, advertisedPort: number, extra: Record<string, string>): string {
  const rf = String(count);
  const props: Record<string, string> = {
    'process.roles': 'broker,controller',
    'node.id': String(n.nodeId),
    'controller.quorum.voters': voters,
    'listeners': `PLAINTEXT://127.0.0.1:${n.port},CONTROLLER://127.0.0.1:${n.controllerPort}`,
    'advertised.listeners': `PLAINTEXT://127.0.0.1:${advertisedPort}`,
    'controller.listener.names': 'CONTROLLER',
    'inter.broker.listener.name': 'PLAINTEXT',
    'listener.security.protocol.map': 'CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT',
    'log.dirs': join(n.dir, 'logs'),
    'num.partitions': '1',
    'default.replication.factor': rf,
    'min.insync.replicas': count >= 3 ? '2' : '1',
    'offsets.topic.replication.factor': rf,
    'offsets.topic.num.partitions': '10',
    'transaction.state.log.replication.factor': rf,
    'transaction.state.log.min.isr': count >= 3 ? '2' : '1',
    'share.coordinator.state.topic.replication.factor': rf,
    'share.coordinator.state.topic.min.isr': count >= 3 ? '2' : '1',
    'group.initial.rebalance.delay.ms': '0',
    'auto.create.topics.enable': 'true',
    'delete.topic.enable': 'true',
    ...extra,
  };
  return Object.entries(props).map(([k, v]) => `${k}=${v}`).join('\n') + '\n';
}

const LOG4J2 = `status = warn
appender.file.type = File
appender.file.name = file
appender.file.fileName = \${sys:kafka.logs.dir}/server.log
appender.file.layout.type = PatternLayout
appender.file.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = INFO
rootLogger.appenderRef.file.ref = file
logger.kafka.name = kafka
logger.kafka.level = INFO
logger.state.name = state.change.logger
logger.state.level = WARN
`;

export function javaClasspath(): string {
  return `${kafkaLibs()}/*`;
}

export async function startKafka(opts: StartKafkaOptions = {}): Promise<KafkaCluster> {
  assembleKafka();
  const count = opts.nodes ?? 1;
  const root = opts.dataDir ?? mkdtempSync(join(tmpdir(), 'runnel-kafka-'));
  const nodes: KafkaNode[] = [];
  for (let i = 0; i < count; i++) {
    const port = opts.basePort !== undefined ? opts.basePort + i : await freePort();
    const controllerPort = opts.basePort !== undefined ? opts.basePort + 1000 + i : await freePort();
    nodes.push({ nodeId: i + 1, port, controllerPort, pid: 0, dir: join(root, `node${i + 1}`) });
  }
  const voters = nodes.map((n) => `${n.nodeId}@127.0.0.1:${n.controllerPort}`).join(',');
  const cid = clusterId();
  for (const [i, n] of nodes.entries()) {
    rmSync(n.dir, { recursive: true, force: true });
    mkdirSync(join(n.dir, 'logs'), { recursive: true });
    const advertised = opts.advertisedPorts?.[i] ?? n.port;
    writeFileSync(join(n.dir, 'server.properties'), serverProperties(n, voters, count, advertised, opts.extraProps ?? {}));
    writeFileSync(join(n.dir, 'log4j2.properties'), LOG4J2);
    const fmt = spawnSync('java', ['-Xmx256m', '-cp', javaClasspath(), `-Dkafka.logs.dir=${n.dir}`,
      `-Dlog4j2.configurationFile=${join(n.dir, 'log4j2.properties')}`,
      'kafka.tools.StorageTool', 'format', '-t', cid, '-c', join(n.dir, 'server.properties')], { encoding: 'utf8' });
    if (fmt.status !== 0) throw new Error(`kafka storage format failed: ${fmt.stdout}\n${fmt.stderr}`);
  }
  const started = Date.now();
  const children: ChildProcess[] = [];
  for (const n of nodes) {
    const out = openSync(join(n.dir, 'stdout.log'), 'a');
    const child = spawn('java', [...JVM_FLAGS, '-cp', javaClasspath(), `-Dkafka.logs.dir=${n.dir}`,
      `-Dlog4j2.configurationFile=${join(n.dir, 'log4j2.properties')}`, 'kafka.Kafka', join(n.dir, 'server.properties')],
    { stdio: ['ignore', out, out], detached: false });
    closeSync(out);
    n.pid = child.pid ?? 0;
    children.push(child);
  }
  writeFileSync(join(root, 'pids'), nodes.map((n) => n.pid).join('\n') + '\n');
  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    await Promise.all(children.map((c) => stopChild(c)));
    if (!opts.dataDir) rmSync(root, { recursive: true, force: true });
  };
  const bootstrapServers = nodes.map((n, i) => `127.0.0.1:${opts.advertisedPorts?.[i] ?? n.port}`).join(',');
  // A node that exits while we wait fails the start at once (not after the ready timeout).
  let onExit: (c: ChildProcess) => void = () => {};
  const exitedEarly = new Promise<never>((_, reject) => {
    onExit = (c) => reject(new Error(`kafka node (pid ${c.pid}) exited early (code ${c.exitCode}, signal ${c.signalCode})`));
  });
  exitedEarly.catch(() => {});
  for (const c of children) c.once('exit', () => onExit(c));
  try {
    for (const n of nodes) {
      await Promise.race([waitForBrokers(`127.0.0.1:${n.port}`, count, opts.readyTimeoutMs ?? 90_000), exitedEarly]);
    }
  } catch (e) {
    // The logs go with the data directory, so their tails travel in the error.
    const logs = nodes.map((n) => `--- node ${n.nodeId} (port ${n.port}) stdout.log:\n${tail(join(n.dir, 'stdout.log'))}\n` +
      `--- node ${n.nodeId} server.log:\n${tail(join(n.dir, 'server.log'))}`).join('\n');
    onExit = () => {};
    await stop();
    throw new Error(`${(e as Error).message}\n${logs}`);
  }
  onExit = () => {};
  return { bootstrapServers, nodes, readyMs: Date.now() - started, stop };
}

/** A log's first ERROR/FATAL lines (the cause; shutdown noise follows them) and its last lines. */
function tail(path: string, lines = 8): string {
  try {
    const all = readFileSync(path, 'utf8').split('\n');
    const errors = all.filter((l) => / (ERROR|FATAL) /.test(l)).slice(0, lines).map((l) => l.slice(0, 600));
    return [...errors, errors.length > 0 ? '...' : '', ...all.slice(-lines)].filter(Boolean).join('\n');
  } catch {
    return '(none)';
  }
}

export function stopChild(c: ChildProcess, graceMs = 20_000): Promise<void> {
  return new Promise((resolve) => {
    if (c.exitCode !== null || c.signalCode !== null) { resolve(); return; }
    const t = setTimeout(() => { c.kill('SIGKILL'); }, graceMs);
    c.once('exit', () => { clearTimeout(t); resolve(); });
    c.kill('SIGTERM');
  });
}

function arg(name: string, def: string): string {
  const i = process.argv.indexOf(name);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1]! : def;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const cmd = process.argv[2];
  if (cmd === 'assemble') {
    assembleKafka((s) => console.error(s));
    console.log(kafkaLibs());
  } else if (cmd === 'start') {
    const dataDir = process.argv.includes('--data-dir') ? arg('--data-dir', '') : undefined;
    const k = await startKafka({ nodes: Number(arg('--nodes', '1')), basePort: process.argv.includes('--port') ? Number(arg('--port', '')) : undefined, dataDir });
    console.log(JSON.stringify({ bootstrapServers: k.bootstrapServers, pids: k.nodes.map((n) => n.pid), readyMs: k.readyMs }));
    const shutdown = (): void => { void k.stop().then(() => process.exit(0)); };
    process.on('SIGINT', shutdown);
    process.on('SIGTERM', shutdown);
    setInterval(() => {}, 1 << 30);
  } else if (cmd === 'stop') {
    const pidsFile = join(arg('--data-dir', ''), 'pids');
    if (!existsSync(pidsFile)) { console.error(`no ${pidsFile}`); process.exit(1); }
    for (const pid of readFileSync(pidsFile, 'utf8').split('\n').filter(Boolean).map(Number)) {
      try { process.kill(pid, 'SIGTERM'); console.log(`SIGTERM ${pid}`); } catch { /* already gone */ }
    }
  } else {
    console.error('usage: kafka.ts assemble | start [--nodes N] [--port P] [--data-dir D] | stop --data-dir D');
    process.exit(2);
  }
}
