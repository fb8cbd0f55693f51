/**
 * The cluster under chaos: N `runnel start --config nodeN.properties` processes (combined broker +
 * controller, Kafka's KRaft property names), each inside its own network namespace (test/chaos/net.ts)
 * at 10.223.23.<id + 1>, ports 9092 (PLAINTEXT) and 9093 (CONTROLLER). `ip netns exec` execs the node, so
 * the child's pid is the node's: SIGKILL / SIGSTOP / SIGCONT reach it directly. Each node's output is
 * appended to <root>/node-<id>.log across restarts (the evidence for a write-up).
 * With broker 'kafka' the same properties start Apache Kafka 4.4.0 (`kafka.Kafka`, storage formatted
 * with `kafka.tools.StorageTool` first): the reference the checker is proven against (issue #23).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createWriteStream, writeFileSync, type WriteStream } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { RUNNEL_NODE_FLAGS } from '../../src/cli/node-flags.js';
import { kafkaLibs } from '../../scripts/kafka/kafka.js';
import { REPO } from '../faults/standalone-broker.js';
import { inNamespace, nodeAddress } from './net.js';
import { brokerIds, type Endpoint } from './probe.js';

export const BROKER_PORT = 9092;
const CONTROLLER_PORT = 9093;
const READY_MS = 90_000;

export interface ChaosNode {
  readonly id: number;
  readonly address: string;
  readonly endpoint: Endpoint;
  readonly dataDir: string;
  readonly configPath: string;
  child: ChildProcess | undefined;
  paused: boolean;
  tail: string;
}

export type BrokerKind = 'runnel' | 'kafka';

/** Kafka's server log goes to a file in the node's directory; its stdout to the node log. */
const KAFKA_LOG4J2 = ['status = warn', 'appender.file.type = File', 'appender.file.name = file',
  'appender.file.fileName = ${sys:kafka.logs.dir}/server.log', 'appender.file.layout.type = PatternLayout',
  'appender.file.layout.pattern = [%d] %p %m (%c)%n', 'rootLogger.level = INFO', 'rootLogger.appenderRef.file.ref = file', ''].join('\n');
const KAFKA_JVM = ['-Xms256m', '-Xmx512m', '-XX:+UseSerialGC', '-Djava.awt.headless=true'];

export const alive = (n: ChaosNode): boolean => n.child !== undefined && n.child.exitCode === null && n.child.signalCode === null;

export class ChaosCluster {
  readonly nodes: ChaosNode[] = [];
  private readonly logs = new Map<number, WriteStream>();

  constructor(readonly root: string, readonly count: number, private readonly properties: Record<string, string>, private readonly logLevel: string,
    readonly broker: BrokerKind = 'runnel') {
    for (let id = 1; id <= count; id++) {
      const address = nodeAddress(id);
      this.nodes.push({
        id, address, endpoint: { host: address, port: BROKER_PORT }, dataDir: join(root, `node-${id}`),
        configPath: join(root, `node${id}.properties`), child: undefined, paused: false, tail: '',
      });
    }
  }

  get bootstrap(): string {
    return this.nodes.map((n) => `${n.address}:${BROKER_PORT}`).join(',');
  }

  node(id: number): ChaosNode {
    const n = this.nodes.find((x) => x.id === id);
    if (n === undefined) throw new Error(`no node ${id}`);
    return n;
  }

  async writeConfigs(): Promise<void> {
    const voters = this.nodes.map((n) => `${n.id}@${n.address}:${CONTROLLER_PORT}`).join(',');
    for (const n of this.nodes) {
      await mkdir(n.dataDir, { recursive: true });
      const properties: Record<string, string> = {
        'process.roles': 'broker,controller',
        'node.id': String(n.id),
        'controller.quorum.voters': voters,
        listeners: `PLAINTEXT://${n.address}:${BROKER_PORT},CONTROLLER://${n.address}:${CONTROLLER_PORT}`,
        'advertised.listeners': `PLAINTEXT://${n.address}:${BROKER_PORT}`,
        'controller.listener.names': 'CONTROLLER',
        'inter.broker.listener.name': 'PLAINTEXT',
        'listener.security.protocol.map': 'CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT',
        'log.dirs': n.dataDir,
        'default.replication.factor': String(Math.min(3, this.count)),
        'offsets.topic.replication.factor': String(Math.min(3, this.count)),
        ...(this.broker === 'kafka' ? {
          'transaction.state.log.replication.factor': String(Math.min(3, this.count)),
          'transaction.state.log.min.isr': '2',
          'group.initial.rebalance.delay.ms': '0',
        } : {}),
        ...this.properties,
      };
      await writeFile(n.configPath, Object.entries(properties).map(([k, v]) => `${k}=${v}`).join('\n') + '\n');
    }
    if (this.broker === 'kafka') this.formatKafka();
  }

