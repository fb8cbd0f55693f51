/**
 * A client that connects while a broker is starting waits for its answer; its connection is not closed.
 * What broke: test/faults/txn-kill.test.ts stalled for good (CI, stop 29) because the restarting broker
 * closed a connection whose ApiVersions arrived before the request pipeline existed, and franz-go takes an
 * EOF during ApiVersions as a TLS/SASL misconfiguration: its transactional producer went fatal ("producer ID
 * has a fatal, unrecoverable error"). A Kafka broker binds its port before its acceptors start, so such a
 * request simply waits.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Broker } from '../../src/broker/broker.js';
import { resolveConfig } from '../../src/config/config.js';
import { systemClock } from '../../src/common/clock.js';
import { ControllerCore } from '../../src/controller/core.js';
import { QuorumController } from '../../src/controller/quorum-controller.js';
import type { ControllerChannel } from '../../src/controller/requests.js';
import { MemoryMetadataLog } from '../../src/metadata/memory-metadata-log.js';
import { MetadataLoader } from '../../src/metadata/loader.js';
import { EMPTY_IMAGE, applyRecords, type MetadataImage } from '../../src/metadata/image.js';
import { ApiKey } from '../../src/protocol/generated/index.js';
import { RawClient } from '../network/raw-client.js';
import { call } from './kafka-test-client.js';
import { freePort } from '../network/free-port.js';


test('regression (txn-kill: franz-go went fatal on a restarting broker): a request sent while the broker starts is answered once it serves, the connection stays open', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'runnel-held-'));
  const metadataLog = new MemoryMetadataLog();
  let image: MetadataImage = EMPTY_IMAGE;
  metadataLog.onCommit((batch) => { image = applyRecords(image, batch.records, batch.offset).image; });
  const config = resolveConfig({ overrides: [] }).config;
  const controller = new QuorumController({
    core: new ControllerCore({ config }), writer: metadataLog, image: () => image, clock: systemClock, nodeId: 0,
  });
  controller.activate();
  // The broker's registration waits for this gate: the broker is bound and not yet serving meanwhile.
  let openGate = (): void => {};
  const gate = new Promise<void>((resolve) => { openGate = resolve; });
  let registering = false;
  const gated: ControllerChannel = {
    async send(request, timeoutMs) {
      if (request.type === 'registerBroker') {
        registering = true;
        await gate;
      }
      return controller.send(request, timeoutMs);
    },
  };
  const port = await freePort();
  const nodeConfig = resolveConfig({
    overrides: Object.entries({ 'node.id': '1', 'log.dirs': dir, listeners: `PLAINTEXT://127.0.0.1:${port}` }),
  }).config;
  let broker: Broker | undefined;
  let client: RawClient | undefined;
  try {
    const starting = Broker.start({ config: nodeConfig, clusterId: 'aGVsZC1jb25uZWN0aW9ucw', cluster: { loader: new MetadataLoader(metadataLog), controller: gated } });
    for (let i = 0; i < 500 && !registering; i++) await sleep(10);
    assert.ok(registering, 'the broker reached its registration');
    client = await RawClient.connect(port);
    const answer = call(client, ApiKey.ApiVersions, 3, { clientSoftwareName: 'test', clientSoftwareVersion: '1', clusterId: null, nodeId: -1 });
    let answered = false;
    void answer.then(() => { answered = true; }, () => undefined);
    await sleep(300);
    assert.equal(client.closed, false, 'the connection of a request sent during the start stays open');
    assert.equal(answered, false, 'no answer before the broker serves');
    openGate();
    broker = await starting;
    const { body } = await answer;
    assert.equal(body.errorCode, 0);
    assert.ok(body.apiKeys.length > 10);
  } finally {
    openGate();
    client?.destroy();
    await broker?.close();
    controller.close();
    metadataLog.shutdown();
    await rm(dir, { recursive: true, force: true });
  }
});
