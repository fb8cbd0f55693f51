import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FrameDecoder, FrameSizeError } from '../../src/network/frame-decoder.js';

function frame(body: Buffer): Buffer {
  const prefix = Buffer.alloc(4);
  prefix.writeInt32BE(body.length, 0);
  return Buffer.concat([prefix, body]);
}

function drain(decoder: FrameDecoder): Buffer[] {
  const out: Buffer[] = [];
  for (let i = 0; i < 10_000; i++) {
    const next = decoder.next();
    if (next === null) return out;
    out.push(next);
  }
  throw new Error('decoder did not stop');
}

test('a frame split byte by byte is reassembled', () => {
  const decoder = new FrameDecoder(1024);
  const bytes = frame(Buffer.from('hello kafka'));
  const frames: Buffer[] = [];
  for (const byte of bytes) {
    decoder.push(Buffer.from([byte]));
    frames.push(...drain(decoder));
  }
  assert.deepEqual(frames.map((f) => f.toString()), ['hello kafka']);
  assert.equal(decoder.bufferedByteCount, 0);
});

test('many frames in one chunk come out in order, zero-length frames included', () => {
  const decoder = new FrameDecoder(1024);
  const bodies = ['a', '', 'bcd', 'efgh'.repeat(50)];
  decoder.push(Buffer.concat(bodies.map((b) => frame(Buffer.from(b)))));
  assert.deepEqual(drain(decoder).map((f) => f.toString()), bodies);
});

test('a frame inside one chunk is a view, not a copy', () => {
  const decoder = new FrameDecoder(1024);
  const chunk = frame(Buffer.from('xyz'));
  decoder.push(chunk);
  const out = decoder.next();
  assert.ok(out);
  assert.equal(out.buffer, chunk.buffer);
});

test('an oversized size prefix throws before the body arrives', () => {
  const decoder = new FrameDecoder(100);
  const prefix = Buffer.alloc(4);
  prefix.writeInt32BE(101, 0);
  decoder.push(prefix);
  assert.throws(() => decoder.next(), FrameSizeError);
});

test('a negative size prefix throws', () => {
  const decoder = new FrameDecoder(100);
  decoder.push(Buffer.from([0xff, 0xff, 0xff, 0xfe]));
  assert.throws(() => decoder.next(), (e: unknown) => e instanceof FrameSizeError && e.size === -2);
});

test('random chunking of random frames always yields the same frames', () => {
  let seed = 12345;
  const rand = (n: number): number => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return seed % n;
  };
  for (let round = 0; round < 200; round++) {
    const bodies = Array.from({ length: 1 + rand(8) }, () => Buffer.alloc(rand(300), rand(256)));
    const stream = Buffer.concat(bodies.map(frame));
    const decoder = new FrameDecoder(1000);
    const out: Buffer[] = [];
    for (let at = 0; at < stream.length;) {
      const size = 1 + rand(64);
      decoder.push(stream.subarray(at, at + size));
      at += size;
      out.push(...drain(decoder));
    }
    assert.deepEqual(out, bodies);
  }
});
