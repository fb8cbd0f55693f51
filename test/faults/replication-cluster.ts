/**
 * A Runnel cluster of N child processes for the replication fault tests: each node is
 * `runnel start --config nodeN.properties` (combined broker + controller, KRaft property names) on
 * 127.0.0.1 with ports from the OS; nodes are killed with SIGKILL and restarted on their data
 * directories and ports. Also: Metadata / CreateTopics / ListOffsets over a raw client, and the
 * byte-identity check of every partition's replicas up to the HW.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ApiKey } from '../../src/protocol/generated/index.js';
import { ErrorCode } from '../../src/protocol/errors.js';
import { RawClient } from '../network/raw-client.js';
import { call } from '../broker/kafka-test-client.js';
import { checkByteIdentity, type IdentityReport } from '../replication/byte-identity.js';
import { FAULT_NODE_FLAGS, freePort, REPO } from './standalone-broker.js';

const START_MS = 60_000;

export interface ClusterNode {
  readonly id: number;
  readonly port: number;
  readonly controllerPort: number;
  readonly dataDir: string;
  readonly configPath: string;
  child: ChildProcess | undefined;
  log: string;
}

export interface ProcessCluster {
  readonly nodes: ClusterNode[];
  readonly bootstrap: string;
  node(id: number): ClusterNode;
  kill9(id: number): Promise<void>;
  start(id: number): Promise<void>;
  /** SIGTERM (clean shutdown) then SIGKILL after graceMs. */
  stop(id: number, graceMs?: number): Promise<void>;
  close(): Promise<void>;
}

/** `perNode` adds properties of one node (a port of its own, …) after `extra`. */
export async function startProcessCluster(
  root: string, count: number, extra: Record<string, string> = {}, perNode: (id: number) => Record<string, string> = () => ({}),
): Promise<ProcessCluster> {
  const nodes: ClusterNode[] = [];
  for (let id = 1; id <= count; id++) {
    const dataDir = join(root, `node-${id}`);
    await mkdir(dataDir, { recursive: true });
    nodes.push({ id, port: await freePort(), controllerPort: await freePort(), dataDir, configPath: join(root, `node${id}.properties`), child: undefined, log: '' });
  }
  const voters = nodes.map((n) => `${n.id}@127.0.0.1:${n.controllerPort}`).join(',');
  for (const n of nodes) {
    const properties: Record<string, string> = {
      'process.roles': 'broker,controller',
      'node.id': String(n.id),
      'controller.quorum.voters': voters,
      listeners: `PLAINTEXT://127.0.0.1:${n.port},CONTROLLER://127.0.0.1:${n.controllerPort}`,
      'advertised.listeners': `PLAINTEXT://127.0.0.1:${n.port}`,
      'controller.listener.names': 'CONTROLLER',
      'inter.broker.listener.name': 'PLAINTEXT',
      'listener.security.protocol.map': 'CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT',
      'log.dirs': n.dataDir,
      'default.replication.factor': String(Math.min(3, count)),
      'offsets.topic.replication.factor': String(Math.min(3, count)),
      ...extra,
      ...perNode(n.id),
    };
    await writeFile(n.configPath, Object.entries(properties).map(([k, v]) => `${k}=${v}`).join('\n') + '\n');
  }
  const byId = (id: number): ClusterNode => {
    const n = nodes.find((x) => x.id === id);
    if (n === undefined) throw new Error(`no node ${id}`);
    return n;
  };
  const spawnNode = (n: ClusterNode): void => {
    const child = spawn(process.execPath, [...FAULT_NODE_FLAGS, '--import', 'tsx', join(REPO, 'src', 'cli', 'main.ts'), 'start',
      '--config', n.configPath, '--log-level', process.env.REPLICATION_FAULTS_LOG_LEVEL ?? 'warn'], { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] });
    const append = (d: Buffer): void => { n.log = (n.log + d.toString()).slice(-20_000); };
    child.stdout?.on('data', append);
    child.stderr?.on('data', append);
    n.child = child;
  };
  /** Initial start: every node sees all; a restart: the node sees itself registered and unfenced. */
  const waitReady = async (n: ClusterNode, all: boolean): Promise<void> => {
    const deadline = Date.now() + START_MS;
    while (Date.now() < deadline) {
      const child = n.child;
      if (child === undefined || child.exitCode !== null || child.signalCode !== null) throw new Error(`node ${n.id} exited: ${n.log.slice(-3000)}`);
      const ids = await brokerIds(n.port).catch((): number[] => []);
      if (all ? ids.length >= count : ids.includes(n.id)) return;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`node ${n.id} not ready within ${START_MS} ms: ${n.log.slice(-3000)}`);
  };
  const signalAndWait = async (n: ClusterNode, signal: NodeJS.Signals, graceMs: number): Promise<void> => {
    const child = n.child;
    if (child === undefined || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once('close', () => resolve()));
    child.kill(signal);
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    // Bounded: a child whose 'close' never comes (stdio held elsewhere) must not hold the test open.
    await Promise.race([exited, new Promise((r) => setTimeout(r, graceMs + 5_000))]);
    clearTimeout(timer);
  };
  for (const n of nodes) spawnNode(n);
  await Promise.all(nodes.map((n) => waitReady(n, true)));
  const cluster: ProcessCluster = {
    nodes,
    bootstrap: nodes.map((n) => `127.0.0.1:${n.port}`).join(','),
    node: byId,
    kill9: (id) => signalAndWait(byId(id), 'SIGKILL', 5_000),
    async start(id) {
      const n = byId(id);
      spawnNode(n);
      await waitReady(n, false);
    },
    stop: (id, graceMs = 30_000) => signalAndWait(byId(id), 'SIGTERM', graceMs),
    async close() {
      for (const n of nodes) await signalAndWait(n, 'SIGKILL', 5_000);
    },
  };
  return cluster;
}

