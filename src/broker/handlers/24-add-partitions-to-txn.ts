/**
 * AddPartitionsToTxn (API 24), versions 0-5 (KIP-98; v4+ batches transactions and carries verify_only,
 * KIP-890 part 1; v5 may answer TRANSACTION_ABORTABLE).
 *
 * v0-3: one transaction from a producer; v4+: several, sent broker to broker (Kafka's
 * AddPartitionsToTxnManager verifying produce requests) — a verify_only entry only checks that each
 * partition is in the ongoing transaction (NONE or TRANSACTION_ABORTABLE), any other adds them: that is
 * the implicit add of transactions v2 (KIP-890 part 2: a Produce v12+ or TxnOffsetCommit v5+ on another
 * node), so the transaction follows the v2 rules from then on. Per
 * transaction (KafkaApis.handleAddPartitionsToTxnRequest): partitions of topics that do not exist get
 * UNKNOWN_TOPIC_OR_PARTITION and the others OPERATION_NOT_ATTEMPTED; otherwise every partition gets the
 * coordinator's answer (src/txn/coordinator.ts: INVALID_PRODUCER_ID_MAPPING, PRODUCER_FENCED — before v2
 * INVALID_PRODUCER_EPOCH —, CONCURRENT_TRANSACTIONS, NOT_COORDINATOR, COORDINATOR_LOAD_IN_PROGRESS, …).
 * A v4+ request naming one transactional id twice is INVALID_REQUEST at the top level.
 * Not implemented: ACLs (CLUSTER_ACTION for v4+ is not checked).
 */
import {
  decodeAddPartitionsToTxnRequest,
  encodeAddPartitionsToTxnResponse,
  type AddPartitionsToTxnRequest,
  type AddPartitionsToTxnRequestAddPartitionsToTxnTopic,
  type AddPartitionsToTxnResponse,
  type AddPartitionsToTxnResponseAddPartitionsToTxnTopicResult,
} from '../../protocol/generated/add-partitions-to-txn.js';
import { ApiKey } from '../../protocol/generated/index.js';
import { ErrorCode } from '../../protocol/errors.js';
import { TRANSACTION_VERSION_2, type TopicPartitionRef } from '../../txn/coordinator.js';
import type { ApiHandler, BrokerServices, RequestContext } from '../api-handler.js';
import { fencedForVersion } from './txn-errors.js';

export const addPartitionsToTxnHandler: ApiHandler<AddPartitionsToTxnRequest, AddPartitionsToTxnResponse> = {
  apiKey: ApiKey.AddPartitionsToTxn,
  name: 'AddPartitionsToTxn',
  minVersion: 0,
  maxVersion: 5,
  decode: decodeAddPartitionsToTxnRequest,
  encode: encodeAddPartitionsToTxnResponse,
  handle: handleAddPartitionsToTxn,
};

interface OneTransaction {
  readonly transactionalId: string;
  readonly producerId: number;
  readonly producerEpoch: number;
  readonly verifyOnly: boolean;
  readonly topics: AddPartitionsToTxnRequestAddPartitionsToTxnTopic[];
}

async function handleAddPartitionsToTxn(context: RequestContext<AddPartitionsToTxnRequest>): Promise<AddPartitionsToTxnResponse> {
  const { request, apiVersion, services } = context;
  if (apiVersion < 4) {
    const topicResults = await addOne(services, apiVersion, {
      transactionalId: request.v3AndBelowTransactionalId, producerId: Number(request.v3AndBelowProducerId),
      producerEpoch: request.v3AndBelowProducerEpoch, verifyOnly: false, topics: request.v3AndBelowTopics,
    });
    return { throttleTimeMs: 0, errorCode: ErrorCode.NONE, resultsByTransaction: [], resultsByTopicV3AndBelow: topicResults };
  }
  const ids = new Set(request.transactions.map((t) => t.transactionalId));
  if (ids.size !== request.transactions.length) {
    return { throttleTimeMs: 0, errorCode: ErrorCode.INVALID_REQUEST, resultsByTransaction: [], resultsByTopicV3AndBelow: [] };
  }
  const resultsByTransaction = await Promise.all(request.transactions.map(async (t) => ({
    transactionalId: t.transactionalId,
    topicResults: await addOne(services, apiVersion, { ...t, producerId: Number(t.producerId) }),
  })));
  return { throttleTimeMs: 0, errorCode: ErrorCode.NONE, resultsByTransaction, resultsByTopicV3AndBelow: [] };
}

async function addOne(services: BrokerServices, version: number, txn: OneTransaction): Promise<AddPartitionsToTxnResponseAddPartitionsToTxnTopicResult[]> {
  const partitions: TopicPartitionRef[] = [];
  for (const topic of txn.topics) for (const partition of topic.partitions) partitions.push({ topic: topic.name, partition });
  const unknown = (tp: TopicPartitionRef): boolean => {
    const topic = services.metadata.topicByName(tp.topic);
    return topic === undefined || tp.partition < 0 || tp.partition >= topic.partitions.length;
  };
  let errors: number[];
  if (partitions.some(unknown)) {
    errors = partitions.map((tp) => (unknown(tp) ? ErrorCode.UNKNOWN_TOPIC_OR_PARTITION : ErrorCode.OPERATION_NOT_ATTEMPTED));
  } else {
    const identity = { transactionalId: txn.transactionalId, producerId: txn.producerId, producerEpoch: txn.producerEpoch };
    if (txn.verifyOnly) {
      errors = services.txnCoordinator.verifyPartitions(identity, partitions);
    } else {
      // Only brokers send v4+; one that adds does it for a transactions v2 producer (KIP-890 part 2).
      const errorCode = await services.txnCoordinator.addPartitions(identity, partitions, version >= 4 ? TRANSACTION_VERSION_2 : 0);
      errors = partitions.map(() => errorCode);
    }
  }
  const byTopic = new Map<string, AddPartitionsToTxnResponseAddPartitionsToTxnTopicResult>();
  partitions.forEach((tp, i) => {
    let result = byTopic.get(tp.topic);
    if (result === undefined) byTopic.set(tp.topic, (result = { name: tp.topic, resultsByPartition: [] }));
    result.resultsByPartition.push({ partitionIndex: tp.partition, partitionErrorCode: fencedForVersion(errors[i] as number, version, 2) });
  });
  return [...byTopic.values()];
}
