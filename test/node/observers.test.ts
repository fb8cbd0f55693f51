import { test } from 'node:test';
import assert from 'node:assert/strict';
import { freePorts } from '../../src/node/start-cluster.js';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resolveConfig } from '../../src/config/config.js';
import { RunnelNode } from '../../src/node/runnel-node.js';

test('5 nodes, 3 controllers + 2 broker-only observers: every broker registers, observers follow the metadata, placement uses all five, an observer creates a topic through the controller', async () => {
  const root = await mkdtemp(join(tmpdir(), 'runnel-observers-'));
  const ports = await freePorts(8);
  const voters = [1, 2, 3].map((id) => `${id}@127.0.0.1:${ports[4 + id]}`).join(',');
  const nodes: RunnelNode[] = [];
  try {
    const configFor = (id: number) => resolveConfig({
      overrides: [
        ['node.id', String(id)],
        ['process.roles', id <= 3 ? 'broker,controller' : 'broker'],
        ['listeners', id <= 3 ? `PLAINTEXT://127.0.0.1:${ports[id - 1]},CONTROLLER://127.0.0.1:${ports[4 + id]}` : `PLAINTEXT://127.0.0.1:${id === 4 ? ports[3] : ports[4]}`],
        ['controller.listener.names', 'CONTROLLER'],
        ['listener.security.protocol.map', 'PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT'],
        ['controller.quorum.voters', voters],
        ['log.dirs', join(root, `node-${id}`)],
      ],
    }).config;
    nodes.push(...await Promise.all([1, 2, 3, 4, 5].map((id) => RunnelNode.start({ config: configFor(id) }))));
    const observer = nodes[3]!;
    assert.equal(observer.controller, undefined, 'a broker-only node runs no controller');
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline && [...observer.loader.image.brokers.values()].filter((b) => !b.fenced).length < 5) {
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.equal([...observer.loader.image.brokers.values()].filter((b) => !b.fenced).length, 5);
    const created = await observer.channel.send({
      type: 'createTopic', validateOnly: false,
      topic: { name: 'wide', numPartitions: 10, replicationFactor: 3, assignments: [], configs: [] },
    }, 15_000);
    assert.ok(created.ok, JSON.stringify(created));
    const topic = observer.loader.image.topicsById.get(observer.loader.image.topicIdsByName.get('wide')!)!;
    const leaders = new Set(topic.partitions.map((p) => p.leader));
    assert.equal(leaders.size, 5, 'leaders spread over all five brokers');
    assert.ok(await nodes[4]!.loader.waitFor(observer.loader.image.offset, 10_000), 'the other observer sees it too');
    assert.equal(nodes[4]!.loader.image.clusterId, nodes[0]!.loader.image.clusterId);
  } finally {
    for (const node of nodes.reverse()) await node.close().catch(() => undefined);
    await rm(root, { recursive: true, force: true });
  }
});
