/**
 * An in-process cluster for tests without consensus faults: N brokers sharing one MemoryMetadataLog and
 * one active QuorumController (the controller of a real cluster runs on the Raft leader; here it is
 * simply shared). Ports from the OS, data in temp directories.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Broker } from '../../src/broker/broker.js';
import { resolveConfig } from '../../src/config/config.js';
import { systemClock } from '../../src/common/clock.js';
import { ControllerCore } from '../../src/controller/core.js';
import { QuorumController } from '../../src/controller/quorum-controller.js';
import { MemoryMetadataLog } from '../../src/metadata/memory-metadata-log.js';
import { MetadataLoader } from '../../src/metadata/loader.js';
import { EMPTY_IMAGE, applyRecords, type MetadataImage } from '../../src/metadata/image.js';

export interface MemoryCluster {
  readonly brokers: Broker[];
  readonly metadataLog: MemoryMetadataLog;
  readonly controller: QuorumController;
  readonly bootstrapServers: string;
  close(): Promise<void>;
}

export async function startMemoryCluster(nodes: number, overrides: Record<string, string> = {}): Promise<MemoryCluster> {
  const metadataLog = new MemoryMetadataLog();
  let image: MetadataImage = EMPTY_IMAGE;
  metadataLog.onCommit((batch) => { image = applyRecords(image, batch.records, batch.offset).image; });
  const config = resolveConfig({ overrides: Object.entries(overrides) }).config;
  const controller = new QuorumController({
    core: new ControllerCore({ config }), writer: metadataLog, image: () => image, clock: systemClock, nodeId: 0,
  });
  controller.activate();
  const dirs: string[] = [];
  const brokers: Broker[] = [];
  for (let id = 1; id <= nodes; id++) {
    const dir = mkdtempSync(join(tmpdir(), `runnel-mc-${id}-`));
    dirs.push(dir);
    const nodeConfig = resolveConfig({
      overrides: Object.entries({ 'node.id': String(id), 'log.dirs': dir, listeners: 'PLAINTEXT://127.0.0.1:0', ...overrides }),
    }).config;
    brokers.push(await Broker.start({ config: nodeConfig, clusterId: 'bWVtb3J5LWNsdXN0ZXItMQ', cluster: { loader: new MetadataLoader(metadataLog), controller } }));
  }
  return {
    brokers, metadataLog, controller,
    bootstrapServers: brokers.map((b) => b.bootstrapServers).join(','),
    async close() {
      for (const b of brokers) await b.close().catch(() => undefined);
      controller.close();
      metadataLog.shutdown();
      for (const d of dirs) rmSync(d, { recursive: true, force: true });
    },
  };
}
