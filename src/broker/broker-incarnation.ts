/**
 * `{log.dirs}/broker-incarnation`: the KIP-631 incarnation id this node's broker last registered with.
 * Runnel's own file (meta.properties stays Kafka's format, read by Kafka's tools).
 *
 * Why: after kill -9 the controller still holds the dead process's session, and Kafka refuses a new
 * incarnation with DUPLICATE_BROKER_REGISTRATION until that session expires (ClusterControlManager
 * .registerBroker with BrokerHeartbeatManager.hasValidSession): `broker.session.timeout.ms` (9 s) of
 * unavailability after every crash. A process that holds the data directory's lock (data-dir-lock.ts)
 * knows the process that wrote this file is dead, so it sends the id as `previousIncarnationId` and
 * the controller ends that session at once (controller/core.ts registerBroker).
 *
 * Only a lock holder may read it (Broker.start takes the lock as proof). Written atomically and fsynced
 * after each successful registration; a crash before the write leaves the older id, which the controller
 * does not accept as proof: that start waits out the session as Kafka does, nothing worse.
 *
 * Format, properties text: `version=0`, `node.id=N`, `incarnation.id=<id>`. A damaged file, or one for
 * another node id, reads as absent (the start then just waits, as Kafka's does).
 */
import { readdir, realpath } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { invariant } from '../common/assert.js';
import { parseProperties, propertiesFileBytesMax } from '../config/properties.js';
import { readFileIfExists, unlinkIfExists, writeFileAtomic } from '../storage/fs-util.js';
import type { DataDirLock } from '../storage/data-dir-lock.js';

export const BROKER_INCARNATION_FILE = 'broker-incarnation';
const VERSION = '0';
/** Incarnation ids are UUIDs (36 characters); anything longer is not one of ours. */
const INCARNATION_ID_CHARS_MAX = 64;

export class BrokerIncarnationFile {
  private constructor(private readonly path: string, private readonly nodeId: number) {}

  /** `lock` is the proof the file's writer is gone: it must be this directory's lock, held by this process. */
  static async open(lock: DataDirLock, dataDir: string, nodeId: number): Promise<BrokerIncarnationFile> {
    const dir = await realpath(dataDir);
    invariant(dirname(lock.path) === dir, `the lock ${lock.path} is not the lock of ${dir}`);
    // writeFileAtomic's temporaries a crash left behind (`broker-incarnation.<pid>-<n>.tmp`).
    for (const name of await readdir(dir)) {
      if (name.startsWith(`${BROKER_INCARNATION_FILE}.`) && name.endsWith('.tmp')) await unlinkIfExists(join(dir, name));
    }
    return new BrokerIncarnationFile(join(dir, BROKER_INCARNATION_FILE), nodeId);
  }

  /** The incarnation the previous process of this node registered, or undefined. */
  async readPrevious(): Promise<string | undefined> {
    const bytes = await readFileIfExists(this.path);
    if (bytes === undefined || bytes.length > propertiesFileBytesMax) return undefined;
    const properties = parseProperties(bytes.toString('utf8'));
    const id = properties.get('incarnation.id');
    if (properties.get('version') !== VERSION || properties.get('node.id') !== String(this.nodeId)) return undefined;
    if (id === undefined || id.length === 0 || id.length > INCARNATION_ID_CHARS_MAX) return undefined;
    return id;
  }

  /** Records this process's registered incarnation, durably (file and directory fsynced). */
  async write(incarnationId: string): Promise<void> {
    await writeFileAtomic(this.path, `version=${VERSION}\nnode.id=${this.nodeId}\nincarnation.id=${incarnationId}\n`);
  }
}
