// Starts Runnel as a separate process (so its CPU and memory can be measured from /proc, and a crash
// cannot take the harness down): `node dist/src/cli/main.js start --port P --data-dir D`, or the same
// entry point from source through tsx when there is no build (mode 'src').
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, openSync, closeSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { apiVersionsOk, freePort, metadataBrokerCount } from './kafka-wire.js';
import { stopChild } from '../kafka/kafka.js';
import { RUNNEL_NODE_FLAGS } from '../../src/cli/node-flags.js';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

export interface RunnelProcess {
  bootstrapServers: string;
  pid: number;
  dataDir: string;
  logFile: string;
  /** Milliseconds from spawn to the first ApiVersions answer. */
  readyMs: number;
  stop(): Promise<void>;
}

export type RunnelMode = 'dist' | 'src';

export function runnelEntry(mode: RunnelMode): string[] | undefined {
  const dist = join(REPO, 'dist', 'src', 'cli', 'main.js');
  const src = join(REPO, 'src', 'cli', 'main.ts');
  if (mode === 'dist') return existsSync(dist) ? [dist] : undefined;
  return existsSync(src) ? ['--import', 'tsx', src] : undefined;
}

export async function startRunnel(opts: { port: number; mode?: RunnelMode; dataDir?: string; extra?: string[]; readyTimeoutMs?: number }): Promise<RunnelProcess> {
  const mode = opts.mode ?? 'src';
  const entry = runnelEntry(mode);
  if (!entry) throw new Error(mode === 'dist' ? 'no dist/src/cli/main.js (run npm run build)' : 'no src/cli/main.ts');
  const dataDir = opts.dataDir ?? mkdtempSync(join(tmpdir(), 'runnel-data-'));
  const logFile = join(dataDir, '..', `${dataDir.split('/').pop()}.log`);
  const out = openSync(logFile, 'a');
  const started = Date.now();
  const child: ChildProcess = spawn(process.execPath, [...RUNNEL_NODE_FLAGS, ...entry, 'start', '--port', String(opts.port), '--data-dir', dataDir,
    '--log-level', 'warn', ...(opts.extra ?? [])], { cwd: REPO, stdio: ['ignore', out, out] });
  closeSync(out);
  const address = `127.0.0.1:${opts.port}`;
  const stop = async (): Promise<void> => {
    await stopChild(child, 10_000);
    if (!opts.dataDir) rmSync(dataDir, { recursive: true, force: true });
  };
  const deadline = Date.now() + (opts.readyTimeoutMs ?? 30_000);
  for (let attempt = 0; attempt < 10_000 && Date.now() < deadline; attempt++) {
    if (child.exitCode !== null) {
      await stop();
      throw new Error(`runnel exited with code ${child.exitCode} (log: ${logFile})`);
    }
    if (await apiVersionsOk(address, 1000)) {
      return { bootstrapServers: address, pid: child.pid ?? 0, dataDir, logFile, readyMs: Date.now() - started, stop };
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  await stop();
  throw new Error(`runnel did not answer ApiVersions on ${address} within ${opts.readyTimeoutMs ?? 30_000} ms (log: ${logFile})`);
}

export interface RunnelClusterProcess {
  /** Every node's client listener, comma-separated (a client's bootstrap.servers). */
  bootstrapServers: string;
  /** One per node, in node id order (node i + 1 is pids[i]). */
  pids: number[];
  ports: number[];
  root: string;
  /** Milliseconds from spawn until every node's Metadata lists every broker. */
  readyMs: number;
  stop(): Promise<void>;
}

/**
 * A Runnel cluster of `nodes` processes, each `runnel start --config nodeN.properties` as a combined broker +
 * controller voter on 127.0.0.1 with ports from the OS (the machine is shared: never fixed ports), shaped as
 * scripts/kafka/kafka.ts shapes Kafka's cluster: default.replication.factor and the internal topics' RF = min(3, nodes),
 * min.insync.replicas 2 from 3 nodes. `properties` adds or overrides node properties (the same on every node).
 * Resolves once every node's Metadata lists all `nodes` brokers; logs in <root>/nodeN.log.
 */
export async function startRunnelCluster(opts: {
  nodes: number; mode?: RunnelMode; properties?: Record<string, string>; readyTimeoutMs?: number;
  /** Extra Node.js flags for node `nodeId` (1-based), e.g. --cpu-prof for a profile probe. */
  nodeFlags?: (nodeId: number) => string[];
}): Promise<RunnelClusterProcess> {
  const mode = opts.mode ?? 'src';
  const entry = runnelEntry(mode);
  if (!entry) throw new Error(mode === 'dist' ? 'no dist/src/cli/main.js (run npm run build)' : 'no src/cli/main.ts');
  const { nodes } = opts;
  const ports: number[] = [];
  const controllerPorts: number[] = [];
  for (let i = 0; i < nodes; i++) {
    ports.push(await freePort());
    controllerPorts.push(await freePort());
  }
  const root = mkdtempSync(join(tmpdir(), 'runnel-cluster-'));
  const rf = String(Math.min(3, nodes));
  const minIsr = nodes >= 3 ? '2' : '1';
  const voters = ports.map((_, i) => `${i + 1}@127.0.0.1:${controllerPorts[i]}`).join(',');
  const children: ChildProcess[] = [];
  const started = Date.now();
  for (let i = 0; i < nodes; i++) {
    const properties: Record<string, string> = {
      'process.roles': 'broker,controller',
      'node.id': String(i + 1),
      'controller.quorum.voters': voters,
      listeners: `PLAINTEXT://127.0.0.1:${ports[i]},CONTROLLER://127.0.0.1:${controllerPorts[i]}`,
      'advertised.listeners': `PLAINTEXT://127.0.0.1:${ports[i]}`,
      'controller.listener.names': 'CONTROLLER',
      'inter.broker.listener.name': 'PLAINTEXT',
      'listener.security.protocol.map': 'CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT',
      'log.dirs': join(root, `node${i + 1}`),
      'default.replication.factor': rf,
      'min.insync.replicas': minIsr,
      'offsets.topic.replication.factor': rf,
      'transaction.state.log.replication.factor': rf,
      'transaction.state.log.min.isr': minIsr,
      ...opts.properties,
    };
    const config = join(root, `node${i + 1}.properties`);
    writeFileSync(config, Object.entries(properties).map(([k, v]) => `${k}=${v}`).join('\n') + '\n');
    const out = openSync(join(root, `node${i + 1}.log`), 'a');
    children.push(spawn(process.execPath, [...RUNNEL_NODE_FLAGS, ...(opts.nodeFlags?.(i + 1) ?? []), ...entry, 'start', '--config', config, '--log-level', 'warn'],
      { cwd: REPO, stdio: ['ignore', out, out] }));
    closeSync(out);
  }
  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    await Promise.all(children.map((c) => stopChild(c, 15_000)));
    rmSync(root, { recursive: true, force: true });
  };
  const deadline = Date.now() + (opts.readyTimeoutMs ?? 90_000);
  try {
    for (const [i, port] of ports.entries()) {
      for (let attempt = 0; ; attempt++) {
        const child = children[i]!;
        if (child.exitCode !== null || child.signalCode !== null) {
          throw new Error(`runnel node ${i + 1} exited (${child.exitCode ?? child.signalCode}): ${logTail(join(root, `node${i + 1}.log`))}`);
        }
        const brokers = await metadataBrokerCount(`127.0.0.1:${port}`, undefined, 2000).catch(() => 0);
        if (brokers >= nodes) break;
        if (Date.now() > deadline || attempt > 100_000) {
          throw new Error(`runnel node ${i + 1} did not list ${nodes} brokers within ${opts.readyTimeoutMs ?? 90_000} ms: ${logTail(join(root, `node${i + 1}.log`))}`);
        }
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  } catch (e) {
    const message = (e as Error).message;
    await stop();
    throw new Error(message);
  }
  return {
    bootstrapServers: ports.map((p) => `127.0.0.1:${p}`).join(','), pids: children.map((c) => c.pid ?? 0), ports, root,
    readyMs: Date.now() - started, stop,
  };
}

function logTail(path: string): string {
  try {
    return readFileSync(path, 'utf8').slice(-2000);
  } catch {
    return '(no log)';
  }
}
