/**
 * Golden scenarios: scripted deliveries with the expected state dumps in test/raft/core/golden/.
 * Rewrite them after an intended change with: UPDATE_GOLDEN=1 node --import tsx --test test/raft/core/golden.test.ts
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { ScriptedCluster } from './harness.js';

const goldenDir = join(dirname(fileURLToPath(import.meta.url)), 'golden');
const update = process.env.UPDATE_GOLDEN === '1';

function checkGolden(name: string, text: string): void {
  const path = join(goldenDir, `${name}.txt`);
  if (update || !existsSync(path)) {
    if (!update) assert.fail(`missing golden file ${path}; run with UPDATE_GOLDEN=1 to create it`);
    mkdirSync(goldenDir, { recursive: true });
    writeFileSync(path, `${text}\n`);
    return;
  }
  assert.equal(`${text}\n`, readFileSync(path, 'utf8'), `golden ${name} differs; UPDATE_GOLDEN=1 rewrites it`);
}

function elect(cluster: ScriptedCluster, id: number): void {
  cluster.tickUntilCampaign(id);
  cluster.deliverAll();
}

test('golden: election with PreVote', () => {
  const cluster = new ScriptedCluster({ voters: [1, 2, 3], learners: [] });
  const out = [cluster.dump('start')];
  cluster.tickUntilCampaign(1);
  out.push(cluster.dump('node 1 election timeout: pre-candidate'));
  cluster.deliverAll();
  out.push(cluster.dump('pre-votes, votes and the first append delivered'));
  checkGolden('election', out.join('\n'));
  assert.equal(cluster.node(1).role, 'leader');
});

test('golden: replication to voters and an observer', () => {
  const cluster = new ScriptedCluster({ voters: [1, 2, 3], learners: [4] });
  elect(cluster, 1);
  const out = [cluster.dump('leader 1 elected')];
  cluster.propose(1, 'a');
  cluster.propose(1, 'b');
  out.push(cluster.dump('two proposals appended at the leader'));
  cluster.deliverAll();
  cluster.tick(1, 2);
  cluster.deliverAll();
  out.push(cluster.dump('replicated, committed and the commit point spread by heartbeat'));
  checkGolden('replication', out.join('\n'));
  for (const id of [1, 2, 3, 4]) assert.equal(cluster.applied(id).length, 3);
});

test('golden: partition of the leader, then heal', () => {
  const cluster = new ScriptedCluster({ voters: [1, 2, 3], learners: [] });
  elect(cluster, 1);
  cluster.isolate(1);
  cluster.propose(1, 'lost');
  cluster.deliverAll();
  const out = [cluster.dump('leader 1 isolated with an uncommitted entry')];
  cluster.tick(1, 20);
  cluster.deliverAll();
  out.push(cluster.dump('CheckQuorum: leader 1 steps down'));
  const next = cluster.tickUntilAnyCampaigns([2, 3]);
  assert.ok(next !== undefined);
  cluster.deliverAll();
  cluster.propose(next, 'kept');
  cluster.deliverAll();
  out.push(cluster.dump(`node ${next} elected in term 2 and commits`));
  cluster.heal();
  cluster.tick(next, 2);
  cluster.deliverAll();
  cluster.tick(next, 2);
  cluster.deliverAll();
  out.push(cluster.dump('healed: node 1 truncates its uncommitted entry and catches up'));
  checkGolden('leader-partition', out.join('\n'));
  assert.equal(cluster.node(next).role, 'leader');
  assert.equal(cluster.node(1).log.lastIndex(), cluster.node(next).log.lastIndex());
});

test('golden: snapshot install to a follower behind the compaction point', () => {
  const cluster = new ScriptedCluster({ voters: [1, 2, 3], learners: [] });
  elect(cluster, 1);
  cluster.isolate(3);
  for (const text of ['a', 'b', 'c', 'd']) cluster.propose(1, text);
  cluster.deliverAll();
  cluster.tick(1, 2);
  cluster.deliverAll();
  cluster.compact(1);
  const out = [cluster.dump('node 3 isolated; leader compacted its log')];
  cluster.heal();
  cluster.tick(1, 2);
  cluster.deliverAll();
  out.push(cluster.dump('heartbeat answer leads to InstallSnapshot'));
  cluster.propose(1, 'e');
  cluster.deliverAll();
  cluster.tick(1, 2);
  cluster.deliverAll();
  out.push(cluster.dump('node 3 replicates after the snapshot'));
  checkGolden('snapshot-install', out.join('\n'));
  assert.equal(cluster.node(3).log.snapshot.metadata.index, 5);
});

test('golden: leadership transfer', () => {
  const cluster = new ScriptedCluster({ voters: [1, 2, 3], learners: [] });
  elect(cluster, 1);
  cluster.propose(1, 'a');
  cluster.deliverAll();
  cluster.transferLeadership(1, 3);
  const out = [cluster.dump('transfer to node 3 requested')];
  cluster.deliverAll();
  out.push(cluster.dump('TimeoutNow: node 3 campaigns without PreVote and wins'));
  checkGolden('leadership-transfer', out.join('\n'));
  assert.equal(cluster.node(3).role, 'leader');
});

test('golden: promote an observer, then remove the leader', () => {
  const cluster = new ScriptedCluster({ voters: [1, 2, 3], learners: [4] });
  elect(cluster, 1);
  cluster.proposeConfChange(1, { type: 'add-voter', nodeId: 4 });
  cluster.deliverAll();
  cluster.tick(1, 2);
  cluster.deliverAll();
  const out = [cluster.dump('observer 4 promoted to voter')];
  cluster.proposeConfChange(1, { type: 'remove-node', nodeId: 1 });
  cluster.deliverAll();
  out.push(cluster.dump('leader 1 removed itself and stepped down once committed'));
  const next = cluster.tickUntilAnyCampaigns([1, 2, 3, 4]);
  assert.ok(next !== undefined && next !== 1);
  cluster.deliverAll();
  out.push(cluster.dump(`node ${next} elected by voters 2, 3, 4`));
  checkGolden('membership', out.join('\n'));
  assert.equal(cluster.node(next).role, 'leader');
});

test('golden: read index on the leader and through a follower', () => {
  const cluster = new ScriptedCluster({ voters: [1, 2, 3], learners: [] });
  elect(cluster, 1);
  cluster.propose(1, 'a');
  cluster.deliverAll();
  cluster.readIndex(1, 'lead-read');
  cluster.readIndex(3, 'follower-read');
  const out = [cluster.dump('reads requested on leader 1 and follower 3')];
  cluster.deliverAll();
  out.push(cluster.dump('heartbeat round confirmed leadership'));
  out.push(`  read states: 1=${JSON.stringify(cluster.readStates(1))} 3=${JSON.stringify(cluster.readStates(3))}`);
  checkGolden('read-index', out.join('\n'));
  assert.deepEqual(cluster.readStates(1), [{ context: 'lead-read', index: 2 }]);
  assert.deepEqual(cluster.readStates(3), [{ context: 'follower-read', index: 2 }]);
});
