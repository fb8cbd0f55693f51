/**
 * The chaos workloads, clients we did not write:
 * - Kafka's own test clients from the kafka-tools jar (Apache Kafka 4.4.0, assembled by
 *   scripts/kafka/kafka.ts under ~/.cache/runnel): VerifiableProducer (acks=all, idempotent or not) and
 *   VerifiableConsumer (a group member, --verbose: one line per record);
 * - franz-go (the interop program, test/interop/go/chaos.go, built by scripts/interop/setup.sh into
 *   ~/.cache/runnel/interop/franz-go/interop-franz): a paced producer (idempotent or not), a consumer by
 *   assignment (no group, every partition from its log start) and group members that log the generation
 *   of each assignment. They print the same JSON events as Kafka's tools.
 * Each client's stdout goes to <root>/<name>.jsonl (the raw history) and to its recorder (test/chaos/history.ts).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createWriteStream, existsSync, readdirSync, statSync, type WriteStream } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { kafkaLibs } from '../../scripts/kafka/kafka.js';
import { INTEROP_CACHE, REPO } from '../faults/standalone-broker.js';
import { ConsumerRecorder, ProducerRecorder } from './history.js';

export const FRANZ = join(INTEROP_CACHE, 'franz-go', 'interop-franz');
const FRANZ_SOURCES = join(REPO, 'test', 'interop', 'go');

/** Small heaps and the C1 compiler only: five JVMs share two cores with the cluster. */
const JVM_FLAGS = ['-Xms64m', '-Xmx256m', '-XX:+UseSerialGC', '-XX:TieredStopAtLevel=1'];
const STOP_GRACE_MS = 30_000;

/** Empty when java and Kafka's tools jar are there, else why not. */
export function clientsMissing(): string {
  if (spawnSync('java', ['-version']).status !== 0) return 'no java on PATH';
  const libs = kafkaLibs();
  if (!existsSync(libs) || !readdirSync(libs).some((n) => n.startsWith('kafka-tools-'))) return `no kafka-tools jar in ${libs} (npm run kafka:start assembles it)`;
  return '';
}

/**
 * Empty when the franz-go program is built, up to date with its sources and knows the chaos modes; else
 * why not. `build` runs scripts/interop/setup.sh --only go first when the binary is missing or older than a
 * source (what CI's interop set-up does), so a checkout that changed chaos.go does not run a stale client.
 */
export function franzMissing(build: boolean, log: (line: string) => void = () => {}): string {
  const stale = (): boolean => {
    if (!existsSync(FRANZ)) return true;
    const built = statSync(FRANZ).mtimeMs;
    return readdirSync(FRANZ_SOURCES).filter((n) => n.endsWith('.go') || n === 'go.sum' || n === 'go.mod')
      .some((n) => statSync(join(FRANZ_SOURCES, n)).mtimeMs > built);
  };
  if (build && stale()) {
    log(`franz-go program missing or older than test/interop/go: scripts/interop/setup.sh --only go`);
    const r = spawnSync('bash', [join(REPO, 'scripts', 'interop', 'setup.sh'), '--only', 'go'], { cwd: REPO, encoding: 'utf8', timeout: 600_000 });
    if (r.status !== 0) return `building the franz-go program failed: ${`${r.stdout}${r.stderr}`.slice(-1000)}`;
  }
  if (!existsSync(FRANZ)) return `no franz-go program at ${FRANZ} (scripts/interop/setup.sh --only go)`;
  if (stale()) return `${FRANZ} is older than test/interop/go (scripts/interop/setup.sh --only go)`;
  const usage = spawnSync(FRANZ, ['chaos-produce'], { encoding: 'utf8', timeout: 10_000 });
  if (!/usage: interop-franz chaos-produce/.test(usage.stderr ?? '')) return `${FRANZ} predates the chaos modes (scripts/interop/setup.sh --only go)`;
  return '';
}

/** A client process whose stdout is a history of JSON events (Kafka's Java tools or the franz-go program). */
export class ClientProcess {
  readonly child: ChildProcess;
  readonly exited: Promise<number | null>;
  private readonly out: WriteStream;
  private readonly err: WriteStream;
  private errTail = '';
  private stopping = false;

  constructor(readonly name: string, command: string, args: string[], root: string, onLine: (line: string) => void) {
    this.out = createWriteStream(join(root, `${name}.jsonl`), { flags: 'a' });
    this.err = createWriteStream(join(root, `${name}.stderr`), { flags: 'a' });
    this.child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let pending = '';
    this.child.stdout?.on('data', (d: Buffer) => {
      this.out.write(d);
      pending += d.toString();
      const lines = pending.split('\n');
      pending = lines.pop() ?? '';
      for (const line of lines) onLine(line);
    });
    this.child.stderr?.on('data', (d: Buffer) => {
      this.err.write(d);
      this.errTail = (this.errTail + d.toString()).slice(-4000);
    });
    this.exited = new Promise((resolve) => {
      this.child.on('close', (code) => {
        if (pending !== '') onLine(pending);
        this.out.end();
        this.err.end();
        resolve(code);
      });
    });
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** True when the client ended without being asked to. */
  get died(): boolean {
    return !this.running && !this.stopping;
  }

  get stderrTail(): string {
    return this.errTail;
  }

  /** SIGTERM (the tools' shutdown hooks flush and print their closing events), SIGKILL after the grace. */
  async stop(graceMs = STOP_GRACE_MS): Promise<void> {
    this.stopping = true;
    if (!this.running) return;
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), graceMs);
    let bound: NodeJS.Timeout | undefined;
    // Bounded: a client whose 'close' never comes must not hold the run; the timers are cleared so the
    // harness exits as soon as its work is done.
    await Promise.race([this.exited, new Promise((r) => { bound = setTimeout(r, graceMs + 5_000); })]);
    clearTimeout(timer);
    clearTimeout(bound);
  }

  kill(): void {
    this.stopping = true;
    if (this.running) this.child.kill('SIGKILL');
  }
}

