// Dynamic broker configs on BROKER resources for every property Kafka can change at run time (issue 25):
// what `kafka-configs.sh --alter --entity-type brokers [--entity-default | --entity-name 1]` sends.
// Accepted values are records of the metadata log and survive a restart; read-only properties, per-broker
// properties at the cluster-default level, values of the wrong type and security properties get errors.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startBroker } from '../../src/index.js';
import { ApiKey } from '../../src/protocol/generated/index.js';
import { ErrorCode } from '../../src/protocol/errors.js';
import { ConfigSource } from '../../src/metadata/topic-configs.js';
import { RawClient } from '../network/raw-client.js';
import { call } from './kafka-test-client.js';

const BROKER = 4;
const SET = 0;

async function alter(client: RawClient, resourceName: string, name: string, value: string) {
  const { body } = await call(client, ApiKey.IncrementalAlterConfigs, 1, {
    resources: [{ resourceType: BROKER, resourceName, configs: [{ name, configOperation: SET, value }] }], validateOnly: false,
  });
  return body.responses[0]!;
}

async function describe(client: RawClient, resourceName: string, keys: string[] | null) {
  const { body } = await call(client, ApiKey.DescribeConfigs, 4, {
    resources: [{ resourceType: BROKER, resourceName, configurationKeys: keys }], includeSynonyms: false, includeDocumentation: false,
  });
  return new Map(body.results[0]!.configs.map((c) => [c.name, c]));
}

test('kafka-configs.sh --alter --entity-default of a dynamic Kafka property Runnel does not act on is stored and survives a restart', async () => {
  const dataDir = await mkdtemp(join(tmpdir(), 'runnel-broker-cfg-'));
  try {
    let broker = await startBroker({ dataDir, port: 0 });
    let client = await RawClient.connect(broker.port);
    assert.equal((await alter(client, '', 'num.io.threads', '16')).errorCode, ErrorCode.NONE);
    assert.equal((await alter(client, '1', 'log.cleaner.threads', '2')).errorCode, ErrorCode.NONE);

    const readOnly = await alter(client, '', 'offsets.commit.timeout.ms', '1000');
    assert.equal(readOnly.errorCode, ErrorCode.INVALID_REQUEST);
    assert.match(readOnly.errorMessage ?? '', /Cannot update these configs dynamically: Set\(offsets\.commit\.timeout\.ms\)/);
    const perBroker = await alter(client, '', 'listeners', 'PLAINTEXT://:9092');
    assert.match(perBroker.errorMessage ?? '', /Cannot update these configs at default cluster level, broker id must be specified: Set\(listeners\)/);
    const wrongType = await alter(client, '', 'num.io.threads', 'many');
    assert.equal(wrongType.errorCode, ErrorCode.INVALID_REQUEST);
    assert.match(wrongType.errorMessage ?? '', /Invalid value many for configuration num\.io\.threads: expected an integer/);
    const security = await alter(client, '1', 'ssl.keystore.location', '/k.jks');
    assert.match(security.errorMessage ?? '', /PLAINTEXT only/);

    const check = async () => {
      const defaults = await describe(client, '', null);
      assert.equal(defaults.get('num.io.threads')?.value, '16');
      assert.equal(defaults.get('num.io.threads')?.configSource, ConfigSource.DYNAMIC_DEFAULT_BROKER_CONFIG);
      const self = await describe(client, '1', ['num.io.threads', 'log.cleaner.threads', 'offsets.commit.timeout.ms', 'background.threads']);
      assert.deepEqual([self.get('num.io.threads')?.value, self.get('num.io.threads')?.configSource, self.get('num.io.threads')?.readOnly],
        ['16', ConfigSource.DYNAMIC_DEFAULT_BROKER_CONFIG, false]);
      assert.equal(self.get('log.cleaner.threads')?.configSource, ConfigSource.DYNAMIC_BROKER_CONFIG);
      // Kafka's defaults for the rest, as Kafka reports them.
      assert.deepEqual([self.get('offsets.commit.timeout.ms')?.value, self.get('offsets.commit.timeout.ms')?.readOnly], ['5000', true]);
      assert.equal(self.get('background.threads')?.configSource, ConfigSource.DEFAULT_CONFIG);
    };
    await check();
    client.destroy();
    await broker.close();
    broker = await startBroker({ dataDir, port: 0 });
    client = await RawClient.connect(broker.port);
    try {
      await check();
    } finally {
      client.destroy();
      await broker.close();
    }
  } finally {
    await rm(dataDir, { recursive: true, force: true });
  }
});
