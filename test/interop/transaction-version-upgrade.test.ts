// transaction.version upgraded on a running three-node Runnel cluster (in this process) the way an operator
// does it — Kafka 4.4.0's kafka-features.sh (FeatureCommand) through a node that is not the active
// controller — and then a real transactions v2 client: franz-go's transactions scenario (commit, abort,
// commit, GroupTransactSession) in a fresh process sees the finalized 2 in ApiVersions and ends every
// transaction with EndTxn v5, which every coordinator takes as a v2 end. Skipped when Kafka's jars or the
// franz-go program are missing (scripts/interop/setup.sh); RUNNEL_INTEROP_KAFKA=1 (CI) makes that a failure.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { kafkaAssembled, runKafkaTool, runProcess, type ProcessResult } from '../../scripts/kafka/kafka.js';
import { startCluster } from '../../src/index.js';
import type { RunningCluster } from '../../src/node/start-cluster.js';
import { INTEROP_CACHE } from './clients.js';
import { recordEndTxnVersions } from '../node/txn-cluster-helpers.js';

const TOOL_TIMEOUT_MS = 90_000;
const SCENARIO_TIMEOUT_MS = 180_000;
const FRANZ = join(INTEROP_CACHE, 'franz-go', 'interop-franz');
const required = process.env.RUNNEL_INTEROP_KAFKA === '1';
const missing = !kafkaAssembled() ? 'Kafka jars not assembled (scripts/interop/setup.sh)' : !existsSync(FRANZ) ? 'franz-go not built (scripts/interop/setup.sh)' : '';
const enabled = required || (process.env.RUNNEL_INTEROP_KAFKA !== '0' && missing === '');

function ok(r: ProcessResult, what: string): string {
  assert.equal(r.code, 0, `${what} exited ${r.code}: ${r.stderr.slice(-2000)}${r.stdout.slice(-2000)}`);
  return r.stdout;
}

describe('interop: kafka-features.sh upgrades transaction.version on a running cluster; franz-go then runs transactions v2', { skip: enabled ? false : missing }, () => {
  let cluster: RunningCluster;
  // Every EndTxn a coordinator serves, with the transaction version it was taken as.
  let ends: number[] = [];

  before(async () => {
    assert.equal(missing, '', missing);
    cluster = await startCluster({
      nodes: 3, 'transaction.version': 0, 'transaction.state.log.replication.factor': 3, 'transaction.state.log.num.partitions': 3,
      'offsets.topic.num.partitions': 3, 'offsets.topic.replication.factor': 3, 'group.initial.rebalance.delay.ms': 0,
    });
    ends = recordEndTxnVersions(cluster);
  });

  after(async () => {
    await cluster?.close();
  });

  const address = (id: number): string => cluster.bootstrapServers.split(',')[id - 1]!;
  const features = (id: number, args: string[]) => runKafkaTool('org.apache.kafka.tools.FeatureCommand', ['--bootstrap-server', address(id), ...args], TOOL_TIMEOUT_MS);
  const finalizedOn = async (id: number) => /Feature: transaction\.version\s+SupportedMinVersion: 0\s+SupportedMaxVersion: 2\s+FinalizedVersionLevel: (\d)/.exec(ok(await features(id, ['describe']), 'describe'))?.[1];

  it('kafka-features upgrade --feature transaction.version=2 via a non-controller node; describe on every node shows 2', { timeout: 6 * TOOL_TIMEOUT_MS }, async () => {
    for (const id of cluster.nodeIds) assert.equal(await finalizedOn(id), '0', `node ${id} before`);
    const via = cluster.nodeIds.find((id) => cluster.node(id)?.controller?.isActive !== true)!;
    assert.match(ok(await features(via, ['upgrade', '--feature', 'transaction.version=2']), 'upgrade'), /transaction\.version was upgraded to 2\./);
    // The answer comes once the record is applied on the node asked; the others apply it within moments.
    for (const id of cluster.nodeIds) {
      let level: string | undefined;
      for (let i = 0; i < 20 && (level = await finalizedOn(id)) !== '2'; i++) await new Promise((r) => setTimeout(r, 250));
      assert.equal(level, '2', `node ${id} after`);
    }
  });

  it('franz-go transactions (commit, abort, commit, GroupTransactSession) end every transaction as v2 (EndTxn v5)', { timeout: SCENARIO_TIMEOUT_MS + 30_000 }, async (t) => {
    const run = await runProcess(FRANZ, [cluster.bootstrapServers, 'transactions'], SCENARIO_TIMEOUT_MS);
    const line = run.stdout.trim().split('\n').at(-1) ?? '';
    const result = JSON.parse(line) as { ok: boolean; detail: string };
    assert.ok(result.ok, `franz-go transactions: ${result.detail}\n${run.stderr.slice(-2000)}`);
    assert.ok(ends.length >= 4, `EndTxn requests served: ${ends.length}`);
    assert.deepEqual([...new Set(ends)], [2], `every EndTxn was a v2 end (EndTxn v5); saw ${JSON.stringify(ends)}`);
    t.diagnostic(`${result.detail}; ${ends.length} EndTxn, all v2`);
  });
});
