import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compressFrameSync, decompressFrameSync } from 'lz4-napi';
import { decodeLz4Frame, Lz4FormatError, xxh32 } from '../../src/protocol/lz4.js';
import { Prng } from '../../src/common/prng.js';

function decode(frame: Buffer): Buffer {
  let out = Buffer.alloc(16);
  const { length } = decodeLz4Frame(frame, (min) => {
    if (min <= out.length) return out;
    const grown = Buffer.alloc(Math.max(min, out.length * 2));
    out.copy(grown);
    out = grown;
    return out;
  });
  return out.subarray(0, length);
}

test('xxh32 matches the reference vectors', () => {
  assert.equal(xxh32(Buffer.alloc(0), 0, 0), 0x02cc5d05);
  assert.equal(xxh32(Buffer.from('abc'), 0, 3), 0x32d153ff);
});

test('frames from lz4-napi (with and without checksums) decode to what lz4-napi decodes', () => {
  const prng = new Prng(7);
  const inputs: Buffer[] = [Buffer.alloc(0), Buffer.from('a'), Buffer.alloc(100, 0x41), Buffer.from('abcabcabcabcabcabcabcabcabcabcabcabcabcabcabc')];
  for (const size of [1000, 70_000, 300_000]) {
    const random = Buffer.alloc(size);
    for (let i = 0; i < size; i++) random[i] = 0x41 + prng.int(0, 25);
    inputs.push(random);
    const text = Buffer.alloc(size);
    for (let i = 0; i < size; i++) text[i] = 'the quick brown fox '.charCodeAt((i * 7 + Math.floor(i / 300)) % 20);
    inputs.push(text);
  }
  for (const input of inputs) {
    for (const options of [undefined, { contentChecksum: true, blockChecksums: true }]) {
      const frame = compressFrameSync(input, options);
      assert.ok(decode(frame).equals(decompressFrameSync(frame)), `${input.length} bytes ${JSON.stringify(options)}`);
      assert.ok(decode(frame).equals(input));
    }
  }
});

test('malformed frames are refused', () => {
  const input = Buffer.from('hello hello hello hello hello hello hello hello');
  const frame = compressFrameSync(input, { contentChecksum: true });
  const cases: Array<[string, Buffer]> = [
    ['bad magic', Buffer.concat([Buffer.from([0, 0, 0, 0]), frame.subarray(4)])],
    ['header checksum', (() => { const b = Buffer.from(frame); b[6] = (b[6] as number) ^ 1; return b; })()],
    ['content checksum', (() => { const b = Buffer.from(frame); b[b.length - 1] = (b[b.length - 1] as number) ^ 1; return b; })()],
    ['trailing bytes', Buffer.concat([frame, Buffer.from([0])])],
    ['cut short', frame.subarray(0, frame.length - 6)],
  ];
  for (const [name, bad] of cases) assert.throws(() => decode(bad), Lz4FormatError, name);
  // A block whose match reaches before the output: token 0x00 literal 0, offset 5.
  const descriptor = Buffer.from([0x60, 0x40]);
  const hc = (xxh32(descriptor, 0, 2) >>> 8) & 0xff;
  const block = Buffer.from([0x10, 0x41, 0x05, 0x00]);
  const size = Buffer.alloc(4);
  size.writeUInt32LE(block.length);
  const evil = Buffer.concat([Buffer.from([0x04, 0x22, 0x4d, 0x18]), descriptor, Buffer.from([hc]), size, block, Buffer.alloc(4)]);
  assert.throws(() => decode(evil), /offset out of bounds/);
});

test('xxh32 reads aligned and unaligned input alike', () => {
  const prng = new Prng(3);
  const data = Buffer.alloc(10_001);
  for (let i = 0; i < data.length; i++) data[i] = prng.int(0, 255);
  const shifted = Buffer.alloc(data.length + 3);
  data.copy(shifted, 3);
  for (const [start, end] of [[0, 10_001], [0, 16], [5, 9_000], [1, 33]] as const) {
    assert.equal(xxh32(shifted, start + 3, end + 3), xxh32(data, start, end), `${start}..${end}`);
  }
});
