import { test } from 'node:test';
import assert from 'node:assert/strict';
import { closeSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pwritevFull, pwritevFullSync } from '../../src/storage/fs-util.js';
import { tempDir } from './helpers.js';

const buffers = (): Buffer[] => [Buffer.from('abc'), Buffer.alloc(0), Buffer.from('defgh'), Buffer.alloc(0), Buffer.from('i')];

/** Runs fn with a descriptor (opened with flags) of a new file holding content; returns the file's bytes after. */
async function withFile(content: string, flags: string, fn: (fd: number) => unknown): Promise<Buffer> {
  const { dir, cleanup } = tempDir();
  try {
    const path = join(dir, 'f');
    writeFileSync(path, content);
    const fd = openSync(path, flags);
    try {
      await fn(fd);
    } finally {
      closeSync(fd);
    }
    return readFileSync(path);
  } finally {
    cleanup();
  }
}

test('pwritevFullSync writes every buffer, in order, at the position, and leaves the bytes around it alone', async () => {
  const bytes = await withFile('0123456789XYZ', 'r+', (fd) => {
    pwritevFullSync(fd, buffers(), 2);
    pwritevFullSync(fd, [], 0);
  });
  assert.equal(bytes.toString('utf8'), '01abcdefghiYZ');
});

test('pwritevFullSync leaves the same bytes as pwritevFull, past the end of the file too', async () => {
  const a = await withFile('xy', 'r+', (fd) => pwritevFullSync(fd, buffers(), 5));
  const b = await withFile('xy', 'r+', (fd) => pwritevFull(fd, buffers(), 5));
  assert.deepEqual(a, b);
  assert.equal(a.length, 14);
});

test('pwritevFullSync throws the write error (a read-only descriptor: EBADF) instead of losing it', async () => {
  const bytes = await withFile('abc', 'r', (fd) => {
    assert.throws(() => pwritevFullSync(fd, [Buffer.from('z')], 0), /EBADF/);
  });
  assert.equal(bytes.toString('utf8'), 'abc');
});
