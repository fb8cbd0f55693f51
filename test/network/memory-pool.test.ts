import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryPool } from '../../src/network/memory-pool.js';

test('allocation is strict: granted only when it fits', () => {
  const pool = new MemoryPool('test', 100);
  assert.equal(pool.tryAllocate(60), true);
  assert.equal(pool.tryAllocate(50), false, '60 + 50 does not fit in 100');
  assert.equal(pool.usedBytes, 60);
  assert.equal(pool.tryAllocate(40), true);
  assert.equal(pool.availableBytes, 0);
});

test('a request larger than the pool is granted only when the pool is empty', () => {
  const pool = new MemoryPool('test', 100);
  assert.equal(pool.tryAllocate(1), true);
  assert.equal(pool.tryAllocate(500), false);
  pool.release(1);
  assert.equal(pool.tryAllocate(500), true);
  assert.equal(pool.availableBytes, -400);
  assert.equal(pool.tryAllocate(1), false);
});

test('charges may exceed the capacity; releases wake waiters in arrival order, a smaller one may pass a larger one', () => {
  const pool = new MemoryPool('test', 100);
  pool.charge(150);
  const order: string[] = [];
  pool.wait(() => {
    if (!pool.tryAllocate(80)) return false;
    order.push('big');
    return true;
  });
  pool.wait(() => {
    if (!pool.tryAllocate(30)) return false;
    order.push('small');
    return true;
  });
  pool.release(50);
  assert.deepEqual(order, [], 'still full');
  pool.release(60);
  assert.deepEqual(order, ['small'], 'the 80-byte waiter does not fit in 60, the 30-byte one does');
  assert.equal(pool.waiterCount, 1);
  pool.release(40);
  assert.deepEqual(order, ['small'], '30 in use: 80 more does not fit');
  pool.release(30);
  assert.deepEqual(order, ['small', 'big']);
  assert.equal(pool.waiterCount, 0);
});

test('a waiter that releases memory while being woken does not lose the wake-up of the others', () => {
  const pool = new MemoryPool('test', 10);
  assert.equal(pool.tryAllocate(10), true);
  const woken: number[] = [];
  pool.wait(() => {
    if (!pool.tryAllocate(5)) return false;
    woken.push(1);
    pool.release(5);
    return true;
  });
  pool.wait(() => {
    if (!pool.tryAllocate(10)) return false;
    woken.push(2);
    return true;
  });
  pool.release(10);
  assert.deepEqual(woken, [1, 2]);
});

test('a cancelled waiter is not called; releasing more than is used is a bug', () => {
  const pool = new MemoryPool('test', 10);
  pool.charge(10);
  let calls = 0;
  const cancel = pool.wait(() => { calls++; return false; });
  cancel();
  pool.release(5);
  assert.equal(calls, 0);
  assert.throws(() => pool.release(6), /InvariantError|releasing/);
});
