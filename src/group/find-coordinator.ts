/**
 * FindCoordinator for groups (key type 0), v0-6, as a pure function: the coordinator of a group is the
 * leader of its `__consumer_offsets` partition (KafkaApis.getCoordinator). v4+ batches keys (KIP-699);
 * v0-3 is the same with one key. Transaction coordinators (key type 1) are not answered here.
 *
 * `leaderOf` comes from the broker's metadata image; it returns null when the partition has no live
 * leader, including when the internal topic does not exist yet: the caller creates it (compacted,
 * offsets.topic.num.partitions) on first use and the client retries on COORDINATOR_NOT_AVAILABLE.
 */
import { ErrorCode } from './errors.js';
import { partitionForGroup } from './group-hash.js';

export interface CoordinatorNode {
  nodeId: number;
  host: string;
  port: number;
}

export interface FindCoordinatorResult {
  key: string;
  nodeId: number;
  host: string;
  port: number;
  errorCode: number;
  errorMessage: string | null;
}

export function findGroupCoordinators(
  keys: readonly string[],
  offsetsTopicNumPartitions: number,
  leaderOf: (partition: number) => CoordinatorNode | null,
): FindCoordinatorResult[] {
  return keys.map((key) => {
    const leader = leaderOf(partitionForGroup(key, offsetsTopicNumPartitions));
    if (leader === null) {
      return { key, nodeId: -1, host: '', port: -1, errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE, errorMessage: 'The coordinator is not available.' };
    }
    return { key, ...leader, errorCode: ErrorCode.NONE, errorMessage: null };
  });
}
