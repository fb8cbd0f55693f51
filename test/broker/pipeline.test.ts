import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startBroker, type RunningBroker } from '../../src/index.js';
import { ApiKey } from '../../src/protocol/generated/index.js';
import { ErrorCode } from '../../src/protocol/errors.js';
import { Writer } from '../../src/protocol/writer.js';
import { RawClient } from '../network/raw-client.js';
import { BUILTIN_HANDLERS } from '../../src/broker/handlers/index.js';
import { call, decodeResponseFrame, requestFrame } from './kafka-test-client.js';

let dataDir: string;
let broker: RunningBroker;

before(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'runnel-pipeline-'));
  // Unknown topics must stay unknown here: no Metadata auto-creation.
  broker = await startBroker({ dataDir, port: 0, 'auto.create.topics.enable': false });
});

after(async () => {
  await broker.close();
  await rm(dataDir, { recursive: true, force: true });
});

// Every registered handler, as ApiVersions sorts them (handlers land one by one; the list follows).
const expectedApis = [...BUILTIN_HANDLERS]
  .sort((a, b) => a.apiKey - b.apiKey)
  .map((h) => ({ apiKey: h.apiKey, minVersion: h.minVersion, maxVersion: h.maxVersion }));

const apiVersionsRequest = { clientSoftwareName: 'runnel-test', clientSoftwareVersion: '1.0.0', clusterId: null, nodeId: -1 };

function headerBytes(apiKey: number, version: number, correlationId: number): Buffer {
  const w = new Writer();
  w.writeInt16(apiKey);
  w.writeInt16(version);
  w.writeInt32(correlationId);
  w.writeNullableString('raw');
  return w.finishBuffer();
}

function sizePrefixed(body: Buffer): Buffer {
  const prefix = Buffer.alloc(4);
  prefix.writeInt32BE(body.length, 0);
  return Buffer.concat([prefix, body]);
}

test('ApiVersions v0-v4 lists exactly the registered handlers', async () => {
  const client = await RawClient.connect(broker.port);
  for (let version = 0; version <= 4; version++) {
    const { body, trailingBytes } = await call(client, ApiKey.ApiVersions, version, apiVersionsRequest);
    assert.equal(body.errorCode, ErrorCode.NONE, `v${version}`);
    assert.deepEqual(body.apiKeys, expectedApis, `v${version}`);
    assert.equal(body.throttleTimeMs, 0);
    assert.equal(trailingBytes, 0);
  }
  client.destroy();
});

test('ApiVersions v3+ with an invalid client software name gets INVALID_REQUEST', async () => {
  const client = await RawClient.connect(broker.port);
  const { body } = await call(client, ApiKey.ApiVersions, 3, { clientSoftwareName: '-bad name', clientSoftwareVersion: '1', clusterId: null, nodeId: -1 });
  assert.equal(body.errorCode, ErrorCode.INVALID_REQUEST);
  assert.deepEqual(body.apiKeys, []);
  client.destroy();
});

test('ApiVersions at an unsupported version: v0 response, UNSUPPORTED_VERSION, full list, body not decoded (KIP-511)', async () => {
  const client = await RawClient.connect(broker.port);
  for (const version of [6, 127, 32767, -1]) {
    const index = client.frames.length;
    // A body no known version could decode: must not matter.
    const garbage = Buffer.from([0xff, 0xff, 0xff, 0xff, 0x80]);
    client.write(sizePrefixed(Buffer.concat([headerBytes(ApiKey.ApiVersions, version, 4242 + version), garbage])));
    const [frame] = (await client.waitFrames(index + 1)).slice(index);
    const response = decodeResponseFrame(ApiKey.ApiVersions, 0, frame as Buffer);
    assert.equal(response.correlationId, 4242 + version);
    assert.equal(response.body.errorCode, ErrorCode.UNSUPPORTED_VERSION);
    assert.deepEqual(response.body.apiKeys, expectedApis);
    assert.equal(response.trailingBytes, 0);
  }
  // The connection stays usable: the client retries with a version from the list.
  const { body } = await call(client, ApiKey.ApiVersions, 4, apiVersionsRequest);
  assert.equal(body.errorCode, ErrorCode.NONE);
  client.destroy();
});

