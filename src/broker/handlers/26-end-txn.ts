/**
 * EndTxn (API 26), versions 0-4 (KIP-98): commit or abort the producer's ongoing transaction. The answer
 * comes once PrepareCommit / PrepareAbort is durable in `__transaction_state`; the markers follow
 * (src/txn/coordinator.ts has every state's answer). PRODUCER_FENCED is INVALID_PRODUCER_EPOCH before v2.
 * v5 (transactions v2, KIP-890 part 2: the response carries the bumped epoch) is not served: this broker
 * does not offer transactions v2, so clients negotiate v1.
 * Not implemented: ACLs.
 */
import {
  decodeEndTxnRequest,
  encodeEndTxnResponse,
  type EndTxnRequest,
  type EndTxnResponse,
} from '../../protocol/generated/end-txn.js';
import { ApiKey } from '../../protocol/generated/index.js';
import type { ApiHandler, RequestContext } from '../api-handler.js';
import { fencedForVersion } from './txn-errors.js';

export const endTxnHandler: ApiHandler<EndTxnRequest, EndTxnResponse> = {
  apiKey: ApiKey.EndTxn,
  name: 'EndTxn',
  minVersion: 0,
  maxVersion: 4,
  decode: decodeEndTxnRequest,
  encode: encodeEndTxnResponse,
  handle: handleEndTxn,
};

async function handleEndTxn(context: RequestContext<EndTxnRequest>): Promise<EndTxnResponse> {
  const { request, apiVersion, services } = context;
  const errorCode = await services.txnCoordinator.endTxn(
    { transactionalId: request.transactionalId, producerId: Number(request.producerId), producerEpoch: request.producerEpoch },
    request.committed,
  );
  return { throttleTimeMs: 0, errorCode: fencedForVersion(errorCode, apiVersion, 2), producerId: -1n, producerEpoch: -1 };
}
