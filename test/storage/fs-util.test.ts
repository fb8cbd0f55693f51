import { test } from 'node:test';
import assert from 'node:assert/strict';
import { closeSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pwritevFull, pwritevFullSync } from '../../src/storage/fs-util.js';
import { tempDir } from './helpers.js';

const buffers = (): Buffer[] => [Buffer.from('abc'), Buffer.alloc(0), Buffer.from('defgh'), Buffer.alloc(0), Buffer.from('i')];

test('pwritevFullSync writes every buffer, in order, at the position, and leaves the bytes around it alone', () => {
  const { dir, cleanup } = tempDir();
  try {
    const path = join(dir, 'f');
    writeFileSync(path, '0123456789XYZ');
    const fd = openSync(path, 'r+');
    try {
      pwritevFullSync(fd, buffers(), 2);
      pwritevFullSync(fd, [], 0);
    } finally {
      closeSync(fd);
    }
    assert.equal(readFileSync(path, 'utf8'), '01abcdefghiYZ');
  } finally {
    cleanup();
  }
});

test('pwritevFullSync leaves the same bytes as pwritevFull, past the end of the file too', async () => {
  const { dir, cleanup } = tempDir();
  try {
    const a = join(dir, 'a');
    const b = join(dir, 'b');
    writeFileSync(a, 'xy');
    writeFileSync(b, 'xy');
    const fa = openSync(a, 'r+');
    const fb = openSync(b, 'r+');
    try {
      pwritevFullSync(fa, buffers(), 5);
      await pwritevFull(fb, buffers(), 5);
    } finally {
      closeSync(fa);
      closeSync(fb);
    }
    assert.deepEqual(readFileSync(a), readFileSync(b));
    assert.equal(readFileSync(a).length, 14);
  } finally {
    cleanup();
  }
});

test('pwritevFullSync throws the write error (a read-only descriptor: EBADF) instead of losing it', () => {
  const { dir, cleanup } = tempDir();
  try {
    const path = join(dir, 'f');
    writeFileSync(path, 'abc');
    const fd = openSync(path, 'r');
    try {
      assert.throws(() => pwritevFullSync(fd, [Buffer.from('z')], 0), /EBADF/);
    } finally {
      closeSync(fd);
    }
    assert.equal(readFileSync(path, 'utf8'), 'abc');
  } finally {
    cleanup();
  }
});
