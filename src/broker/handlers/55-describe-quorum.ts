/**
 * DescribeQuorum (API 55, KIP-595 / KIP-836 / KIP-853), versions 0-2: the metadata quorum as
 * `kafka-metadata-quorum describe --status / --replication` shows it — leader, epoch, high watermark,
 * each voter's and observer's log end offset and last fetch / caught-up times, and (v2) the voters'
 * controller endpoints. Only `__cluster_metadata` partition 0 exists (UNKNOWN_TOPIC_OR_PARTITION for
 * anything else). The replication figures are the active controller's (the Raft leader's progress);
 * a broker that is not the leader asks it over the controller listener, as Kafka's broker forwards the
 * request to the controller. Offsets are Raft indexes. Voter directory ids (KIP-853) are the zero uuid:
 * the quorum is static (controller.quorum.voters).
 */
import {
  decodeDescribeQuorumRequest,
  encodeDescribeQuorumResponse,
  type DescribeQuorumRequest,
  type DescribeQuorumResponse,
  type DescribeQuorumResponseReplicaState,
} from '../../protocol/generated/describe-quorum.js';
import { ApiKey } from '../../protocol/generated/index.js';
import { ErrorCode } from '../../protocol/errors.js';
import type { ApiHandler, RequestContext } from '../api-handler.js';
import type { QuorumReplica } from '../quorum-view.js';

const METADATA_TOPIC = '__cluster_metadata';
import { ZERO_UUID } from '../../protocol/codec-support.js';

export const describeQuorumHandler: ApiHandler<DescribeQuorumRequest, DescribeQuorumResponse> = {
  apiKey: ApiKey.DescribeQuorum,
  name: 'DescribeQuorum',
  minVersion: 0,
  maxVersion: 2,
  decode: decodeDescribeQuorumRequest,
  encode: encodeDescribeQuorumResponse,
  handle: handleDescribeQuorum,
};

async function handleDescribeQuorum(context: RequestContext<DescribeQuorumRequest>): Promise<DescribeQuorumResponse> {
  const quorum = context.services.quorum;
  const topics: DescribeQuorumResponse['topics'] = [];
  for (const topic of context.request.topics) {
    const partitions: DescribeQuorumResponse['topics'][number]['partitions'] = [];
    for (const p of topic.partitions) {
      const unknown = topic.topicName !== METADATA_TOPIC || p.partitionIndex !== 0;
      const description = unknown || quorum === undefined ? undefined : await quorum.describe();
      if (description === undefined) {
        partitions.push({
          partitionIndex: p.partitionIndex,
          errorCode: unknown ? ErrorCode.UNKNOWN_TOPIC_OR_PARTITION : ErrorCode.NOT_LEADER_OR_FOLLOWER,
          errorMessage: null, leaderId: -1, leaderEpoch: -1, highWatermark: -1n, currentVoters: [], observers: [],
        });
        continue;
      }
      partitions.push({
        partitionIndex: 0, errorCode: ErrorCode.NONE, errorMessage: null,
        leaderId: description.leaderId, leaderEpoch: description.leaderEpoch, highWatermark: BigInt(description.highWatermark),
        currentVoters: description.voters.map(replicaState), observers: description.observers.map(replicaState),
      });
    }
    topics.push({ topicName: topic.topicName, partitions });
  }
  const nodes = context.apiVersion < 2 || quorum === undefined ? [] : quorum.voterEndpoints().map((v) => ({
    nodeId: v.nodeId, listeners: [{ name: 'CONTROLLER', host: v.host, port: v.port }],
  }));
  return { errorCode: ErrorCode.NONE, errorMessage: null, topics, nodes };
}

function replicaState(r: QuorumReplica): DescribeQuorumResponseReplicaState {
  return {
    replicaId: r.nodeId, replicaDirectoryId: ZERO_UUID, logEndOffset: BigInt(r.logEndOffset),
    lastFetchTimestamp: BigInt(r.lastFetchTimestamp), lastCaughtUpTimestamp: BigInt(r.lastCaughtUpTimestamp),
  };
}
