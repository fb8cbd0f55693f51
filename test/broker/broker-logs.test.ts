/**
 * What an operator reads (issue #27): a broker's info log is one line at start, one at stop and one per
 * state change that matters. Creating a topic and `__consumer_offsets` (50 partitions) once printed
 * ~200 lines ("recovered segment" of empty segments, "became leader" at epoch 0, a load line per offsets
 * partition), and a first start of an empty data directory was reported as an unclean shutdown.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import type { Broker } from '../../src/broker/broker.js';
import { RunnelNode } from '../../src/node/runnel-node.js';
import { resolveConfig } from '../../src/config/config.js';
import { ApiKey } from '../../src/protocol/generated/index.js';
import { ErrorCode } from '../../src/protocol/errors.js';
import { RawClient } from '../network/raw-client.js';
import { call } from './kafka-test-client.js';
import { simpleBatch } from '../replication/batches.js';
import { ZERO_UUID } from '../../src/protocol/codec-support.js';

interface Line { readonly level: number; readonly msg: string; readonly [key: string]: unknown }

/** A broker whose info-level pino lines are kept in `lines`. */
async function start(dataDir: string, lines: Line[]): Promise<Broker> {
  // The node's broker; closing it closes the node.
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const text of chunk.toString('utf8').split('\n')) if (text !== '') lines.push(JSON.parse(text) as Line);
      done();
    },
  });
  const logger = pino({ level: 'info' }, sink);
  const config = resolveConfig({ overrides: [['log.dirs', dataDir], ['listeners', 'PLAINTEXT://127.0.0.1:0']] }).config;
  return (await RunnelNode.start({ config, logger })).broker!;
}

async function findCoordinator(client: RawClient, groupId: string): Promise<void> {
  for (let attempt = 0; attempt < 100; attempt++) {
    const found = (await call(client, ApiKey.FindCoordinator, 4, { key: '', keyType: 0, coordinatorKeys: [groupId] })).body.coordinators[0];
    if (found?.errorCode === ErrorCode.NONE) return;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error('no coordinator');
}

test('first start, a topic and __consumer_offsets, stop, restart: a handful of info lines, no false unclean shutdown', async () => {
  const dataDir = await mkdtemp(join(tmpdir(), 'runnel-logs-'));
  try {
    const first: Line[] = [];
    let broker = await start(dataDir, first);
    const client = await RawClient.connect(broker.port);
    const produced = await call(client, ApiKey.Produce, 9, {
      transactionalId: null, acks: 1, timeoutMs: 5000,
      topicData: [{ name: 'orders', topicId: ZERO_UUID, partitionData: [{ index: 0, records: simpleBatch(3) }] }],
    });
    // Auto-creation answers the first produce with a retriable error or the append: either is fine here.
    assert.ok(produced.body.responses.length === 1);
    await findCoordinator(client, 'group-a');
    client.destroy();
    await broker.close();

    const messages = first.map((line) => line.msg);
    // A node's start and stop: the controller's decisions (activation, registration, the controlled
    // shutdown's elections, counted past three, fencing) and the broker's own lines.
    assert.ok(first.length <= 16, `${first.length} info lines:\n${messages.join('\n')}`);
    assert.equal(messages.filter((m) => m === 'runnel broker started').length, 1);
    assert.equal(messages.filter((m) => m === 'runnel broker stopped').length, 1);
    assert.deepEqual(messages.filter((m) => /recovered segment|became leader|group coordinator partition/.test(m)), []);
    const loaded = first.find((line) => line.msg === 'logs loaded');
    assert.equal(loaded?.['previousShutdown'], 'none', 'an empty data directory is a first start, not an unclean shutdown');

    const second: Line[] = [];
    broker = await start(dataDir, second);
    await broker.close();
    assert.equal(second.find((line) => line.msg === 'logs loaded')?.['previousShutdown'], 'clean');
    assert.ok(second.length <= 16, second.map((line) => line.msg).join('\n'));
  } finally {
    await rm(dataDir, { recursive: true, force: true });
  }
});
