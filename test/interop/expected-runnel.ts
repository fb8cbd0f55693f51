// What Runnel is expected to pass today, per client: the CI interop test (runnel.test.ts) asserts
// exactly these cells against a Runnel started in the test. Grow this list as features land; a cell
// that starts passing in `npm run interop -- --broker runnel` belongs here. Cells a client cannot
// express (`skip` in the matrix: kcat configs/delete-records, confluent-js configs, describe-state
// outside Java and franz-go) are absent.
// Last grown from the 11:08 UTC matrix run (every non-skipped cell passes); see README.md.
import type { Scenario } from './clients.js';

const ALL: readonly Scenario[] = ['metadata', 'produce-consume', 'list-offsets', 'configs', 'delete-records', 'group'];
/** describe-state: only clients with DescribeLogDirs and DescribeProducers admin calls. */
const WITH_DESCRIBE_STATE: readonly Scenario[] = [...ALL, 'describe-state'];
/** consumer-848: clients with a KIP-848 consumer (Java and librdkafka group.protocol=consumer, franz-go ServerSideBalancer). */
/** transactions: clients with a transactional producer (not kcat, not @platformatic/kafka here). */

export const RUNNEL_EXPECTED: Record<string, readonly Scenario[]> = {
  java: [...WITH_DESCRIBE_STATE, 'transactions', 'consumer-848'],
  kcat: ['metadata', 'produce-consume', 'list-offsets', 'group'],
  'confluent-js': ['metadata', 'produce-consume', 'list-offsets', 'delete-records', 'group', 'transactions', 'consumer-848'],
  'franz-go': [...WITH_DESCRIBE_STATE, 'transactions', 'consumer-848'],
  kafkajs: [...ALL, 'transactions'],
  platformatic: ALL,
  'kafka-python': [...ALL, 'transactions'],
};

/**
 * Against a 3-node Runnel cluster (runnel-cluster.test.ts, RF 3): every cell of RUNNEL_EXPECTED but
 * `transactions`. Transactions do not complete on a cluster yet: the transaction coordinator writes its
 * markers only to partitions its own node leads (src/txn/runtime.ts, "Not implemented": no WriteTxnMarkers
 * client), so an EndTxn whose partitions are led elsewhere stays in PrepareCommit and the next transactional
 * call gets CONCURRENT_TRANSACTIONS until it times out (issue #24, the marker channel).
 */
export const RUNNEL_CLUSTER_EXPECTED: Record<string, readonly Scenario[]> = Object.fromEntries(
  Object.entries(RUNNEL_EXPECTED).map(([client, scenarios]) => [client, scenarios.filter((s) => s !== 'transactions')]),
);
