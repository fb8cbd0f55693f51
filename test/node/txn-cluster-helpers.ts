/**
 * Steps the in-process transaction cluster tests share (raw protocol): the transactional id's coordinator
 * and a producer id from it, and a record of the transaction version every EndTxn was taken as.
 */
import type { RunningCluster } from '../../src/node/start-cluster.js';
import { ApiKey } from '../../src/protocol/generated/index.js';
import { ErrorCode } from '../../src/protocol/errors.js';
import type { RawClient } from '../network/raw-client.js';
import { call } from '../broker/kafka-test-client.js';
import { waitFor } from './wait-for.js';

/** FindCoordinator (transaction) through `any`, then InitProducerId v5 at the coordinator, each retried until it answers NONE. */
export async function initTransactionalProducer(any: RawClient, byNode: (nodeId: number) => RawClient, transactionalId: string) {
  const coordinatorId = await waitFor('the transaction coordinator', async () => {
    const c = (await call(any, ApiKey.FindCoordinator, 4, { key: '', keyType: 1, coordinatorKeys: [transactionalId] })).body.coordinators[0];
    return c?.errorCode === ErrorCode.NONE ? c.nodeId : undefined;
  });
  const coordinator = byNode(coordinatorId);
  const init = await waitFor('InitProducerId', async () => {
    const r = (await call(coordinator, ApiKey.InitProducerId, 5, {
      transactionalId, transactionTimeoutMs: 60_000, producerId: -1n, producerEpoch: -1, enable2Pc: false, keepPreparedTxn: false,
    })).body;
    return r.errorCode === ErrorCode.NONE ? r : undefined;
  });
  return { coordinatorId, coordinator, init };
}

/** Every EndTxn a coordinator of `cluster` serves from now on, as the client transaction version it was taken as. */
export function recordEndTxnVersions(cluster: RunningCluster): number[] {
  const ends: number[] = [];
  for (const id of cluster.nodeIds) {
    const runtime = cluster.node(id)!.broker!.services.txnCoordinator;
    const original = runtime.endTransaction.bind(runtime);
    runtime.endTransaction = (request) => {
      ends.push(request.clientTransactionVersion);
      return original(request);
    };
  }
  return ends;
}
