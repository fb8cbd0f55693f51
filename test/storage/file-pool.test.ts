import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { FilePool } from '../../src/storage/file-pool.js';
import { tempDir } from './helpers.js';

test('the pool keeps at most capacity descriptors, pins those in use, and never creates files for readers', async () => {
  const { dir, cleanup } = tempDir();
  const pool = new FilePool(3);
  try {
    for (let i = 0; i < 10; i++) await pool.withFile(join(dir, `f${i}`), true, async () => undefined);
    assert.equal(pool.openCount, 3);
    const held = Promise.all([0, 1, 2, 3, 4].map((i) => pool.withFile(join(dir, `f${i}`), false, () => new Promise((r) => setTimeout(r, 20)))));
    assert.equal(pool.openCount, 5, 'pinned descriptors may exceed the bound while in use');
    await held;
    assert.ok(pool.openCount <= 3);
    await assert.rejects(pool.withFile(join(dir, 'missing'), false, async () => undefined), /ENOENT/);
    assert.ok(!existsSync(join(dir, 'missing')));
    pool.retire(join(dir, 'f4'));
    await pool.closeAll();
    assert.equal(pool.openCount, 0);
  } finally {
    cleanup();
  }
});

test('an O_DSYNC descriptor is a separate entry of the same file, retired with it', async () => {
  const { dir, cleanup } = tempDir();
  const pool = new FilePool(4);
  try {
    const path = join(dir, 'f');
    const plain = await pool.withFile(path, true, async (fd) => fd);
    const dsync = await pool.withFile(path, true, async (fd) => fd, true);
    assert.notEqual(plain, dsync);
    assert.equal(pool.openCount, 2);
    assert.equal(await pool.withFile(path, false, async (fd) => fd, true), dsync, 'the dsync descriptor is reused');
    pool.retire(path);
    assert.equal(pool.openCount, 0, 'retire closes both descriptors');
    await pool.closeAll();
  } finally {
    cleanup();
  }
});
