/**
 * Java kafka-clients 4.1.1 against Runnel's group coordinator: the CooperativeStickyAssignor completes
 * its incremental rebalances and a static member rejoins without a rebalance (group-java-check.java,
 * run as a single-file source program). Needs `java` and the interop cache's jars
 * (scripts/interop/setup.sh); skipped without them.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startBroker } from '../../src/index.js';

const CHECK = join(fileURLToPath(new URL('.', import.meta.url)), 'group-java-check.java');
const DEPS = join(process.env.RUNNEL_INTEROP_CACHE ?? join(homedir(), '.cache', 'runnel', 'interop'), 'java', 'target', 'deps');
const RUN_MS = 240_000;

function missing(): string {
  if (spawnSync('java', ['-version']).status !== 0) return 'no java on PATH';
  if (!existsSync(join(DEPS, 'kafka-clients-4.1.1.jar'))) return `no kafka-clients jar in ${DEPS} (scripts/interop/setup.sh)`;
  return '';
}

function runCheck(bootstrap: string): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve) => {
    const child = spawn('java', ['-cp', `${DEPS}/*`, CHECK, bootstrap], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), RUN_MS);
    child.stdout.on('data', (d: Buffer) => { out += d.toString(); });
    child.stderr.on('data', (d: Buffer) => { err = (err + d.toString()).slice(-8000); });
    child.on('exit', (code) => { clearTimeout(timer); resolve({ code, out, err }); });
  });
}

test('Java consumers: cooperative-sticky rebalances complete, static members rejoin without a rebalance', { timeout: RUN_MS + 30_000 }, async (t) => {
  const reason = missing();
  if (reason !== '') { t.skip(reason); return; }
  const dataDir = await mkdtemp(join(tmpdir(), 'runnel-group-java-'));
  const broker = await startBroker({ dataDir, port: 0, 'group.initial.rebalance.delay.ms': 500 });
  try {
    const { code, out, err } = await runCheck(broker.bootstrapServers);
    for (const line of out.trim().split('\n')) t.diagnostic(line);
    const lines = out.trim().split('\n').filter((l) => l.startsWith('PASS') || l.startsWith('FAIL'));
    assert.deepEqual(lines.map((l) => l.split(' ').slice(0, 2).join(' ')), ['PASS cooperative', 'PASS static'], `${out}\n${err.slice(-2000)}`);
    assert.equal(code, 0);
  } finally {
    await broker.close();
    await rm(dataDir, { recursive: true, force: true });
  }
});