/** One of Kafka's tools (a main class of the kafka-tools jar) in a small JVM. */
function javaTool(name: string, mainClass: string, args: string[], root: string, onLine: (line: string) => void): ClientProcess {
  return new ClientProcess(name, 'java', [...JVM_FLAGS, '-cp', `${kafkaLibs()}/*`, mainClass, ...args], root, onLine);
}

export interface ProducerOptions { readonly idempotent: boolean; readonly prefix: number; readonly throughput: number; readonly acks: 'all' | '1' }

export interface Producer { readonly client: ClientProcess; readonly recorder: ProducerRecorder }
export interface Reader { readonly client: ClientProcess; readonly recorder: ConsumerRecorder }

export async function startProducer(root: string, bootstrap: string, topic: string, options: ProducerOptions, startMs: number): Promise<Producer> {
  const name = `producer-${options.idempotent ? 'idempotent' : 'plain'}-${options.prefix}`;
  const config = join(root, `${name}.properties`);
  // acks=all with and without idempotence (Kafka 3.0+ turns it on by default; off, retries may duplicate).
  // VerifiableProducer sets retries=0 unless told otherwise (and the idempotent producer refuses that):
  // both retry, so the non-idempotent one may write a record twice, which the checker counts and allows.
  // delivery.timeout.ms bounds how long a send is retried across a fault before the client gives up.
  await writeFile(config, [`enable.idempotence=${options.idempotent}`, `acks=${options.acks}`, 'retries=2147483647', 'max.in.flight.requests.per.connection=5',
    'delivery.timeout.ms=120000', 'request.timeout.ms=15000', ''].join('\n'));
  const recorder = new ProducerRecorder(name, options.prefix, options.idempotent, startMs);
  const client = javaTool(name, 'org.apache.kafka.tools.VerifiableProducer', [
    '--topic', topic, '--bootstrap-server', bootstrap, '--acks', options.acks === 'all' ? '-1' : '1', '--throughput', String(options.throughput),
    '--value-prefix', String(options.prefix), '--repeating-keys', '1000', '--command-config', config,
  ], root, (line) => recorder.line(line));
  return { client, recorder };
}

export function startConsumer(root: string, bootstrap: string, topic: string, name: string, group: string, startMs: number, maxMessages = -1): Reader {
  const recorder = new ConsumerRecorder(name, group, startMs);
  const client = javaTool(name, 'org.apache.kafka.tools.VerifiableConsumer', [
    '--topic', topic, '--bootstrap-server', bootstrap, '--group-id', group, '--verbose', '--reset-policy', 'earliest',
    '--max-messages', String(maxMessages), '--session-timeout', '30000',
  ], root, (line) => recorder.line(line));
  return { client, recorder };
}

/** The franz-go producer (chaos-produce): values `<prefix>.<n>`, keys `<n mod 1000>`, paced at `throughput`/s. */
export function startFranzProducer(root: string, bootstrap: string, topic: string, options: ProducerOptions, startMs: number): Producer {
  const name = `franz-${options.idempotent ? 'idempotent' : 'plain'}-${options.prefix}`;
  const recorder = new ProducerRecorder(name, options.prefix, options.idempotent, startMs);
  const client = new ClientProcess(name, FRANZ, ['chaos-produce', bootstrap, topic, String(options.prefix), String(options.throughput),
    String(options.idempotent), options.acks], root, (line) => recorder.line(line));
  return { client, recorder };
}

/** The franz-go consumer by assignment (chaos-assign): every partition from its log start, no group. */
export function startFranzAssignReader(root: string, bootstrap: string, topic: string, partitions: number, name: string, startMs: number): Reader {
  const recorder = new ConsumerRecorder(name, null, startMs);
  const client = new ClientProcess(name, FRANZ, ['chaos-assign', bootstrap, topic, String(partitions)], root, (line) => recorder.line(line));
  return { client, recorder };
}

/** A franz-go group member (chaos-group) that logs each assignment with its generation. */
export function startFranzGroupMember(root: string, bootstrap: string, topic: string, name: string, group: string, startMs: number): Reader {
  const recorder = new ConsumerRecorder(name, group, startMs);
  const client = new ClientProcess(name, FRANZ, ['chaos-group', bootstrap, topic, group], root, (line) => recorder.line(line));
  return { client, recorder };
}
