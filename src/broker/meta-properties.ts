/**
 * `{log.dirs}/meta.properties`: the node id and cluster id a data directory belongs to, in KRaft's
 * format (version=1, KIP-631). Written once when a directory is first used, then checked on every start
 * so that a directory is never served under another node id or cluster id.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, open, readFile, rename } from 'node:fs/promises';
import { join } from 'node:path';
import { parseProperties, propertiesFileBytesMax } from '../config/properties.js';
import { ConfigError } from '../config/config.js';

export const metaPropertiesFileName = 'meta.properties';
const metaPropertiesVersion = 1;

export interface MetaProperties {
  readonly nodeId: number;
  readonly clusterId: string;
}

/**
 * A random id in Kafka's `Uuid.toString()` form: 16 bytes, base64url without padding (22 characters).
 * Like `Uuid.randomUuid()`, ids starting with '-' are redrawn (they read as command-line flags).
 */
export function randomKafkaUuid(): string {
  for (let attempt = 0; attempt < 100; attempt++) {
    const id = randomBytes(16).toString('base64url');
    if (!id.startsWith('-') && id !== 'AAAAAAAAAAAAAAAAAAAAAA') return id;
  }
  throw new Error('randomKafkaUuid: no usable id in 100 draws');
}

export function isKafkaUuid(text: string): boolean {
  return /^[A-Za-z0-9_-]{22}$/.test(text) && Buffer.from(text, 'base64url').length === 16;
}

/**
 * Reads meta.properties, or creates it (and the directory). `clusterId` is used when creating; when
 * given and the directory already has a different one, it is an error, as is a different node id.
 */
export async function ensureMetaProperties(
  dataDir: string,
  nodeId: number,
  clusterId: string | undefined,
): Promise<MetaProperties> {
  if (clusterId !== undefined && !isKafkaUuid(clusterId)) {
    throw new ConfigError(`cluster id '${clusterId}' is not a 22-character base64url Kafka uuid`);
  }
  const existing = await readMetaProperties(dataDir);
  if (existing === null) {
    const created = { nodeId, clusterId: clusterId ?? randomKafkaUuid() };
    await writeMetaProperties(dataDir, created);
    return created;
  }
  if (existing.nodeId !== nodeId) {
    throw new ConfigError(`${join(dataDir, metaPropertiesFileName)} belongs to node.id ${existing.nodeId}, not ${nodeId}`);
  }
  if (clusterId !== undefined && existing.clusterId !== clusterId) {
    throw new ConfigError(
      `${join(dataDir, metaPropertiesFileName)} belongs to cluster ${existing.clusterId}, not ${clusterId}`,
    );
  }
  return existing;
}

export async function readMetaProperties(dataDir: string): Promise<MetaProperties | null> {
  const path = join(dataDir, metaPropertiesFileName);
  let text: string;
  try {
    const bytes = await readFile(path);
    if (bytes.length > propertiesFileBytesMax) throw new ConfigError(`${path} is larger than ${propertiesFileBytesMax} bytes`);
    text = bytes.toString('utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
  const properties = parseProperties(text);
  const nodeId = Number(properties.get('node.id'));
  const clusterId = properties.get('cluster.id') ?? '';
  if (!Number.isInteger(nodeId) || nodeId < 0 || !isKafkaUuid(clusterId)) {
    throw new ConfigError(`${path} is damaged: needs node.id and cluster.id`);
  }
  return { nodeId, clusterId };
}

/** Write to a temporary file, fsync, rename: a crash leaves the old file or the new one, never half. */
async function writeMetaProperties(dataDir: string, meta: MetaProperties): Promise<void> {
  await mkdir(dataDir, { recursive: true });
  const path = join(dataDir, metaPropertiesFileName);
  const temporary = `${path}.tmp`;
  const text =
    `#\n#${new Date().toUTCString()}\n` +
    `node.id=${meta.nodeId}\nversion=${metaPropertiesVersion}\ncluster.id=${meta.clusterId}\n`;
  const file = await open(temporary, 'w');
  try {
    await file.writeFile(text);
    await file.sync();
  } finally {
    await file.close();
  }
  await rename(temporary, path);
  const directory = await open(dataDir, 'r');
  try {
    await directory.sync();
  } finally {
    await directory.close();
  }
}
