/**
 * A real multi-node Runnel cluster inside one process, for an application's own tests of failover:
 *
 *   const cluster = await startCluster({ nodes: 3, dataDir: tmp });
 *   // clients: bootstrap.servers = cluster.bootstrapServers
 *   await cluster.killNode(2);   // abrupt: no controlled shutdown
 *   await cluster.startNode(2);  // same data directory and ports
 *   await cluster.close();
 *
 * Every node is a combined broker + controller voter (KRaft combined mode) on 127.0.0.1: the Raft
 * metadata quorum, controller, replication and client listeners are the same code a multi-process
 * cluster runs; only the process boundary is missing. Ports come from the OS and are kept across
 * restarts of a node.
 */
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { ConfigError, formatListener, isConfigName, resolveConfig, type RunnelConfig } from '../config/config.js';
import { RunnelNode } from './runnel-node.js';

export interface StartClusterOptions extends Partial<Omit<RunnelConfig, 'node.id' | 'log.dirs' | 'listeners' | 'controller.quorum.voters' | 'process.roles'>> {
  /** Number of nodes, each a broker and a controller voter (default 3). */
  readonly nodes?: number;
  /** Parent of the nodes' data directories (node-1, node-2, …); a temp directory, removed at close, when absent. */
  readonly dataDir?: string;
  readonly logger?: Logger;
}

export interface RunningCluster {
  /** host:port,… of every node, for bootstrap.servers. */
  readonly bootstrapServers: string;
  readonly nodeIds: readonly number[];
  /** A running node (undefined while stopped). */
  node(id: number): RunnelNode | undefined;
  /** Clean stop: controlled shutdown (leaderships move away first). */
  stopNode(id: number): Promise<void>;
  /** Abrupt stop: no controlled shutdown; the others see the broker's session expire. */
  killNode(id: number): Promise<void>;
  /** Starts a stopped node again on its data directory and ports. */
  startNode(id: number): Promise<void>;
  close(): Promise<void>;
}

const nonConfigOptions = new Set(['nodes', 'dataDir', 'logger']);

export async function startCluster(options: StartClusterOptions = {}): Promise<RunningCluster> {
  const count = options.nodes ?? 3;
  if (!Number.isInteger(count) || count < 1 || count > 9) throw new ConfigError('startCluster: nodes must be 1 to 9');
  const ownDir = options.dataDir === undefined;
  const root = options.dataDir ?? await mkdtemp(join(tmpdir(), 'runnel-cluster-'));
  const extra: Array<[string, string]> = [];
  for (const [key, value] of Object.entries(options)) {
    if (nonConfigOptions.has(key) || value === undefined) continue;
    if (!isConfigName(key)) throw new ConfigError(`unknown startCluster option '${key}'`);
    extra.push([key, String(value)]);
  }
  const ids = Array.from({ length: count }, (_, i) => i + 1);
  const ports = await freePorts(count * 2);
  const controllerPorts = new Map(ids.map((id, i) => [id, ports[i * 2]!]));
  const brokerPorts = new Map(ids.map((id, i) => [id, ports[i * 2 + 1]!]));
  const voters = ids.map((id) => `${id}@127.0.0.1:${controllerPorts.get(id)}`).join(',');
  const running = new Map<number, RunnelNode>();

  const configFor = (id: number): RunnelConfig => resolveConfig({
    overrides: [
      ['node.id', String(id)],
      ['process.roles', 'broker,controller'],
      ['log.dirs', join(root, `node-${id}`)],
      ['listeners', `${formatListener('127.0.0.1', brokerPorts.get(id)!)},CONTROLLER://127.0.0.1:${controllerPorts.get(id)}`],
      ['controller.quorum.voters', voters],
      ['controller.listener.names', 'CONTROLLER'],
      ['listener.security.protocol.map', 'PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT'],
      ['default.replication.factor', String(Math.min(3, count))],
      ['offsets.topic.replication.factor', String(Math.min(3, count))],
      ...extra,
    ],
  }).config;

  const start = async (id: number): Promise<void> => {
    if (running.has(id)) return;
    await mkdir(join(root, `node-${id}`), { recursive: true });
    running.set(id, await RunnelNode.start({ config: configFor(id), logger: options.logger }));
  };
  const stop = async (id: number, clean: boolean): Promise<void> => {
    const node = running.get(id);
    if (node === undefined) return;
    running.delete(id);
    await (clean ? node.close() : node.kill());
  };

  // Nodes start together: each waits for a quorum of the others.
  await Promise.all(ids.map((id) => start(id))).catch(async (error: unknown) => {
    await Promise.all([...running.keys()].map((id) => stop(id, false)));
    throw error;
  });
  return {
    bootstrapServers: ids.map((id) => `127.0.0.1:${brokerPorts.get(id)}`).join(','),
    nodeIds: ids,
    node: (id) => running.get(id),
    stopNode: (id) => stop(id, true),
    killNode: (id) => stop(id, false),
    startNode: (id) => start(id),
    async close() {
      // One at a time, the active controller last, so each controlled shutdown finds a controller.
      const order = [...running.keys()].sort((a, b) => Number(running.get(a)?.controller?.isActive) - Number(running.get(b)?.controller?.isActive));
      for (const id of order) await stop(id, true);
      if (ownDir) await rm(root, { recursive: true, force: true });
    },
  };
}

/** Ports the OS hands out now (bound together, then released), so every node knows every address. */
export async function freePorts(count: number): Promise<number[]> {
  const servers = await Promise.all(Array.from({ length: count }, () => new Promise<ReturnType<typeof createServer>>((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve(server));
  })));
  const ports = servers.map((s) => (s.address() as { port: number }).port);
  await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
  return ports;
}
