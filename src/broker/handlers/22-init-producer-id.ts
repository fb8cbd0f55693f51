/**
 * InitProducerId (API 22), versions 0-5 (KIP-98; v3 adds producer_id/producer_epoch, KIP-360; v4
 * PRODUCER_FENCED and v5 TRANSACTION_ABORTABLE only concern transactional producers).
 *
 * Idempotent producers (transactional_id null): a new producer id with epoch 0 from the node's
 * producer-id block (src/controller/producer-ids.ts: blocks of 1000 committed to the metadata
 * log, never reused across restarts). As Kafka's TransactionCoordinator.handleInitProducerId does for a
 * null transactional id, a given producer_id/producer_epoch (v3+) is not checked and a new id is
 * returned: idempotent clients bump their epoch locally (KIP-360) and only come back here for a new id
 * when the epoch would overflow. KafkaApis' own checks come first: only one of producer_id and
 * producer_epoch set (-1 the other) → INVALID_REQUEST. No block available (the metadata log refused or
 * is closing) → COORDINATOR_LOAD_IN_PROGRESS, retriable, what RPCProducerIdManager answers while its next
 * block is pending.
 *
 * Transactional producers (transactional_id set) go to the transaction coordinator
 * (src/txn/coordinator.ts: epoch bumps, fencing of the previous producer, KIP-360 retries); an empty
 * transactional_id is INVALID_REQUEST. PRODUCER_FENCED is INVALID_PRODUCER_EPOCH before v4, as Kafka
 * answers older clients. No quotas or ACLs (IDEMPOTENT_WRITE and transactional ids are always allowed).
 */
import {
  decodeInitProducerIdRequest,
  encodeInitProducerIdResponse,
  type InitProducerIdRequest,
  type InitProducerIdResponse,
} from '../../protocol/generated/init-producer-id.js';
import { ApiKey } from '../../protocol/generated/index.js';
import { ErrorCode } from '../../protocol/errors.js';
import type { ApiHandler, RequestContext } from '../api-handler.js';
import { fencedForVersion } from './txn-errors.js';

/** RecordBatch.NO_PRODUCER_ID / NO_PRODUCER_EPOCH. */
const NO_PRODUCER_ID = -1n;
const NO_PRODUCER_EPOCH = -1;

/** v6 (KIP-939, unstable upstream and not served here) reports a prepared transaction; none exists. */
const NO_ONGOING_TXN = { ongoingTxnProducerId: -1n, ongoingTxnProducerEpoch: -1 };

export const initProducerIdHandler: ApiHandler<InitProducerIdRequest, InitProducerIdResponse> = {
  apiKey: ApiKey.InitProducerId,
  name: 'InitProducerId',
  minVersion: 0,
  maxVersion: 5,
  decode: decodeInitProducerIdRequest,
  encode: encodeInitProducerIdResponse,
  handle: handleInitProducerId,
};

function failed(errorCode: number): InitProducerIdResponse {
  return { throttleTimeMs: 0, errorCode, producerId: NO_PRODUCER_ID, producerEpoch: NO_PRODUCER_EPOCH, ...NO_ONGOING_TXN };
}

async function handleInitProducerId(context: RequestContext<InitProducerIdRequest>): Promise<InitProducerIdResponse> {
  const { request, services } = context;
  const givenId = request.producerId !== NO_PRODUCER_ID;
  const givenEpoch = request.producerEpoch !== NO_PRODUCER_EPOCH;
  if (givenId !== givenEpoch) return failed(ErrorCode.INVALID_REQUEST);
  if (request.transactionalId !== null) {
    const result = await services.txnCoordinator.initProducerId({
      transactionalId: request.transactionalId, transactionTimeoutMs: request.transactionTimeoutMs,
      producerId: Number(request.producerId), producerEpoch: request.producerEpoch,
    });
    return {
      throttleTimeMs: 0, errorCode: fencedForVersion(result.errorCode, context.apiVersion, 4),
      producerId: BigInt(result.producerId), producerEpoch: result.producerEpoch,
      ongoingTxnProducerId: -1n, ongoingTxnProducerEpoch: -1,
    };
  }
  let producerId: number;
  try {
    producerId = await services.producerIds.generateProducerId();
  } catch (err) {
    services.logger.warn({ err }, 'no producer id block available');
    return failed(ErrorCode.COORDINATOR_LOAD_IN_PROGRESS);
  }
  return { throttleTimeMs: 0, errorCode: ErrorCode.NONE, producerId: BigInt(producerId), producerEpoch: 0, ...NO_ONGOING_TXN };
}
