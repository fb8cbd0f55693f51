/**
 * DeleteRecords (API 21, KIP-107), versions 0-2.
 *
 * Moves each partition's log start offset forward (KafkaApis.handleDeleteRecordsRequest →
 * ReplicaManager.deleteRecords): the partition must be led here (UNKNOWN_TOPIC_OR_PARTITION,
 * NOT_LEADER_OR_FOLLOWER from the replica manager); offset -1 means the high watermark; an offset
 * below -1 or beyond the high watermark is OFFSET_OUT_OF_RANGE. The answer carries the new log start
 * offset as low_watermark (-1 on error). On a single node every replica has moved once the local log
 * has, so there is no purgatory wait.
 * Not implemented: waiting for followers' low watermarks (delayed DeleteRecords) in a cluster.
 */
import {
  decodeDeleteRecordsRequest,
  encodeDeleteRecordsResponse,
  type DeleteRecordsRequest,
  type DeleteRecordsResponse,
  type DeleteRecordsResponseDeleteRecordsPartitionResult,
} from '../../protocol/generated/delete-records.js';
import { ApiKey } from '../../protocol/generated/index.js';
import { ErrorCode } from '../../protocol/errors.js';
import { StorageError } from '../../storage/errors.js';
import type { ApiHandler, BrokerServices, RequestContext } from '../api-handler.js';

/** ReplicaManager's HIGH_WATERMARK_OFFSET sentinel: delete everything below the high watermark. */
const HIGH_WATERMARK = -1n;

export const deleteRecordsHandler: ApiHandler<DeleteRecordsRequest, DeleteRecordsResponse> = {
  apiKey: ApiKey.DeleteRecords,
  name: 'DeleteRecords',
  minVersion: 0,
  maxVersion: 2,
  decode: decodeDeleteRecordsRequest,
  encode: encodeDeleteRecordsResponse,
  handle: handleDeleteRecords,
};

async function handleDeleteRecords(context: RequestContext<DeleteRecordsRequest>): Promise<DeleteRecordsResponse> {
  const { services } = context;
  const topics = [];
  // Sequential: each partition's log has one owner and the work per partition is small.
  for (const topic of context.request.topics) {
    const partitions: DeleteRecordsResponseDeleteRecordsPartitionResult[] = [];
    for (const p of topic.partitions) {
      partitions.push(await deleteOne(services, topic.name, p.partitionIndex, p.offset));
    }
    topics.push({ name: topic.name, partitions });
  }
  return { throttleTimeMs: 0, topics };
}

async function deleteOne(
  services: BrokerServices, topic: string, partitionIndex: number, requested: bigint,
): Promise<DeleteRecordsResponseDeleteRecordsPartitionResult> {
  const failed = (errorCode: number): DeleteRecordsResponseDeleteRecordsPartitionResult => ({ partitionIndex, lowWatermark: -1n, errorCode });
  const lookup = services.replicaManager.leaderPartition(topic, partitionIndex, -1);
  if (!lookup.ok) return failed(lookup.errorCode);
  const { log } = lookup.partition;
  const highWatermark = BigInt(log.highWatermark);
  const offset = requested === HIGH_WATERMARK ? highWatermark : requested;
  if (offset < 0n || offset > highWatermark) return failed(ErrorCode.OFFSET_OUT_OF_RANGE);
  try {
    const logStartOffset = await log.deleteRecords(Number(offset));
    return { partitionIndex, lowWatermark: BigInt(logStartOffset), errorCode: ErrorCode.NONE };
  } catch (error) {
    if (error instanceof StorageError) return failed(error.errorCode);
    services.logger.error({ err: error, topic, partition: partitionIndex }, 'DeleteRecords failed');
    return failed(ErrorCode.UNKNOWN_SERVER_ERROR);
  }
}
