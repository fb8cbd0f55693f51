/**
 * DescribeProducers (API 61, KIP-664), version 0.
 *
 * The idempotent producers each requested partition remembers (KafkaApis.handleDescribeProducersRequest
 * → ReplicaManager.activeProducerState → UnifiedLog.activeProducers), as `kafka-transactions.sh
 * describe-producers` and Admin.describeProducers show them: producer id, epoch, the last sequence of
 * its newest retained batch (-1 when none), that batch's timestamp, the epoch of the coordinator that
 * wrote its last transaction marker and the first offset of its open transaction (-1 when none; what
 * `kafka-transactions.sh find-hanging` looks for). Any replica with the log answers,
 * leader or not, as in Kafka. A partition the image does not know is UNKNOWN_TOPIC_OR_PARTITION; one it
 * knows but this node does not host is NOT_LEADER_OR_FOLLOWER. Partitions of one topic named more than
 * once in the request are answered under one topic entry, as Kafka groups them by name.
 * Not implemented: authorization (no authorizer: TOPIC_AUTHORIZATION_FAILED never occurs).
 */
import {
  decodeDescribeProducersRequest,
  encodeDescribeProducersResponse,
  type DescribeProducersRequest,
  type DescribeProducersResponse,
  type DescribeProducersResponsePartitionResponse,
} from '../../protocol/generated/describe-producers.js';
import { ApiKey } from '../../protocol/generated/index.js';
import { ErrorCode } from '../../protocol/errors.js';
import type { ApiHandler, BrokerServices, RequestContext } from '../api-handler.js';

/** RecordBatch.NO_SEQUENCE / NO_PARTITION_LEADER_EPOCH, and "no open transaction". */
const NONE = -1;

export const describeProducersHandler: ApiHandler<DescribeProducersRequest, DescribeProducersResponse> = {
  apiKey: ApiKey.DescribeProducers,
  name: 'DescribeProducers',
  minVersion: 0,
  maxVersion: 0,
  decode: decodeDescribeProducersRequest,
  encode: encodeDescribeProducersResponse,
  handle: handleDescribeProducers,
};

function handleDescribeProducers(context: RequestContext<DescribeProducersRequest>): DescribeProducersResponse {
  const byTopic = new Map<string, DescribeProducersResponsePartitionResponse[]>();
  for (const topic of context.request.topics) {
    let partitions = byTopic.get(topic.name);
    if (partitions === undefined) byTopic.set(topic.name, (partitions = []));
    for (const partitionIndex of topic.partitionIndexes) partitions.push(describeOne(context.services, topic.name, partitionIndex));
  }
  return { throttleTimeMs: 0, topics: [...byTopic].map(([name, partitions]) => ({ name, partitions })) };
}

function describeOne(services: BrokerServices, topic: string, partitionIndex: number): DescribeProducersResponsePartitionResponse {
  const lookup = services.replicaManager.hostedPartition(topic, partitionIndex);
  if (!lookup.ok) return { partitionIndex, errorCode: lookup.errorCode, errorMessage: null, activeProducers: [] };
  const activeProducers = services.replicaManager.activeProducers(lookup.partition).map((entry) => ({
    producerId: BigInt(entry.producerId),
    producerEpoch: entry.producerEpoch,
    lastSequence: entry.batches.at(-1)?.lastSeq ?? NONE,
    lastTimestamp: BigInt(entry.lastTimestamp),
    coordinatorEpoch: entry.coordinatorEpoch,
    currentTxnStartOffset: BigInt(entry.currentTxnFirstOffset),
  }));
  return { partitionIndex, errorCode: ErrorCode.NONE, errorMessage: null, activeProducers };
}