test('Metadata v0-v12 over a socket: this broker, its cluster id, itself as controller, no topics', async () => {
  const client = await RawClient.connect(broker.port);
  for (let version = 0; version <= 12; version++) {
    const { body, trailingBytes } = await call(client, ApiKey.Metadata, version, {
      topics: version === 0 ? [] : null,
      allowAutoTopicCreation: true,
      includeClusterAuthorizedOperations: false,
      includeTopicAuthorizedOperations: false,
    });
    assert.equal(trailingBytes, 0);
    assert.deepEqual(body.brokers, [{ nodeId: 1, host: '127.0.0.1', port: broker.port, rack: null }], `v${version}`);
    assert.deepEqual(body.topics, []);
    if (version >= 1) assert.equal(body.controllerId, 1);
    if (version >= 2) assert.equal(body.clusterId, broker.clusterId);
  }
  client.destroy();
});

test('Metadata for an unknown topic: UNKNOWN_TOPIC_OR_PARTITION by name, UNKNOWN_TOPIC_ID by id', async () => {
  const client = await RawClient.connect(broker.port);
  for (let version = 0; version <= 12; version++) {
    const { body } = await call(client, ApiKey.Metadata, version, {
      topics: [{ topicId: '00000000-0000-0000-0000-000000000000', name: 'orders' }, { topicId: '00000000-0000-0000-0000-000000000000', name: 'orders' }],
      allowAutoTopicCreation: true,
      includeClusterAuthorizedOperations: false,
      includeTopicAuthorizedOperations: false,
    });
    assert.equal(body.topics.length, 1, `v${version}: duplicates answered once`);
    assert.equal(body.topics[0]?.name, 'orders');
    assert.equal(body.topics[0]?.errorCode, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
  }
  const topicId = '0b6d1c1e-94d4-4e7b-a7f1-0a0c4a1b2c3d';
  const { body } = await call(client, ApiKey.Metadata, 12, {
    topics: [{ topicId, name: null }],
    allowAutoTopicCreation: true,
    includeClusterAuthorizedOperations: false,
    includeTopicAuthorizedOperations: false,
  });
  assert.deepEqual(body.topics.map((t) => [t.errorCode, t.name, t.topicId]), [[ErrorCode.UNKNOWN_TOPIC_ID, null, topicId]]);
  for (const version of [10, 11]) {
    const invalid = await call(client, ApiKey.Metadata, version, {
      topics: [{ topicId, name: null }, { topicId: '00000000-0000-0000-0000-000000000000', name: 'a' }],
      allowAutoTopicCreation: true,
      includeClusterAuthorizedOperations: false,
      includeTopicAuthorizedOperations: false,
    });
    assert.deepEqual(invalid.body.topics.map((t) => [t.errorCode, t.name]), [[ErrorCode.INVALID_REQUEST, ''], [ErrorCode.INVALID_REQUEST, 'a']]);
  }
  client.destroy();
});

test('Metadata v8-v10 reports cluster authorized operations only when asked', async () => {
  const client = await RawClient.connect(broker.port);
  for (let version = 8; version <= 10; version++) {
    const request = { topics: null, allowAutoTopicCreation: true, includeTopicAuthorizedOperations: false };
    const asked = await call(client, ApiKey.Metadata, version, { ...request, includeClusterAuthorizedOperations: true });
    assert.notEqual(asked.body.clusterAuthorizedOperations, -2147483648);
    assert.ok(asked.body.clusterAuthorizedOperations & (1 << 8), 'DESCRIBE');
    const notAsked = await call(client, ApiKey.Metadata, version, { ...request, includeClusterAuthorizedOperations: false });
    assert.equal(notAsked.body.clusterAuthorizedOperations, -2147483648);
  }
  client.destroy();
});

test('DescribeCluster v0-v2; the controller endpoint type is refused', async () => {
  const client = await RawClient.connect(broker.port);
  for (let version = 0; version <= 2; version++) {
    const { body } = await call(client, ApiKey.DescribeCluster, version, {
      includeClusterAuthorizedOperations: false,
      endpointType: 1,
      includeFencedBrokers: version >= 2,
    });
    assert.equal(body.errorCode, ErrorCode.NONE);
    assert.equal(body.clusterId, broker.clusterId);
    assert.equal(body.controllerId, 1);
    assert.deepEqual(body.brokers, [{ brokerId: 1, host: '127.0.0.1', port: broker.port, rack: null, isFenced: false }]);
  }
  const { body } = await call(client, ApiKey.DescribeCluster, 1, { includeClusterAuthorizedOperations: false, endpointType: 2, includeFencedBrokers: false });
  assert.equal(body.errorCode, ErrorCode.UNSUPPORTED_ENDPOINT_TYPE);
  client.destroy();
});

test('pipelined requests of different APIs: responses in order, correlation ids echoed', async () => {
  const client = await RawClient.connect(broker.port);
  const metadataRequest = {
    topics: null, allowAutoTopicCreation: true, includeClusterAuthorizedOperations: false, includeTopicAuthorizedOperations: false,
  };
  const plan = Array.from({ length: 60 }, (_, i) => ({ correlationId: 1000 + i * 7, kind: i % 3 }));
  client.write(Buffer.concat(plan.map(({ correlationId, kind }) =>
    kind === 0 ? requestFrame(ApiKey.ApiVersions, 3, correlationId, apiVersionsRequest)
      : kind === 1 ? requestFrame(ApiKey.Metadata, 12, correlationId, metadataRequest)
        : requestFrame(ApiKey.DescribeCluster, 1, correlationId, { includeClusterAuthorizedOperations: false, endpointType: 1, includeFencedBrokers: false }))));
  const frames = await client.waitFrames(plan.length);
  frames.forEach((frame, i) => {
    const step = plan[i]!;
    const decoded = step.kind === 0 ? decodeResponseFrame(ApiKey.ApiVersions, 3, frame)
      : step.kind === 1 ? decodeResponseFrame(ApiKey.Metadata, 12, frame)
        : decodeResponseFrame(ApiKey.DescribeCluster, 1, frame);
    assert.equal(decoded.correlationId, step.correlationId);
    assert.equal(decoded.trailingBytes, 0);
  });
  client.destroy();
});

test('an unknown API key closes the connection', async () => {
  for (const apiKey of [999, -1, ApiKey.Produce]) {
    const client = await RawClient.connect(broker.port);
    client.write(sizePrefixed(headerBytes(apiKey, 0, 1)));
    await client.waitClosed();
    assert.equal(client.frames.length, 0);
  }
});

test('Metadata at an unsupported version closes the connection', async () => {
  const client = await RawClient.connect(broker.port);
  client.write(sizePrefixed(headerBytes(ApiKey.Metadata, 13, 1)));
  await client.waitClosed();
});

test('a body that fails to decode closes that connection only', async () => {
  const bad = await RawClient.connect(broker.port);
  const good = await RawClient.connect(broker.port);
  const frame = requestFrame(ApiKey.Metadata, 1, 5, {
    topics: [{ topicId: '00000000-0000-0000-0000-000000000000', name: 'truncated-topic-name' }],
    allowAutoTopicCreation: true, includeClusterAuthorizedOperations: false, includeTopicAuthorizedOperations: false,
  });
  const truncated = frame.subarray(4, frame.length - 5);
  bad.write(sizePrefixed(truncated));
  await bad.waitClosed();
  const { body } = await call(good, ApiKey.ApiVersions, 0, apiVersionsRequest);
  assert.equal(body.errorCode, ErrorCode.NONE);
  good.destroy();
});

test('a request shorter than a header closes the connection', async () => {
  const client = await RawClient.connect(broker.port);
  client.write(sizePrefixed(Buffer.from([0, 18, 0])));
  await client.waitClosed();
});
