import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { DataDirLockedError, LOCK_FILE_NAME, lockDataDir } from '../../src/storage/data-dir-lock.js';
import { startBroker } from '../../src/index.js';

async function withDir(body: (dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'runnel-lock-'));
  try {
    await body(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** A child process that takes the lock and reports it, then waits to be killed. */
async function lockInChild(dataDir: string): Promise<import('node:child_process').ChildProcess> {
  const code = `import('./src/storage/data-dir-lock.ts').then(async (m) => { await m.lockDataDir(${JSON.stringify(dataDir)}); ` +
    `console.log('locked'); setInterval(() => {}, 1000); }, (e) => { console.log(String(e)); process.exit(1); });`;
  const child = spawn(process.execPath, ['--import', 'tsx', '-e', code], { stdio: ['ignore', 'pipe', 'inherit'] });
  const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
  for await (const line of createInterface({ input: child.stdout! })) {
    clearTimeout(timer);
    assert.equal(line, 'locked');
    return child;
  }
  throw new Error('child exited before locking');
}

test('two brokers can share one data directory (issue 26 defect 6): the second refuses with a clear message', async () => {
  await withDir(async (dataDir) => {
    const first = await startBroker({ dataDir, port: 0 });
    try {
      await assert.rejects(startBroker({ dataDir, port: 0 }), (error: Error) => {
        assert.ok(error instanceof DataDirLockedError);
        assert.match(error.message, /data directory is in use: .*\.lock is held by/);
        assert.match(error.message, /Stop that broker or give this one another log\.dirs/);
        return true;
      });
    } finally {
      await first.close();
    }
    assert.equal(existsSync(join(dataDir, LOCK_FILE_NAME)), false, 'a clean close releases the lock');
    const second = await startBroker({ dataDir, port: 0 });
    await second.close();
  });
});

test('data directory lock: a live process elsewhere holds it; after kill -9 the next start takes it over', async () => {
  await withDir(async (dataDir) => {
    const child = await lockInChild(dataDir);
    try {
      await assert.rejects(lockDataDir(dataDir), new RegExp(`held by process ${child.pid} on host`));
    } finally {
      child.kill('SIGKILL');
      await once(child, 'exit');
    }
    const lock = await lockDataDir(dataDir);
    assert.match(await readFile(lock.path, 'utf8'), new RegExp(`^pid=${process.pid}$`, 'm'));
    await lock.release();
  });
});

test('data directory lock: stale when the pid is this process (container restart) or was reused; foreign content refuses', async () => {
  await withDir(async (dataDir) => {
    const path = join(dataDir, LOCK_FILE_NAME);
    const lock = await lockDataDir(dataDir);
    const mine = await readFile(path, 'utf8');
    await lock.release();
    // A previous incarnation with this process's pid (kill -9 of a container whose broker was pid 1).
    await writeFile(path, mine);
    await (await lockDataDir(dataDir)).release();
    // A live pid (this one's parent) with another start time: the pid was reused by an unrelated process.
    await writeFile(path, mine.replace(/^pid=\d+$/m, `pid=${process.ppid}`).replace(/^start\.time=\d*$/m, 'start.time=1'));
    const reused = await lockDataDir(dataDir);
    await reused.release();
    // The same live pid with its real start time is a holder.
    const parentStart = (await readFile(`/proc/${process.ppid}/stat`, 'utf8')).split(') ')[1]!.split(' ')[19];
    await writeFile(path, mine.replace(/^pid=\d+$/m, `pid=${process.ppid}`).replace(/^start\.time=\d*$/m, `start.time=${parentStart}`));
    await assert.rejects(lockDataDir(dataDir), DataDirLockedError);
    // Not written by Runnel (e.g. empty): refused, naming the file to delete.
    await writeFile(path, '');
    await assert.rejects(lockDataDir(dataDir), /not a Runnel broker.*delete .*\.lock/);
  });
});

test('data directory lock: a holder killed but not yet reaped (a zombie) counts as gone', { skip: process.platform !== 'linux' }, async () => {
  await withDir(async (dataDir) => {
    // sh starts `sleep 1` and execs `sleep 10`, which never reaps it: its pid is a zombie from 1 s to 10 s.
    // (With `sleep 0` the shell could reap the child before its exec on a loaded machine: ENOENT in CI-like runs.)
    const parent = spawn('sh', ['-c', 'sleep 1 & echo $!; exec sleep 10'], { stdio: ['ignore', 'pipe', 'inherit'] });
    try {
      const zombie = Number(await new Promise<string>((resolve) => parent.stdout!.once('data', (d: Buffer) => resolve(d.toString()))));
      const deadline = Date.now() + 8_000;
      let state = '';
      while (state !== 'Z' && Date.now() < deadline) {
        state = (await readFile(`/proc/${zombie}/stat`, 'utf8')).split(') ')[1]!.split(' ')[0]!;
        if (state !== 'Z') await new Promise((resolve) => setTimeout(resolve, 20));
      }
      assert.equal(state, 'Z');
      const lock = await lockDataDir(dataDir);
      const mine = await readFile(lock.path, 'utf8');
      await lock.release();
      const startTime = (await readFile(`/proc/${zombie}/stat`, 'utf8')).split(') ')[1]!.split(' ')[19];
      await writeFile(join(dataDir, LOCK_FILE_NAME), mine.replace(/^pid=\d+$/m, `pid=${zombie}`).replace(/^start\.time=\d*$/m, `start.time=${startTime}`));
      await (await lockDataDir(dataDir)).release();
    } finally {
      parent.kill('SIGKILL');
    }
  });
});
