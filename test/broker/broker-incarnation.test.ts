import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BROKER_INCARNATION_FILE, BrokerIncarnationFile } from '../../src/broker/broker-incarnation.js';
import { lockDataDir } from '../../src/storage/data-dir-lock.js';

async function withLockedDir(body: (dir: string, lock: Awaited<ReturnType<typeof lockDataDir>>) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'runnel-incarnation-'));
  const lock = await lockDataDir(dir);
  try {
    await body(dir, lock);
  } finally {
    await lock.release();
    await rm(dir, { recursive: true, force: true });
  }
}

test('broker-incarnation: nothing before the first registration; then the recorded id, for this node id only', async () => {
  await withLockedDir(async (dir, lock) => {
    const file = await BrokerIncarnationFile.open(lock, dir, 1);
    assert.equal(await file.readPrevious(), undefined);
    await file.write('0f6c2f7e-2c1e-4d55-9d53-0c2d9f1a7b11');
    assert.equal(await file.readPrevious(), '0f6c2f7e-2c1e-4d55-9d53-0c2d9f1a7b11');
    await file.write('5b0e4d5a-77e4-4f4b-8a43-2b1f3f9c0d22');
    assert.equal(await (await BrokerIncarnationFile.open(lock, dir, 1)).readPrevious(), '5b0e4d5a-77e4-4f4b-8a43-2b1f3f9c0d22');
    // Another node id's file proves nothing about this node's previous process.
    assert.equal(await (await BrokerIncarnationFile.open(lock, dir, 2)).readPrevious(), undefined);
  });
});

test('broker-incarnation: a damaged file reads as absent (the start waits out the session, as Kafka\'s does); crash temporaries are removed', async () => {
  await withLockedDir(async (dir, lock) => {
    const path = join(dir, BROKER_INCARNATION_FILE);
    for (const text of ['', 'garbage', 'version=9\nnode.id=1\nincarnation.id=x\n', 'version=0\nnode.id=1\n', `version=0\nnode.id=1\nincarnation.id=${'x'.repeat(65)}\n`]) {
      await writeFile(path, text);
      assert.equal(await (await BrokerIncarnationFile.open(lock, dir, 1)).readPrevious(), undefined, JSON.stringify(text));
    }
    await writeFile(join(dir, `${BROKER_INCARNATION_FILE}.123-0.tmp`), 'version=0\n');
    await BrokerIncarnationFile.open(lock, dir, 1);
    assert.deepEqual((await readdir(dir)).filter((n) => n.endsWith('.tmp')), []);
  });
});

test('broker-incarnation: only the holder of this directory\'s lock may use the file', async () => {
  await withLockedDir(async (dir, lock) => {
    const other = await mkdtemp(join(tmpdir(), 'runnel-incarnation-other-'));
    try {
      await assert.rejects(BrokerIncarnationFile.open(lock, other, 1), /is not the lock of/);
    } finally {
      await rm(other, { recursive: true, force: true });
    }
  });
});
