import { test } from 'node:test';
import assert from 'node:assert/strict';
import { resolveConfig } from '../../src/config/config.js';
import { ControllerCore } from '../../src/controller/core.js';
import { QuorumController } from '../../src/controller/quorum-controller.js';
import { applyRecords, EMPTY_IMAGE, type MetadataImage } from '../../src/metadata/image.js';
import type { MetadataRecord } from '../../src/metadata/records.js';

test('the shell logs one structured line per controller event once its batch is committed, none per request', async () => {
  let image: MetadataImage = EMPTY_IMAGE;
  const lines: { obj: Record<string, unknown>; msg: string }[] = [];
  const log = (obj: object, msg: string): void => { lines.push({ obj: obj as Record<string, unknown>, msg }); };
  const controller = new QuorumController({
    core: new ControllerCore({ config: resolveConfig({}).config, brokerLifecycle: 'heartbeats' }),
    writer: {
      async append(records: readonly MetadataRecord[]) {
        image = applyRecords(image, records, image.offset + 1).image;
        return image.offset;
      },
    },
    image: () => image,
    clock: { nowMs: () => 1000, monotonicMs: () => 1000 },
    nodeId: 7,
    logger: { info: log, warn: log },
  });
  controller.activate();
  const registered = await controller.send({
    type: 'registerBroker', brokerId: 1, incarnationId: 'a', clusterId: 'c', host: 'h', port: 1, rack: null,
  }, 1000);
  assert.ok(registered.ok);
  const heartbeat = { type: 'brokerHeartbeat' as const, brokerId: 1, brokerEpoch: 0, currentMetadataOffset: image.offset, wantFence: false, wantShutDown: false };
  assert.ok((await controller.send(heartbeat, 1000)).ok);
  assert.ok((await controller.send(heartbeat, 1000)).ok, 'a second heartbeat changes nothing and logs nothing');
  controller.close();
  const events = lines.filter((l) => l.msg !== 'controller activated' && l.msg !== 'controller deactivated');
  assert.deepEqual(events.map((l) => l.msg), ['broker-registered', 'broker-unfenced']);
  assert.equal(events[1]!.obj.brokerId, 1);
  assert.equal(events[1]!.obj.controllerId, 7);
  assert.equal(typeof events[1]!.obj.metadataOffset, 'number');
});