async function withClient<T>(port: number, fn: (client: RawClient) => Promise<T>): Promise<T> {
  const client = await RawClient.connect(port);
  try {
    return await fn(client);
  } finally {
    client.destroy();
  }
}

async function brokerIds(port: number): Promise<number[]> {
  return withClient(port, async (client) => (await call(client, ApiKey.Metadata, 12, {
    topics: [], allowAutoTopicCreation: false, includeClusterAuthorizedOperations: false, includeTopicAuthorizedOperations: false,
  })).body.brokers.map((b) => b.nodeId));
}

export interface PartitionState { partition: number; leader: number; leaderEpoch: number; isr: number[]; replicas: number[] }

export async function partitionStates(port: number, topic: string): Promise<PartitionState[]> {
  return withClient(port, async (client) => {
    const body = (await call(client, ApiKey.Metadata, 12, {
      topics: [{ topicId: '00000000-0000-0000-0000-000000000000', name: topic }], allowAutoTopicCreation: false,
      includeClusterAuthorizedOperations: false, includeTopicAuthorizedOperations: false,
    })).body;
    const t = body.topics[0];
    if (t === undefined || t.errorCode !== ErrorCode.NONE) return [];
    return t.partitions.map((p) => ({ partition: p.partitionIndex, leader: p.leaderId, leaderEpoch: p.leaderEpoch, isr: [...p.isrNodes], replicas: [...p.replicaNodes] }));
  });
}

export async function createTopic(
  port: number, name: string, partitions: number, replicationFactor: number, configs: Record<string, string>, assignments: number[][] = [],
): Promise<number> {
  return withClient(port, async (client) => {
    const body = (await call(client, ApiKey.CreateTopics, 7, {
      topics: [{
        name, numPartitions: assignments.length > 0 ? -1 : partitions, replicationFactor: assignments.length > 0 ? -1 : replicationFactor,
        assignments: assignments.map((brokerIds, partitionIndex) => ({ partitionIndex, brokerIds })),
        configs: Object.entries(configs).map(([n, value]) => ({ name: n, value })),
      }],
      timeoutMs: 30_000, validateOnly: false,
    })).body;
    return body.topics[0]?.errorCode ?? -1;
  });
}

/** The leader's HW (ListOffsets latest as a consumer). */
export async function highWatermark(port: number, topic: string, partition: number): Promise<number> {
  return withClient(port, async (client) => {
    const body = (await call(client, ApiKey.ListOffsets, 7, {
      replicaId: -1, isolationLevel: 0, timeoutMs: 0,
      topics: [{ name: topic, partitions: [{ partitionIndex: partition, currentLeaderEpoch: -1, timestamp: -1n, maxNumOffsets: 1 }] }],
    })).body;
    const p = body.topics[0]?.partitions[0];
    if (p === undefined || p.errorCode !== ErrorCode.NONE) throw new Error(`ListOffsets ${topic}-${partition}: error ${p?.errorCode}`);
    return Number(p.offset);
  });
}

/** Polls until check() holds (bounded). */
export async function eventually(what: string, check: () => Promise<boolean>, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check().catch(() => false)) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/**
 * Byte identity of every partition of topic on every replica up to the leader's HW. The cluster must be
 * quiet (no producers); the HW is read from the leader.
 */
export async function checkTopicIdentity(cluster: ProcessCluster, topic: string): Promise<IdentityReport[]> {
  const states = await partitionStates(cluster.nodes[0]!.port, topic);
  const reports: IdentityReport[] = [];
  for (const s of states) {
    const leader = cluster.node(s.leader);
    const hw = await highWatermark(leader.port, topic, s.partition);
    const followers = s.replicas.filter((r) => r !== s.leader).map((r) => ({ nodeId: r, dataDir: cluster.node(r).dataDir }));
    reports.push(await checkByteIdentity(topic, s.partition, hw, { nodeId: leader.id, dataDir: leader.dataDir }, followers));
  }
  return reports;
}

/** One Produce of `records` to `partition` at the node on `port`; returns the partition's answer. */
export async function produceOnce(port: number, topic: string, partition: number, records: Buffer, acks: number, timeoutMs = 5000) {
  return withClient(port, async (client) => {
    const body = (await call(client, ApiKey.Produce, 11, {
      transactionalId: null, acks, timeoutMs,
      topicData: [{ name: topic, topicId: '00000000-0000-0000-0000-000000000000', partitionData: [{ index: partition, records }] }],
    })).body;
    const p = body.responses[0]?.partitionResponses[0];
    if (p === undefined) throw new Error('no partition response');
    return p;
  });
}
