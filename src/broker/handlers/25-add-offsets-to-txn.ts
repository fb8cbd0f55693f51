/**
 * AddOffsetsToTxn (API 25), versions 0-4 (KIP-98): the group's `__consumer_offsets` partition joins the
 * producer's transaction, so the TxnOffsetCommit that follows becomes part of it
 * (TransactionCoordinator.handleAddPartitionsToTransaction with that one partition). Errors as
 * AddPartitionsToTxn; PRODUCER_FENCED is INVALID_PRODUCER_EPOCH before v2.
 * Not implemented: ACLs.
 */
import {
  decodeAddOffsetsToTxnRequest,
  encodeAddOffsetsToTxnResponse,
  type AddOffsetsToTxnRequest,
  type AddOffsetsToTxnResponse,
} from '../../protocol/generated/add-offsets-to-txn.js';
import { ApiKey } from '../../protocol/generated/index.js';
import type { ApiHandler, RequestContext } from '../api-handler.js';
import { fencedForVersion } from './txn-errors.js';

export const addOffsetsToTxnHandler: ApiHandler<AddOffsetsToTxnRequest, AddOffsetsToTxnResponse> = {
  apiKey: ApiKey.AddOffsetsToTxn,
  name: 'AddOffsetsToTxn',
  minVersion: 0,
  maxVersion: 4,
  decode: decodeAddOffsetsToTxnRequest,
  encode: encodeAddOffsetsToTxnResponse,
  handle: handleAddOffsetsToTxn,
};

async function handleAddOffsetsToTxn(context: RequestContext<AddOffsetsToTxnRequest>): Promise<AddOffsetsToTxnResponse> {
  const { request, apiVersion, services } = context;
  const errorCode = await services.txnCoordinator.addOffsets(
    { transactionalId: request.transactionalId, producerId: Number(request.producerId), producerEpoch: request.producerEpoch },
    request.groupId,
  );
  return { throttleTimeMs: 0, errorCode: fencedForVersion(errorCode, apiVersion, 2) };
}
