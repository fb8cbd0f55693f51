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
 * Against a 3-node Runnel cluster (runnel-cluster.test.ts, RF 3): the same cells. Every one of them passed in
 * `npm run interop -- --broker runnel --nodes 3` (49 pass, 0 fail, 14 skip, as the 3-node Kafka 4.4), transactions
 * included since the coordinator sends WriteTxnMarkers to the partitions' leaders (src/txn/marker-channel.ts).
 */
export const RUNNEL_CLUSTER_EXPECTED: Record<string, readonly Scenario[]> = RUNNEL_EXPECTED;
