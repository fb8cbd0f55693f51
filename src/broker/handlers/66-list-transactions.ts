/**
 * ListTransactions (API 66), versions 0-2 (KIP-664; v1 adds duration_filter, KIP-994; v2 a transactional
 * id pattern, KIP-1152): the transactional ids this node coordinates, filtered by state, producer id,
 * (v1) how long the ongoing transaction has run and (v2) a regular expression the whole id must match
 * (`kafka-transactions.sh list`, and find-hanging's first step). Unknown state names come back in
 * unknown_state_filters; COORDINATOR_LOAD_IN_PROGRESS while a partition loads, checked first; a pattern
 * that does not compile is INVALID_REGULAR_EXPRESSION with nothing listed, as Kafka 4.4's
 * TransactionStateManager.listTransactionStates (RE2/J there, JavaScript's RegExp here: the common syntax
 * agrees; a null or empty pattern lists everything).
 * Not implemented: ACLs (ids the caller may not describe are not filtered out).
 */
import {
  decodeListTransactionsRequest,
  encodeListTransactionsResponse,
  type ListTransactionsRequest,
  type ListTransactionsResponse,
} from '../../protocol/generated/list-transactions.js';
import { ApiKey } from '../../protocol/generated/index.js';
import { ErrorCode } from '../../protocol/errors.js';
import type { ApiHandler, RequestContext } from '../api-handler.js';

export const listTransactionsHandler: ApiHandler<ListTransactionsRequest, ListTransactionsResponse> = {
  apiKey: ApiKey.ListTransactions,
  name: 'ListTransactions',
  minVersion: 0,
  maxVersion: 2,
  decode: decodeListTransactionsRequest,
  encode: encodeListTransactionsResponse,
  handle: handleListTransactions,
};

function handleListTransactions(context: RequestContext<ListTransactionsRequest>): ListTransactionsResponse {
  const { request, apiVersion } = context;
  const listed = context.services.txnCoordinator.list(
    request.stateFilters, request.producerIdFilters.map(Number), apiVersion >= 1 ? Number(request.durationFilter) : -1,
  );
  const pattern = apiVersion >= 2 ? request.transactionalIdPattern : null;
  let matches: (transactionalId: string) => boolean = () => true;
  if (listed.errorCode === ErrorCode.NONE && pattern !== null && pattern !== '') {
    const regex = wholeMatch(pattern);
    if (regex === null) return { throttleTimeMs: 0, errorCode: ErrorCode.INVALID_REGULAR_EXPRESSION, unknownStateFilters: [], transactionStates: [] };
    matches = (transactionalId) => regex.test(transactionalId);
  }
  return {
    throttleTimeMs: 0,
    errorCode: listed.errorCode,
    unknownStateFilters: listed.unknownStateFilters,
    transactionStates: listed.transactions.filter((t) => matches(t.transactionalId))
      .map((t) => ({ transactionalId: t.transactionalId, producerId: BigInt(t.producerId), transactionState: t.state })),
  };
}

/** Matcher.matches(): the pattern must cover the whole id. */
function wholeMatch(pattern: string): RegExp | null {
  try {
    return new RegExp(`^(?:${pattern})$`, 'u');
  } catch {
    return null;
  }
}
