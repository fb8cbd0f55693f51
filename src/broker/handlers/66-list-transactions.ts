/**
 * ListTransactions (API 66), versions 0-1 (KIP-664; v1 adds duration_filter, KIP-994): the transactional
 * ids this node coordinates, filtered by state, producer id and (v1) how long the ongoing transaction has
 * run (`kafka-transactions.sh list`, and find-hanging's first step). Unknown state names come back in
 * unknown_state_filters; COORDINATOR_LOAD_IN_PROGRESS while a partition loads.
 * Not implemented: ACLs (ids the caller may not describe are not filtered out).
 */
import {
  decodeListTransactionsRequest,
  encodeListTransactionsResponse,
  type ListTransactionsRequest,
  type ListTransactionsResponse,
} from '../../protocol/generated/list-transactions.js';
import { ApiKey } from '../../protocol/generated/index.js';
import type { ApiHandler, RequestContext } from '../api-handler.js';

export const listTransactionsHandler: ApiHandler<ListTransactionsRequest, ListTransactionsResponse> = {
  apiKey: ApiKey.ListTransactions,
  name: 'ListTransactions',
  minVersion: 0,
  maxVersion: 1,
  decode: decodeListTransactionsRequest,
  encode: encodeListTransactionsResponse,
  handle: handleListTransactions,
};

function handleListTransactions(context: RequestContext<ListTransactionsRequest>): ListTransactionsResponse {
  const { request, apiVersion } = context;
  const listed = context.services.txnCoordinator.list(
    request.stateFilters, request.producerIdFilters.map(Number), apiVersion >= 1 ? Number(request.durationFilter) : -1,
  );
  return {
    throttleTimeMs: 0,
    errorCode: listed.errorCode,
    unknownStateFilters: listed.unknownStateFilters,
    transactionStates: listed.transactions.map((t) => ({ transactionalId: t.transactionalId, producerId: BigInt(t.producerId), transactionState: t.state })),
  };
}
