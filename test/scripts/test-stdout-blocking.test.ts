// scripts/test-stdout-blocking.mjs, preloaded by scripts/run-tests.mjs into every test process: a child
// that writes a lot to a piped stdout and exits at once must not lose what it wrote (the way a test
// file's last reports were lost under --test-force-exit, nodejs/node#64833).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const PRELOAD = fileURLToPath(new URL('../../scripts/test-stdout-blocking.mjs', import.meta.url));
const BYTES = 4 * 1024 * 1024;

function bytesReceived(preload: boolean): Promise<number> {
  const script = `process.stdout.write(Buffer.alloc(${BYTES}, 120)); process.exit(0);`;
  const args = [...(preload ? ['--import', PRELOAD] : []), '-e', script];
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
    let received = 0;
    child.stdout.on('data', (d: Buffer) => { received += d.length; });
    child.on('error', reject);
    child.on('close', () => resolve(received));
  });
}

test('with the preload, everything written to a piped stdout before process.exit() arrives', async () => {
  assert.equal(await bytesReceived(true), BYTES);
});

test('without it, Node drops the queued part (what the preload exists for)', async () => {
  assert.ok((await bytesReceived(false)) < BYTES);
});
