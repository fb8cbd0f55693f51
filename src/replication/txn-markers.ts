/**
 * Writing one transaction marker to a partition this node leads (Kafka's ReplicaManager.appendRecords
 * with AppendOrigin.COORDINATOR, as KafkaApis.handleWriteTxnMarkersRequest calls it): the producer state
 * checks the marker (an epoch older than the producer's → INVALID_PRODUCER_EPOCH, an older coordinator
 * epoch → TRANSACTION_COORDINATOR_FENCED), the control batch is appended at the leader epoch, and the
 * producer's transaction is closed at the marker's offset — check, append and close run without an await
 * between them, so no produce can slip in. The marker counts as written once the high watermark passes it
 * (the caller waits for that, as Kafka's WriteTxnMarkers waits for acks=-1).
 */
import { ErrorCode } from '../protocol/errors.js';
import { buildEndTxnMarkerBatch, type EndTransactionMarker } from '../protocol/control-batch.js';
import type { AppendResult } from '../storage/partition-log.js';
import type { LocalReplicaManager } from './replica-manager.js';
import type { HostedPartition } from './types.js';

export type MarkerWrite =
  | { readonly errorCode: 0; readonly partition: HostedPartition; readonly result: AppendResult }
  | { readonly errorCode: number; readonly errorMessage?: string };

/** Appends the marker to topic-partition if this node leads it (see the header). */
export function writeTxnMarker(
  replicaManager: LocalReplicaManager, topic: string, partition: number, marker: EndTransactionMarker, nowMs: number,
): MarkerWrite {
  const lookup = replicaManager.leaderPartition(topic, partition, -1);
  if (!lookup.ok) return { errorCode: lookup.errorCode };
  const hosted = lookup.partition;
  const state = replicaManager.producerStateStore(hosted);
  const check = state.checkMarker(marker.producerId, marker.producerEpoch, marker.coordinatorEpoch, marker.transactionVersion ?? 0);
  if (check.errorCode !== ErrorCode.NONE) return check;
  let result: AppendResult;
  try {
    result = replicaManager.appendRecordsToLeader(hosted, buildEndTxnMarkerBatch(marker, nowMs));
  } catch (err) {
    const errorCode = (err as { errorCode?: unknown }).errorCode;
    if (typeof errorCode !== 'number') throw err;
    return { errorCode, errorMessage: (err as Error).message };
  }
  state.onMarker(marker.producerId, marker.producerEpoch, marker.coordinatorEpoch, marker.commit, result.baseOffset, nowMs);
  return { errorCode: ErrorCode.NONE, partition: hosted, result };
}
