/** A real standalone broker on port 0 over a temp data dir, plus a generated-codec client. */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Broker } from '../../src/broker/broker.js';
import { RunnelNode } from '../../src/node/runnel-node.js';
import { resolveConfig } from '../../src/config/config.js';
import { ApiKey } from '../../src/protocol/generated/index.js';
import { ErrorCode } from '../../src/protocol/errors.js';
import { RawClient } from '../network/raw-client.js';
import { call } from './kafka-test-client.js';

export interface Harness {
  readonly node: RunnelNode;
  readonly broker: Broker;
  readonly client: RawClient;
  readonly dataDir: string;
  /** Restarts the broker on the same data dir (clean shutdown first); reconnects the client. */
  restart(): Promise<Harness>;
  close(): Promise<void>;
}

export async function startHarness(properties: Record<string, string> = {}, dataDir?: string): Promise<Harness> {
  const dir = dataDir ?? await mkdtemp(join(tmpdir(), 'runnel-standalone-'));
  const overrides: Array<[string, string]> = [
    ['log.dirs', dir], ['listeners', 'PLAINTEXT://127.0.0.1:0'], ...Object.entries(properties),
  ];
  const node = await RunnelNode.start({ config: resolveConfig({ overrides }).config });
  const broker = node.broker!;
  const client = await RawClient.connect(broker.port);
  const harness: Harness = {
    node,
    broker,
    client,
    dataDir: dir,
    async restart() {
      client.destroy();
      await node.close();
      return startHarness(properties, dir);
    },
    async close() {
      client.destroy();
      await node.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
  return harness;
}

/** Runs `body` against a fresh harness with `properties`, closing it whatever happens. */
export async function withHarness(properties: Record<string, string>, body: (h: Harness) => Promise<void>): Promise<void> {
  const h = await startHarness(properties);
  try {
    await body(h);
  } finally {
    await h.close();
  }
}

/** Creates a topic through Metadata auto-creation and waits until its partitions are led here. */
export async function createTopic(h: Harness, name: string, partitions = 1): Promise<string> {
  const services = h.broker.services;
  const result = await services.topicCreator.create({ name, numPartitions: partitions, replicationFactor: 1 });
  if (result.errorCode !== ErrorCode.NONE) throw new Error(`create ${name}: error ${result.errorCode}`);
  await services.replicaManager.whenIdle();
  return result.topicId as string;
}

export async function produce(
  h: Harness, topic: string, partition: number, records: Buffer | null,
  options: { acks?: number; version?: number; transactionalId?: string | null; timeoutMs?: number } = {},
) {
  const response = await call(h.client, ApiKey.Produce, options.version ?? 11, {
    transactionalId: options.transactionalId ?? null,
    acks: options.acks ?? -1,
    timeoutMs: options.timeoutMs ?? 5000,
    topicData: [{ name: topic, topicId: '00000000-0000-0000-0000-000000000000', partitionData: [{ index: partition, records }] }],
  });
  const p = response.body.responses[0]?.partitionResponses[0];
  if (p === undefined) throw new Error('no partition response');
  return p;
}

export async function listOffset(h: Harness, topic: string, partition: number, timestamp: bigint, version = 10, currentLeaderEpoch = -1) {
  const response = await call(h.client, ApiKey.ListOffsets, version, {
    replicaId: -1, isolationLevel: 0, timeoutMs: 0,
    topics: [{ name: topic, partitions: [{ partitionIndex: partition, currentLeaderEpoch, timestamp, maxNumOffsets: version === 0 ? 1 : 1 }] }],
  });
  const p = response.body.topics[0]?.partitions[0];
  if (p === undefined) throw new Error('no partition response');
  return p;
}
