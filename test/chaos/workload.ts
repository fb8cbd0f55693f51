/**
 * The chaos workloads: Kafka's own test clients from the kafka-tools jar (Apache Kafka 4.4.0, assembled by
 * scripts/kafka/kafka.ts under ~/.cache/runnel): VerifiableProducer (acks=all, idempotent or not) and
 * VerifiableConsumer (a group member, --verbose: one line per record). Each client's stdout goes to
 * <root>/<name>.jsonl (the raw history) and to its recorder (test/chaos/history.ts).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createWriteStream, existsSync, readdirSync, type WriteStream } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { kafkaLibs } from '../../scripts/kafka/kafka.js';
import { ConsumerRecorder, ProducerRecorder } from './history.js';

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

export class JavaClient {
  readonly child: ChildProcess;
  readonly exited: Promise<number | null>;
  private readonly out: WriteStream;
  private readonly err: WriteStream;
  private errTail = '';
  private stopping = false;

  constructor(readonly name: string, mainClass: string, args: string[], root: string, onLine: (line: string) => void) {
    this.out = createWriteStream(join(root, `${name}.jsonl`), { flags: 'a' });
    this.err = createWriteStream(join(root, `${name}.stderr`), { flags: 'a' });
    this.child = spawn('java', [...JVM_FLAGS, '-cp', `${kafkaLibs()}/*`, mainClass, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
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
    await Promise.race([this.exited, new Promise((r) => setTimeout(r, graceMs + 5_000))]);
    clearTimeout(timer);
  }

  kill(): void {
    this.stopping = true;
    if (this.running) this.child.kill('SIGKILL');
  }
}

export interface ProducerOptions { readonly idempotent: boolean; readonly prefix: number; readonly throughput: number; readonly acks: 'all' | '1' }

export async function startProducer(root: string, bootstrap: string, topic: string, options: ProducerOptions, startMs: number): Promise<{ client: JavaClient; recorder: ProducerRecorder }> {
  const name = `producer-${options.idempotent ? 'idempotent' : 'plain'}-${options.prefix}`;
  const config = join(root, `${name}.properties`);
  // acks=all with and without idempotence (Kafka 3.0+ turns it on by default; off, retries may duplicate).
  // VerifiableProducer sets retries=0 unless told otherwise (and the idempotent producer refuses that):
  // both retry, so the non-idempotent one may write a record twice, which the checker counts and allows.
  // delivery.timeout.ms bounds how long a send is retried across a fault before the client gives up.
  await writeFile(config, [`enable.idempotence=${options.idempotent}`, `acks=${options.acks}`, 'retries=2147483647', 'max.in.flight.requests.per.connection=5',
    'delivery.timeout.ms=120000', 'request.timeout.ms=15000', ''].join('\n'));
  const recorder = new ProducerRecorder(name, options.prefix, options.idempotent, startMs);
  const client = new JavaClient(name, 'org.apache.kafka.tools.VerifiableProducer', [
    '--topic', topic, '--bootstrap-server', bootstrap, '--acks', options.acks === 'all' ? '-1' : '1', '--throughput', String(options.throughput),
    '--value-prefix', String(options.prefix), '--repeating-keys', '1000', '--command-config', config,
  ], root, (line) => recorder.line(line));
  return { client, recorder };
}

export function startConsumer(root: string, bootstrap: string, topic: string, name: string, group: string, startMs: number, maxMessages = -1): { client: JavaClient; recorder: ConsumerRecorder } {
  const recorder = new ConsumerRecorder(name, group, startMs);
  const client = new JavaClient(name, 'org.apache.kafka.tools.VerifiableConsumer', [
    '--topic', topic, '--bootstrap-server', bootstrap, '--group-id', group, '--verbose', '--reset-policy', 'earliest',
    '--max-messages', String(maxMessages), '--session-timeout', '30000',
  ], root, (line) => recorder.line(line));
  return { client, recorder };
}
