// ListTransactions v2 (KIP-1152): the transactional id pattern filters the listed ids (whole-id match, as
// Matcher.matches in Kafka 4.4's TransactionStateManager); a pattern that does not compile is
// INVALID_REGULAR_EXPRESSION; a partition still loading answers COORDINATOR_LOAD_IN_PROGRESS first.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RequestPipeline } from '../../src/broker/pipeline.js';
import type { BrokerServices } from '../../src/broker/api-handler.js';
import { BrokerMetrics } from '../../src/broker/metrics.js';
import { HandlerRegistry } from '../../src/broker/handler-registry.js';
import { BUILTIN_HANDLERS } from '../../src/broker/handlers/index.js';
import { resolveConfig } from '../../src/config/config.js';
import { ManualClock } from '../../src/common/clock.js';
import { ApiKey } from '../../src/protocol/generated/index.js';
import { ErrorCode } from '../../src/protocol/errors.js';
import { decodeResponseFrame, requestFrame } from './kafka-test-client.js';

let loading = false;
const transactions = [
  { transactionalId: 'orders-1', producerId: 11, state: 'Ongoing' },
  { transactionalId: 'orders-2', producerId: 12, state: 'CompleteCommit' },
  { transactionalId: 'payments-1', producerId: 13, state: 'Ongoing' },
];

function pipeline(): RequestPipeline {
  const registry = new HandlerRegistry();
  for (const handler of BUILTIN_HANDLERS) registry.register(handler);
  return new RequestPipeline(registry, {
    nodeId: 1,
    config: resolveConfig({}).config,
    clock: new ManualClock(0),
    metrics: new BrokerMetrics({ nodeId: 1, clusterId: 'test', version: 'test' }),
    txnCoordinator: {
      list: () => (loading
        ? { errorCode: ErrorCode.COORDINATOR_LOAD_IN_PROGRESS, unknownStateFilters: [], transactions: [] }
        : { errorCode: ErrorCode.NONE, unknownStateFilters: [], transactions }),
    },
  } as unknown as BrokerServices);
}

const connection = { id: 1, remoteAddress: '127.0.0.1', remotePort: 1, localPort: 2 };

async function list(version: number, transactionalIdPattern: string | null) {
  const frame = requestFrame(ApiKey.ListTransactions, version, 9, { stateFilters: [], producerIdFilters: [], durationFilter: -1n, transactionalIdPattern });
  const chunks = await pipeline().handleFrame(connection, frame.subarray(4));
  assert.ok(chunks);
  const { body } = decodeResponseFrame(ApiKey.ListTransactions, version, Buffer.concat(chunks).subarray(4));
  return { errorCode: body.errorCode, ids: body.transactionStates.map((t) => t.transactionalId) };
}

test('ListTransactions v2 filters by a whole-id pattern; null or empty lists all; v1 ignores it', async () => {
  assert.deepEqual(await list(2, 'orders-.*'), { errorCode: ErrorCode.NONE, ids: ['orders-1', 'orders-2'] });
  assert.deepEqual(await list(2, 'orders'), { errorCode: ErrorCode.NONE, ids: [] }, 'the whole id must match');
  assert.deepEqual((await list(2, null)).ids.length, 3);
  assert.deepEqual((await list(2, '')).ids.length, 3);
  assert.deepEqual((await list(1, null)).ids.length, 3);
});

test('ListTransactions v2: an invalid pattern is INVALID_REGULAR_EXPRESSION; loading is answered first', async () => {
  assert.deepEqual(await list(2, '(unclosed'), { errorCode: ErrorCode.INVALID_REGULAR_EXPRESSION, ids: [] });
  loading = true;
  try {
    assert.equal((await list(2, '(unclosed')).errorCode, ErrorCode.COORDINATOR_LOAD_IN_PROGRESS);
  } finally {
    loading = false;
  }
});
