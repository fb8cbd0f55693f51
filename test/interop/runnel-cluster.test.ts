// Real clients against a 3-node Runnel cluster (issue #22): three `runnel start --config` processes
// (combined broker + controller, scripts/interop/runnel.ts startRunnelCluster), every scenario topic with
// RF 3 and min.insync.replicas 2, so each produce, fetch, group and admin call goes through the cluster's
// leaders, replication and coordinators. Asserts the cells of RUNNEL_CLUSTER_EXPECTED (expected-runnel.ts);
// the full picture is `npm run interop -- --broker runnel --nodes 3`. Clients whose toolchain is missing
// are skipped with the reason (scripts/interop/setup.sh installs them; CI runs it first).
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { CLIENTS, runScenario } from './clients.js';
import { RUNNEL_CLUSTER_EXPECTED } from './expected-runnel.js';
import { startRunnelCluster, type RunnelClusterProcess } from '../../scripts/interop/runnel.js';

const NODES = 3;

describe('interop: real clients against a 3-node Runnel cluster (RF 3)', () => {
  let cluster: RunnelClusterProcess | undefined;
  let startError = '';

  before(async () => {
    try {
      cluster = await startRunnelCluster({ nodes: NODES, mode: 'src', readyTimeoutMs: 120_000 });
    } catch (e) {
      startError = (e as Error).message;
    }
  });

  after(async () => {
    await cluster?.stop();
  });

  for (const [name, scenarios] of Object.entries(RUNNEL_CLUSTER_EXPECTED)) {
    const client = CLIENTS.find((c) => c.name === name);
    for (const scenario of scenarios) {
      it(`${name} ${scenario}`, { timeout: 200_000 }, async (t) => {
        assert.ok(client, `unknown client ${name} in expected-runnel.ts`);
        assert.ok(cluster, `the Runnel cluster did not start: ${startError}`);
        const missing = client.missing();
        if (missing) { t.skip(missing); return; }
        const r = await runScenario(client, cluster.bootstrapServers, scenario, 180_000,
          { INTEROP_RECORDS: '2000', INTEROP_REPLICATION_FACTOR: String(NODES) });
        assert.equal(r.skipped, undefined, `${name} ${scenario} skipped: ${r.detail}`);
        assert.ok(r.ok, `${name} ${scenario}: ${r.detail}`);
      });
    }
  }
});
