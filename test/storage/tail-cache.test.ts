import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LogSegment } from '../../src/storage/segment.js';
import { TailCache, type TailEntry } from '../../src/storage/tail-cache.js';

const segment = new LogSegment('/nonexistent', 0, 0);
const other = new LogSegment('/nonexistent', 100, 0);

/** A batch of offsets [base, base + count) with `bytes` bytes whose first byte is its base offset. */
function entry(base: number, count: number, bytes: number, written = true, seg = segment): TailEntry {
  const buf = Buffer.alloc(bytes, base);
  return { baseOffset: base, lastOffset: base + count - 1, buf, segment: seg, position: 0, written, durable: undefined };
}

test('eviction drops written entries from the front only, and never an unwritten one', () => {
  const tail = new TailCache();
  tail.push(entry(0, 10, 100), 1000);
  tail.push(entry(10, 10, 100, false), 1000);
  tail.push(entry(20, 10, 100), 1000);
  assert.equal(tail.startOffset(30), 0);
  tail.evict(150);
  // 0..9 goes; 10..19 is unwritten, so it and everything after it stay although 200 B > 150 B.
  assert.equal(tail.startOffset(30), 10);
  assert.deepEqual(tail.read(0, 1000, Number.MAX_SAFE_INTEGER, true).map((b) => b[0]), [10, 20]);
});

test('startOffset is the log end offset when nothing is cached', () => {
  const tail = new TailCache();
  assert.equal(tail.startOffset(42), 42);
  tail.push(entry(42, 1, 10), 0); // written and over a 0-byte limit: evicted at once
  assert.equal(tail.startOffset(43), 43);
});

test('read starts at the batch holding the offset and stops at maxBytes and the bound', () => {
  const tail = new TailCache();
  for (let base = 0; base < 50; base += 10) tail.push(entry(base, 10, 100), 10_000);
  assert.deepEqual(tail.read(15, 250, Number.MAX_SAFE_INTEGER, true).map((b) => b[0]), [10, 20]);
  assert.deepEqual(tail.read(15, 50, Number.MAX_SAFE_INTEGER, true).map((b) => b[0]), [10], 'minOneBatch returns one batch over maxBytes');
  assert.deepEqual(tail.read(15, 50, Number.MAX_SAFE_INTEGER, false), []);
  assert.deepEqual(tail.read(0, 10_000, 25, true).map((b) => b[0]), [0, 10], 'a batch reaching past the bound (HW) is not returned');
  assert.deepEqual(tail.read(50, 10_000, Number.MAX_SAFE_INTEGER, true), []);
});

test('truncate drops entries at or above the end offset; an unwritten one there is a bug', () => {
  const tail = new TailCache();
  tail.push(entry(0, 10, 100), 10_000);
  tail.push(entry(10, 10, 100), 10_000);
  tail.truncate(15);
  assert.deepEqual(tail.read(0, 10_000, Number.MAX_SAFE_INTEGER, true).map((b) => b[0]), [0]);
  tail.push(entry(10, 10, 100, false), 10_000);
  assert.throws(() => tail.truncate(10), /unwritten tail entry/);
});

test('forEachOf visits one segment\'s entries in order; clear empties the cache', () => {
  const tail = new TailCache();
  tail.push(entry(0, 10, 10), 10_000);
  tail.push(entry(100, 10, 10, true, other), 10_000);
  tail.push(entry(110, 10, 10, true, other), 10_000);
  const seen: number[] = [];
  tail.forEachOf(other, (e) => seen.push(e.baseOffset));
  assert.deepEqual(seen, [100, 110]);
  tail.clear();
  assert.equal(tail.startOffset(120), 120);
});

test('many evictions compact the array and keep reads right', () => {
  const tail = new TailCache();
  for (let i = 0; i < 5000; i++) tail.push(entry(i, 1, 10), 100);
  assert.equal(tail.startOffset(5000), 4990);
  assert.deepEqual(tail.read(4995, 10_000, Number.MAX_SAFE_INTEGER, true).length, 5);
});
