/**
 * EndTxn (API 26), versions 0-5 (KIP-98): commit or abort the producer's ongoing transaction. The answer
 * comes once PrepareCommit / PrepareAbort is durable in `__transaction_state`; the markers follow
 * (src/txn/coordinator.ts has every state's answer). PRODUCER_FENCED is INVALID_PRODUCER_EPOCH before v2.
 * v5 is transactions v2 (KIP-890 part 2; KafkaApis: version > 4 → TV_2): the end bumps the producer
 * epoch (a new producer id once it is exhausted), and the response carries the producer id and epoch
 * the producer's next transaction uses; -1 / -1 with an error.
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
import { TRANSACTION_VERSION_2 } from '../../txn/coordinator.js';

export const endTxnHandler: ApiHandler<EndTxnRequest, EndTxnResponse> = {
  apiKey: ApiKey.EndTxn,
  name: 'EndTxn',
  minVersion: 0,
  maxVersion: 5,
  decode: decodeEndTxnRequest,
  encode: encodeEndTxnResponse,
  handle: handleEndTxn,
};

/** TransactionVersion.transactionVersionForEndTxn: v5+ comes from a transactions v2 client. */
const TRANSACTIONS_V2_VERSION = 5;

async function handleEndTxn(context: RequestContext<EndTxnRequest>): Promise<EndTxnResponse> {
  const { request, apiVersion, services } = context;
  const result = await services.txnCoordinator.endTransaction({
    transactionalId: request.transactionalId, producerId: Number(request.producerId), producerEpoch: request.producerEpoch,
    commit: request.committed, clientTransactionVersion: apiVersion >= TRANSACTIONS_V2_VERSION ? TRANSACTION_VERSION_2 : 0,
  });
  return {
    throttleTimeMs: 0, errorCode: fencedForVersion(result.errorCode, apiVersion, 2),
    producerId: BigInt(result.producerId), producerEpoch: result.producerEpoch,
  };
}
