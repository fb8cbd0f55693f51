import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startBroker, ConfigError } from '../../src/index.js';
import { isKafkaUuid, randomKafkaUuid } from '../../src/broker/meta-properties.js';
import { ApiKey } from '../../src/protocol/generated/index.js';
import { RawClient } from '../network/raw-client.js';
import { call } from './kafka-test-client.js';

async function withDir(body: (dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'runnel-start-'));
  try {
    await body(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

test('startBroker on port 0 serves ApiVersions, then closes', async () => {
  await withDir(async (dataDir) => {
    const broker = await startBroker({ dataDir, port: 0 });
    assert.ok(broker.port > 0);
    assert.equal(broker.bootstrapServers, `127.0.0.1:${broker.port}`);
    const client = await RawClient.connect(broker.port);
    const { body } = await call(client, ApiKey.ApiVersions, 0, { clientSoftwareName: '', clientSoftwareVersion: '', clusterId: null, nodeId: -1 });
    assert.equal(body.errorCode, 0);
    await broker.close();
    await client.waitClosed();
  });
});

test('the cluster id is generated once, persisted in meta.properties, and kept across restarts', async () => {
  await withDir(async (dataDir) => {
    const first = await startBroker({ dataDir, port: 0, nodeId: 3 });
    await first.close();
    assert.ok(isKafkaUuid(first.clusterId));
    assert.equal(first.clusterId.length, 22);
    const text = await readFile(join(dataDir, 'meta.properties'), 'utf8');
    assert.match(text, new RegExp(`^cluster.id=${first.clusterId}$`, 'm'));
    assert.match(text, /^node.id=3$/m);
    assert.match(text, /^version=1$/m);
    const second = await startBroker({ dataDir, port: 0, nodeId: 3 });
    await second.close();
    assert.equal(second.clusterId, first.clusterId);
  });
});

test('a given cluster id is used for a new directory and must match an existing one', async () => {
  await withDir(async (dataDir) => {
    const clusterId = randomKafkaUuid();
    const broker = await startBroker({ dataDir, port: 0, clusterId });
    await broker.close();
    assert.equal(broker.clusterId, clusterId);
    await assert.rejects(startBroker({ dataDir, port: 0, clusterId: randomKafkaUuid() }), ConfigError);
    await assert.rejects(startBroker({ dataDir, port: 0, nodeId: 2 }), ConfigError);
    await assert.rejects(startBroker({ dataDir, port: 0, clusterId: 'not-a-uuid' }), ConfigError);
  });
});

test('a damaged meta.properties refuses to start', async () => {
  await withDir(async (dataDir) => {
    await writeFile(join(dataDir, 'meta.properties'), 'node.id=1\n');
    await assert.rejects(startBroker({ dataDir, port: 0 }), ConfigError);
  });
});

test('Kafka-named options are validated', async () => {
  await withDir(async (dataDir) => {
    await assert.rejects(startBroker({ dataDir, port: 0, 'num.partitions': 0 }), ConfigError);
    await assert.rejects(startBroker({ dataDir, port: 0, ...({ 'no.such.option': 1 } as object) }), ConfigError);
  });
});

test('advertised.listeners is what Metadata reports', async () => {
  await withDir(async (dataDir) => {
    const broker = await startBroker({ dataDir, port: 0, 'advertised.listeners': 'PLAINTEXT://kafka.example:19092' });
    try {
      assert.equal(broker.bootstrapServers, 'kafka.example:19092');
      const client = await RawClient.connect(broker.port);
      const { body } = await call(client, ApiKey.Metadata, 12, {
        topics: null, allowAutoTopicCreation: true, includeClusterAuthorizedOperations: false, includeTopicAuthorizedOperations: false,
      });
      assert.deepEqual(body.brokers, [{ nodeId: 1, host: 'kafka.example', port: 19092, rack: null }]);
      client.destroy();
    } finally {
      await broker.close();
    }
  });
});
