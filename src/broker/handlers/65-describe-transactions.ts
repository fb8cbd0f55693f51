/**
 * DescribeTransactions (API 65), version 0 (KIP-664): the state of each transactional id this node
 * coordinates (`kafka-transactions.sh describe`): state name, timeout, start time of the ongoing
 * transaction, producer id and epoch, its partitions. An id whose partition this node does not lead is
 * NOT_COORDINATOR (still loading: COORDINATOR_LOAD_IN_PROGRESS); an unknown one TRANSACTIONAL_ID_NOT_FOUND.
 * Not implemented: ACLs (TRANSACTIONAL_ID_AUTHORIZATION_FAILED never occurs).
 */
import {
  decodeDescribeTransactionsRequest,
  encodeDescribeTransactionsResponse,
  type DescribeTransactionsRequest,
  type DescribeTransactionsResponse,
} from '../../protocol/generated/describe-transactions.js';
import { ApiKey } from '../../protocol/generated/index.js';
import type { ApiHandler, RequestContext } from '../api-handler.js';

export const describeTransactionsHandler: ApiHandler<DescribeTransactionsRequest, DescribeTransactionsResponse> = {
  apiKey: ApiKey.DescribeTransactions,
  name: 'DescribeTransactions',
  minVersion: 0,
  maxVersion: 0,
  decode: decodeDescribeTransactionsRequest,
  encode: encodeDescribeTransactionsResponse,
  handle: handleDescribeTransactions,
};

function handleDescribeTransactions(context: RequestContext<DescribeTransactionsRequest>): DescribeTransactionsResponse {
  const described = context.services.txnCoordinator.describe(context.request.transactionalIds);
  return {
    throttleTimeMs: 0,
    transactionStates: described.map((d) => ({
      errorCode: d.errorCode,
      transactionalId: d.transactionalId,
      transactionState: d.state,
      transactionTimeoutMs: d.transactionTimeoutMs,
      transactionStartTimeMs: BigInt(d.startTimestampMs),
      producerId: BigInt(d.producerId),
      producerEpoch: d.producerEpoch,
      topics: d.topics,
    })),
  };
}
