// Apache Kafka's kafka-transactions.sh (TransactionsCommand from the Kafka 4.1.1 jars) against a Runnel
// in this process: list and describe an ongoing transaction, find a hanging one (a transactional batch
// whose producer no coordinator knows, as a broker without KIP-890 verification could leave behind) and
// abort it, after which the partition's last stable offset moves past it. Skipped when Kafka's jars are
// not assembled (scripts/interop/setup.sh; RUNNEL_INTEROP_KAFKA=1 makes that a failure, as in CI).
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Kafka, logLevel, type Producer, type Transaction } from 'kafkajs';
import { kafkaAssembled, runKafkaTool, type ProcessResult } from '../../scripts/kafka/kafka.js';
import { readBatchHeader } from '../../src/protocol/record-batch.js';
import type { HostedPartition } from '../../src/replication/types.js';
import { createTopic, startHarness, type Harness } from '../broker/standalone-harness.js';
import { simpleBatch } from '../replication/batches.js';

const TOOL_TIMEOUT_MS = 90_000;
const enabled = process.env.RUNNEL_INTEROP_KAFKA === '1' || (process.env.RUNNEL_INTEROP_KAFKA !== '0' && kafkaAssembled());
const TOPIC = 'tx-tool';
const HANGING = 'tx-hanging';
const HANGING_PRODUCER_ID = 987_654;

type ToolResult = ProcessResult;
const transactionsTool = (args: string[]): Promise<ToolResult> => runKafkaTool('org.apache.kafka.tools.TransactionsCommand', args, TOOL_TIMEOUT_MS);

function ok(r: ToolResult, what: string): string {
  assert.equal(r.code, 0, `${what} exited ${r.code}: ${r.stderr.slice(-2000)}${r.stdout.slice(-2000)}`);
  return r.stdout;
}

describe('interop: kafka-transactions.sh list / describe / find-hanging / abort against Runnel', { skip: enabled ? false : 'Kafka jars not assembled (scripts/interop/setup.sh)' }, () => {
  let h: Harness;
  let b: string[];
  let producer: Producer;
  let txn: Transaction;

  before(async () => {
    h = await startHarness();
    b = ['--bootstrap-server', h.broker.bootstrapServers];
    await createTopic(h, TOPIC);
    await createTopic(h, HANGING);
    const kafka = new Kafka({ brokers: [h.broker.bootstrapServers], clientId: 'tx-tool', logLevel: logLevel.NOTHING });
    producer = kafka.producer({ transactionalId: 'tool-txn', idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    txn = await producer.transaction();
    await txn.send({ topic: TOPIC, messages: [{ value: 'open' }] });
  });

  after(async () => {
    await txn?.abort().catch(() => undefined);
    await producer?.disconnect().catch(() => undefined);
    await h?.close();
  });

  it('list and describe show the ongoing transaction', { timeout: 2 * TOOL_TIMEOUT_MS }, async () => {
    const listed = ok(await transactionsTool([...b, 'list']), 'list');
    assert.match(listed, /TransactionalId\s+Coordinator\s+ProducerId\s+TransactionState/);
    assert.match(listed, /tool-txn\s+1\s+\d+\s+Ongoing/);
    const described = ok(await transactionsTool([...b, 'describe', '--transactional-id', 'tool-txn']), 'describe');
    assert.match(described, /Ongoing/);
    assert.match(described, new RegExp(`${TOPIC}-0`));
  });

  it('find-hanging reports a transaction no coordinator knows; abort ends it and the LSO moves on', { timeout: 4 * TOOL_TIMEOUT_MS }, async () => {
    // A transactional batch an hour old from a producer the coordinator never saw, appended behind
    // verification's back (what a broker without KIP-890 could be left with).
    const rm = h.broker.services.replicaManager;
    const hosted = rm.partition(HANGING, 0) as HostedPartition;
    const batch = simpleBatch(2, { producerId: HANGING_PRODUCER_ID, producerEpoch: 3, baseSequence: 0, transactional: true, baseTimestamp: Date.now() - 3_600_000 });
    const result = rm.appendRecordsToLeader(hosted, batch);
    rm.producerStateStore(hosted).onAppend(readBatchHeader(batch), result.baseOffset, result.lastOffset, result.logAppendTimeMs);
    await result.durable;
    assert.equal(hosted.lastStableOffset, 0);

    const hanging = ok(await transactionsTool([...b, 'find-hanging', '--broker-id', '1', '--max-transaction-timeout', '1']), 'find-hanging');
    assert.match(hanging, new RegExp(`${HANGING}\\s+0\\s+${HANGING_PRODUCER_ID}\\s+3\\s+-?\\d+\\s+0\\s`), hanging);
    assert.doesNotMatch(hanging, new RegExp(`${TOPIC}\\s+0\\s`), 'the ongoing transaction is not hanging');

    ok(await transactionsTool([...b, 'abort', '--topic', HANGING, '--partition', '0', '--start-offset', '0']), 'abort');
    assert.equal(hosted.lastStableOffset, hosted.highWatermark);
    assert.equal(hosted.highWatermark, 3, 'two records and the abort marker');
    assert.deepEqual(await hosted.abortedTransactions(0, 3), [{ producerId: HANGING_PRODUCER_ID, firstOffset: 0, lastOffset: 2 }]);
    const after = ok(await transactionsTool([...b, 'find-hanging', '--broker-id', '1', '--max-transaction-timeout', '1']), 'find-hanging again');
    assert.doesNotMatch(after, new RegExp(`${HANGING_PRODUCER_ID}`), after);
  });
});