  private formatKafka(): void {
    const clusterId = randomBytes(16).toString('base64url').slice(0, 22);
    for (const n of this.nodes) {
      writeFileSync(`${n.dataDir}-log4j2.properties`, KAFKA_LOG4J2);
      const r = spawnSync('java', ['-Xmx256m', '-cp', `${kafkaLibs()}/*`, `-Dkafka.logs.dir=${n.dataDir}-server-log`,
        `-Dlog4j2.configurationFile=${n.dataDir}-log4j2.properties`, 'kafka.tools.StorageTool', 'format', '-t', clusterId, '-c', n.configPath],
      { encoding: 'utf8', timeout: 120_000 });
      if (r.status !== 0) throw new Error(`kafka storage format of node ${n.id}: ${r.stdout}${r.stderr}`);
    }
  }

  private command(n: ChaosNode): { command: string; args: string[] } {
    if (this.broker === 'kafka') {
      return inNamespace(n.id, 'java', [...KAFKA_JVM, '-cp', `${kafkaLibs()}/*`, `-Dkafka.logs.dir=${n.dataDir}-server-log`,
        `-Dlog4j2.configurationFile=${n.dataDir}-log4j2.properties`, 'kafka.Kafka', n.configPath]);
    }
    return inNamespace(n.id, process.execPath, [...RUNNEL_NODE_FLAGS, '--import', 'tsx',
      join(REPO, 'src', 'cli', 'main.ts'), 'start', '--config', n.configPath, '--log-level', this.logLevel]);
  }

  spawn(id: number): void {
    const n = this.node(id);
    if (alive(n)) throw new Error(`node ${id} is already running`);
    let log = this.logs.get(id);
    if (log === undefined) {
      log = createWriteStream(join(this.root, `node-${id}.log`), { flags: 'a' });
      this.logs.set(id, log);
    }
    log.write(`\n=== harness: node ${id} started at ${new Date().toISOString()}\n`);
    const { command, args } = this.command(n);
    const child = spawn(command, args, { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] });
    const out = log;
    const append = (d: Buffer): void => {
      out.write(d);
      n.tail = (n.tail + d.toString()).slice(-4000);
    };
    child.stdout?.on('data', append);
    child.stderr?.on('data', append);
    n.child = child;
    n.paused = false;
  }

  /** Waits until node id answers Metadata listing itself (registered and unfenced), bounded. */
  async waitRegistered(id: number, expectAll = false, timeoutMs = READY_MS): Promise<void> {
    const n = this.node(id);
    const deadline = Date.now() + timeoutMs;
    for (let attempt = 0; attempt < 10_000 && Date.now() < deadline; attempt++) {
      if (!alive(n)) throw new Error(`node ${id} exited (${n.child?.exitCode ?? n.child?.signalCode}): ${n.tail.slice(-2000)}`);
      const ids = await brokerIds(n.endpoint).catch((): number[] => []);
      if (expectAll ? ids.length >= this.count : ids.includes(id)) return;
      await sleep(250);
    }
    throw new Error(`node ${id} not registered within ${timeoutMs} ms: ${n.tail.slice(-2000)}`);
  }

  async startAll(): Promise<void> {
    for (const n of this.nodes) this.spawn(n.id);
    await Promise.all(this.nodes.map((n) => this.waitRegistered(n.id, true)));
  }

  /** SIGKILL (after SIGCONT if paused, so the kernel reaps it at once) and wait for the exit, bounded. */
  async kill9(id: number): Promise<void> {
    const n = this.node(id);
    const child = n.child;
    if (child === undefined || !alive(n)) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGKILL');
    if (n.paused) child.kill('SIGCONT');
    n.paused = false;
    await Promise.race([exited, sleep(10_000)]);
  }

  pause(id: number): void {
    const n = this.node(id);
    if (!alive(n) || n.paused) return;
    n.child?.kill('SIGSTOP');
    n.paused = true;
  }

  resume(id: number): void {
    const n = this.node(id);
    if (!n.paused) return;
    if (alive(n)) n.child?.kill('SIGCONT');
    n.paused = false;
  }

  /** Every node resumed and killed; log files closed. Never throws. */
  async close(): Promise<void> {
    for (const n of this.nodes) {
      try {
        this.resume(n.id);
        await this.kill9(n.id);
      } catch {
        // best effort: close must reach every node
      }
    }
    for (const log of this.logs.values()) log.end();
    this.logs.clear();
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
