/**
 * DescribeLogDirs (API 35, KIP-113), versions 0-5 (v5 adds IsCordoned, KIP-1066: Runnel never cordons a log directory, so always false).
 *
 * The broker's one log directory (log.dirs, reported as an absolute path) and, for each hosted
 * partition asked for, its size on disk (the sum of its segments) and offset lag
 * (ReplicaManager.describeLogDirs / getLogEndOffsetLag: max(high watermark − log end, 0), so 0 for a
 * partition this node leads). `topics` null asks for every hosted partition; partitions asked for
 * that are not hosted here are left out, as Kafka does. v4 adds the file system's total and usable
 * bytes (statfs: blocks × block size, blocks available to unprivileged users × block size, as Java's
 * FileStore reports them); when statfs fails the directory is answered with KAFKA_STORAGE_ERROR.
 * This is what `kafka-log-dirs.sh --describe` and Admin.describeLogDirs / describeReplicaLogDirs read.
 * Differs from Kafka: a topic none of whose partitions were asked for is left out instead of listed
 * with no partitions. Not implemented: JBOD (one directory), future replicas (is_future_key is always
 * false), authorization (no authorizer: CLUSTER_AUTHORIZATION_FAILED never occurs).
 */
import { statfs } from 'node:fs/promises';
import { resolve } from 'node:path';
import {
  decodeDescribeLogDirsRequest,
  encodeDescribeLogDirsResponse,
  type DescribeLogDirsRequest,
  type DescribeLogDirsResponse,
  type DescribeLogDirsResponseDescribeLogDirsResult,
  type DescribeLogDirsResponseDescribeLogDirsTopic,
} from '../../protocol/generated/describe-log-dirs.js';
import { ApiKey } from '../../protocol/generated/index.js';
import { ErrorCode } from '../../protocol/errors.js';
import type { HostedPartition } from '../../replication/types.js';
import type { ApiHandler, RequestContext } from '../api-handler.js';

const INT64_MAX = 0x7fffffffffffffffn;

export const describeLogDirsHandler: ApiHandler<DescribeLogDirsRequest, DescribeLogDirsResponse> = {
  apiKey: ApiKey.DescribeLogDirs,
  name: 'DescribeLogDirs',
  minVersion: 0,
  maxVersion: 5,
  decode: decodeDescribeLogDirsRequest,
  encode: encodeDescribeLogDirsResponse,
  handle: handleDescribeLogDirs,
};

async function handleDescribeLogDirs(context: RequestContext<DescribeLogDirsRequest>): Promise<DescribeLogDirsResponse> {
  const { services, request } = context;
  const logDir = resolve(services.config['log.dirs']);
  const wanted = wantedPartitions(request);
  const topics = new Map<string, DescribeLogDirsResponseDescribeLogDirsTopic>();
  for (const hosted of services.replicaManager.partitions()) {
    if (wanted !== null && wanted.get(hosted.topic)?.has(hosted.partition) !== true) continue;
    let topic = topics.get(hosted.topic);
    if (topic === undefined) topics.set(hosted.topic, (topic = { name: hosted.topic, partitions: [] }));
    topic.partitions.push(describePartition(hosted));
  }
  for (const topic of topics.values()) topic.partitions.sort((a, b) => a.partitionIndex - b.partitionIndex);
  let result: DescribeLogDirsResponseDescribeLogDirsResult;
  try {
    const fileSystem = await statfs(logDir, { bigint: true });
    result = {
      errorCode: ErrorCode.NONE,
      logDir,
      topics: [...topics.values()],
      totalBytes: int64(fileSystem.blocks * fileSystem.bsize),
      usableBytes: int64(fileSystem.bavail * fileSystem.bsize),
      isCordoned: false,
    };
  } catch (err) {
    services.logger.warn({ err, logDir }, 'DescribeLogDirs: statfs of the log directory failed');
    result = { errorCode: ErrorCode.KAFKA_STORAGE_ERROR, logDir, topics: [], totalBytes: -1n, usableBytes: -1n, isCordoned: false };
  }
  return { throttleTimeMs: 0, errorCode: ErrorCode.NONE, results: [result] };
}

/** Kafka's adjustForLargeFileSystems: a size past Int64 is reported as Int64 max. */
function int64(bytes: bigint): bigint {
  return bytes > INT64_MAX ? INT64_MAX : bytes;
}

/** Topic → partitions asked for, or null for every hosted partition. */
function wantedPartitions(request: DescribeLogDirsRequest): Map<string, Set<number>> | null {
  if (request.topics === null) return null;
  const wanted = new Map<string, Set<number>>();
  for (const topic of request.topics) {
    let partitions = wanted.get(topic.topic);
    if (partitions === undefined) wanted.set(topic.topic, (partitions = new Set()));
    for (const partition of topic.partitions) partitions.add(partition);
  }
  return wanted;
}

function describePartition(hosted: HostedPartition) {
  return {
    partitionIndex: hosted.partition,
    partitionSize: BigInt(hosted.log.size()),
    offsetLag: BigInt(Math.max(hosted.highWatermark - hosted.logEndOffset, 0)),
    isFutureKey: false,
  };
}
