// Real clients against Runnel: asserts the cells listed in expected-runnel.ts (the full picture is
// `npm run interop -- --broker runnel`). Runnel runs in this process (startBroker); each client runs
// in its own process. Clients whose toolchain is missing are skipped with the reason
// (scripts/interop/setup.sh installs them; CI runs it first).
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CLIENTS, runScenario } from './clients.js';
import { RUNNEL_EXPECTED } from './expected-runnel.js';

interface Running { bootstrapServers: string; close(): Promise<void> }

describe('interop: real clients against Runnel (expected-runnel.ts)', () => {
  let broker: Running | undefined;
  let startError = '';
  const dataDir = mkdtempSync(join(tmpdir(), 'runnel-interop-'));

  before(async () => {
    try {
      const mod = (await import('../../src/index.js')) as { startBroker?: (o: { dataDir: string; port: number }) => Promise<Running> };
      if (typeof mod.startBroker !== 'function') throw new Error('src/index.ts has no startBroker yet');
      broker = await mod.startBroker({ dataDir, port: 0 });
    } catch (e) {
      startError = (e as Error).message;
    }
  });

  after(async () => {
    await broker?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  for (const [name, scenarios] of Object.entries(RUNNEL_EXPECTED)) {
    const client = CLIENTS.find((c) => c.name === name);
    for (const scenario of scenarios) {
      it(`${name} ${scenario}`, { timeout: 200_000 }, async (t) => {
        assert.ok(client, `unknown client ${name} in expected-runnel.ts`);
        assert.ok(broker, `Runnel did not start: ${startError}`);
        const missing = client.missing();
        if (missing) { t.skip(missing); return; }
        const r = await runScenario(client, broker.bootstrapServers, scenario, 180_000, { INTEROP_RECORDS: '2000' });
        assert.equal(r.skipped, undefined, `${name} ${scenario} skipped: ${r.detail}`);
        assert.ok(r.ok, `${name} ${scenario}: ${r.detail}`);
      });
    }
  }
});
