// Every Kafka 4.4 broker property name is recognised (issue 25): one Runnel does not act on is accepted
// from a file, the environment or an override with its source recorded for one warning, a value of the
// wrong type is still refused, security properties never slip through, and Kafka's own server.properties
// starts a broker with only its path changed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import {
  ConfigError,
  clientListener,
  controllerListeners,
  kafkaOnlyValue,
  parseListeners,
  resolveConfig,
} from '../../src/config/config.js';
import { KAFKA_BROKER_PROPERTIES } from '../../src/config/kafka-broker-properties.js';
import { parseProperties } from '../../src/config/properties.js';
import { RunnelNode } from '../../src/node/runnel-node.js';
import { ApiKey } from '../../src/protocol/generated/index.js';
import { RawClient } from '../network/raw-client.js';
import { call } from '../broker/kafka-test-client.js';

const fixture = join(dirname(fileURLToPath(import.meta.url)), 'fixtures', 'kafka-4-server.properties');

function refused(run: () => unknown, pattern: RegExp): void {
  assert.throws(run, (e: unknown) => e instanceof ConfigError && pattern.test(e.message));
}

test('offsets.commit.timeout.ms refused as unknown: every Kafka broker property is accepted from any source', () => {
  const resolved = resolveConfig({
    file: { path: 'server.properties', properties: new Map([['num.io.threads', '8']]) },
    env: { RUNNEL_OFFSETS_COMMIT_TIMEOUT_MS: '5000' },
    overrides: [['log.cleaner.threads', '2'], ['background.threads', ' 10 ']],
  });
  assert.deepEqual(resolved.ignored, []);
  assert.deepEqual(resolved.unimplemented, [
    { name: 'num.io.threads', source: 'server.properties' },
    { name: 'offsets.commit.timeout.ms', source: 'environment RUNNEL_OFFSETS_COMMIT_TIMEOUT_MS' },
    { name: 'log.cleaner.threads', source: 'override' },
    { name: 'background.threads', source: 'override' },
  ]);
  assert.equal(kafkaOnlyValue(resolved.config, 'background.threads'), '10');
  assert.equal(KAFKA_BROKER_PROPERTIES.size > 350, true, 'the whole of Kafka 4.4 table');
});

test('a Kafka property with a value of the wrong type is refused, naming it and its source', () => {
  refused(() => resolveConfig({ overrides: [['offsets.commit.timeout.ms', 'soon']] }), /offsets\.commit\.timeout\.ms \(from override\): expected an integer/);
  refused(() => resolveConfig({ env: { RUNNEL_NUM_IO_THREADS: '99999999999' } }), /num\.io\.threads.*outside/);
  refused(() => resolveConfig({ overrides: [['auto.leader.rebalance.enable', 'yes']] }), /expected true or false/);
  refused(() => resolveConfig({ overrides: [['share.coordinator.state.topic.replication.factor', '40000']] }), /outside \[-32768, 32767\]/);
  refused(() => resolveConfig({ overrides: [['log.cleaner.io.max.bytes.per.second', 'fast']] }), /expected a number/);
});

test('names neither Runnel nor Kafka knows: ignored from a file, refused as overrides (typos)', () => {
  const { ignored } = resolveConfig({ file: { path: 'f', properties: new Map([['made.up.property', '1']]) } });
  assert.deepEqual(ignored, ['made.up.property (f)']);
  refused(() => resolveConfig({ overrides: [['offsets.comit.timeout.ms', '1']] }), /unknown configuration 'offsets\.comit\.timeout\.ms'/);
});

test('security properties are never accepted as "not acted on"', () => {
  for (const name of ['ssl.keystore.location', 'sasl.enabled.mechanisms', 'authorizer.class.name', 'listener.name.plaintext.ssl.keystore.location']) {
    refused(() => resolveConfig({ overrides: [[name, 'x']] }), /unknown configuration/);
    const { unimplemented } = resolveConfig({ file: { path: 'f', properties: new Map([[name, '']]) } });
    assert.deepEqual(unimplemented, [], name);
  }
});

test('listeners: Kafka\'s PLAINTEXT + CONTROLLER pair binds PLAINTEXT for clients; a secure client listener is refused', () => {
  const { config } = resolveConfig({ overrides: [['listeners', 'PLAINTEXT://:9092,CONTROLLER://:9093'], ['controller.listener.names', 'CONTROLLER']] });
  assert.deepEqual(clientListener(config), { name: 'PLAINTEXT', securityProtocol: 'PLAINTEXT', host: '0.0.0.0', port: 9092 });
  assert.deepEqual(controllerListeners(config).map((l) => l.port), [9093]);
  const named = resolveConfig({ overrides: [['listeners', 'CLIENT://127.0.0.1:0'], ['listener.security.protocol.map', 'CLIENT:PLAINTEXT']] });
  assert.equal(clientListener(named.config).name, 'CLIENT');
  refused(() => resolveConfig({ overrides: [['listeners', 'SSL://:9093']] }), /listeners \(from override\): listener SSL uses SSL: only PLAINTEXT/);
  refused(() => parseListeners('PLAINTEXT://:1,PLAINTEXT://:2'), /given twice/);
});

test('Kafka 4\'s server.properties starts a broker with only log.dirs changed (listener port 0 in this test)', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'runnel-kafka-props-'));
  try {
    const properties = parseProperties(await readFile(fixture, 'utf8'));
    properties.set('log.dirs', dir);
    const resolved = resolveConfig({
      file: { path: fixture, properties },
      // Port 9092 may be taken on a test machine; the listener names and layout stay Kafka's.
      overrides: [['listeners', 'PLAINTEXT://127.0.0.1:0,CONTROLLER://127.0.0.1:9093']],
    });
    assert.deepEqual(resolved.ignored, []);
    assert.ok(resolved.unimplemented.some((u) => u.name === 'num.network.threads'));
    assert.equal(resolved.config['log.segment.bytes'], 1073741824);
    const node = await RunnelNode.start({ config: resolved.config, logger: pino({ level: 'silent' }) });
    const broker = node.broker!;
    try {
      const client = await RawClient.connect(broker.port);
      const { body } = await call(client, ApiKey.ApiVersions, 3, { clientSoftwareName: 't', clientSoftwareVersion: '1', clusterId: null, nodeId: -1 });
      assert.equal(body.errorCode, 0);
      client.destroy();
    } finally {
      await node.close();
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
