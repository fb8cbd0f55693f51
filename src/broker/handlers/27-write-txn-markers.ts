/**
 * WriteTxnMarkers (API 27), versions 0-2 (KIP-98; v2 gives each marker its transaction version, KIP-1228:
 * a transactions v2 marker must carry an epoch above the producer's, else INVALID_PRODUCER_EPOCH): transaction coordinators — and
 * `kafka-transactions.sh abort` for a hanging transaction — ask the leader of each partition to write a
 * commit or abort marker for a producer (KafkaApis.handleWriteTxnMarkersRequest). Per partition: not led
 * here → NOT_LEADER_OR_FOLLOWER / UNKNOWN_TOPIC_OR_PARTITION; the producer state's checks
 * (INVALID_PRODUCER_EPOCH, TRANSACTION_COORDINATOR_FENCED; src/replication/txn-markers.ts); then the
 * answer waits until the high watermark covers the marker (acks=-1, at most MARKER_TIMEOUT_MS →
 * REQUEST_TIMED_OUT). `__consumer_offsets` partitions go through the group coordinator, which applies or
 * drops the producer's transactional offsets there.
 * Not implemented: ACLs (CLUSTER_ACTION is not checked).
 */
import {
  decodeWriteTxnMarkersRequest,
  encodeWriteTxnMarkersResponse,
  type WriteTxnMarkersRequest,
  type WriteTxnMarkersResponse,
  type WriteTxnMarkersRequestWritableTxnMarker,
} from '../../protocol/generated/write-txn-markers.js';
import { ApiKey } from '../../protocol/generated/index.js';
import { ErrorCode } from '../../protocol/errors.js';
import type { EndTransactionMarker } from '../../protocol/control-batch.js';
import { writeTxnMarker } from '../../replication/txn-markers.js';
import { GROUP_METADATA_TOPIC_NAME } from '../../group/coordinator-runtime.js';
import type { ApiHandler, BrokerServices, RequestContext } from '../api-handler.js';

/** Kafka waits request.timeout.ms for the markers' replication. */
const MARKER_TIMEOUT_MS = 30_000;

export const writeTxnMarkersHandler: ApiHandler<WriteTxnMarkersRequest, WriteTxnMarkersResponse> = {
  apiKey: ApiKey.WriteTxnMarkers,
  name: 'WriteTxnMarkers',
  minVersion: 0,
  maxVersion: 2,
  decode: decodeWriteTxnMarkersRequest,
  encode: encodeWriteTxnMarkersResponse,
  handle: handleWriteTxnMarkers,
};

async function handleWriteTxnMarkers(context: RequestContext<WriteTxnMarkersRequest>): Promise<WriteTxnMarkersResponse> {
  const { request, services } = context;
  const markers = await Promise.all(request.markers.map((m) => writeOne(services, m)));
  return { markers };
}

async function writeOne(services: BrokerServices, m: WriteTxnMarkersRequestWritableTxnMarker): Promise<WriteTxnMarkersResponse['markers'][number]> {
  const marker: EndTransactionMarker = {
    producerId: Number(m.producerId), producerEpoch: m.producerEpoch, coordinatorEpoch: m.coordinatorEpoch, commit: m.transactionResult,
    transactionVersion: m.transactionVersion,
  };
  const topics = await Promise.all(m.topics.map(async (topic) => ({
    name: topic.name,
    partitions: await Promise.all(topic.partitionIndexes.map(async (partitionIndex) => ({
      partitionIndex, errorCode: await writeToPartition(services, topic.name, partitionIndex, marker),
    }))),
  })));
  return { producerId: m.producerId, topics };
}

async function writeToPartition(services: BrokerServices, topic: string, partition: number, marker: EndTransactionMarker): Promise<number> {
  if (topic === GROUP_METADATA_TOPIC_NAME) {
    const errorCode = await services.groupCoordinator.completeTransaction(partition, marker);
    // The group coordinator's own answers mean "not here (yet)" to the sender.
    return errorCode === ErrorCode.NOT_COORDINATOR || errorCode === ErrorCode.COORDINATOR_LOAD_IN_PROGRESS ? ErrorCode.NOT_LEADER_OR_FOLLOWER : errorCode;
  }
  const written = writeTxnMarker(services.replicaManager, topic, partition, marker, services.clock.nowMs());
  if (!('result' in written)) return written.errorCode;
  const [errorCode] = await services.delayedProduce.await([{
    partition: written.partition, requiredOffset: written.result.lastOffset + 1, minInsyncReplicas: services.replicaManager.minInsyncReplicas(topic),
  }], MARKER_TIMEOUT_MS);
  return errorCode ?? ErrorCode.REQUEST_TIMED_OUT;
}
