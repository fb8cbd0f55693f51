import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Reader } from '../../src/protocol/reader.js';
import { ProtocolEncodeError, Writer, byReferenceBytesMin } from '../../src/protocol/writer.js';

describe('Writer', () => {
  it('appends big-endian values and grows past its initial capacity', () => {
    const w = new Writer(16);
    for (let i = 0; i < 100; i++) w.writeInt32(i);
    w.writeInt64(-2n);
    w.writeUInt16(65535);
    const buf = w.finishBuffer();
    assert.equal(buf.length, 400 + 8 + 2);
    assert.equal(w.byteLength, buf.length);
    const r = new Reader(buf);
    for (let i = 0; i < 100; i++) assert.equal(r.readInt32(), i);
    assert.equal(r.readInt64(), -2n);
    assert.equal(r.readUInt16(), 65535);
  });

  it('appends large byte arrays by reference and copies small ones', () => {
    const large = Buffer.alloc(byReferenceBytesMin, 1);
    const small = Buffer.alloc(byReferenceBytesMin - 1, 2);
    const w = new Writer();
    w.writeInt16(7);
    w.writeBytes(large);
    w.writeBytes(small);
    const chunks = w.finish();
    assert.ok(chunks.includes(large), 'the large Buffer itself is a chunk');
    assert.ok(!chunks.includes(small), 'the small Buffer was copied');
    assert.equal(Buffer.concat(chunks).length, 2 + 4 + large.length + 4 + small.length);
    assert.deepEqual(w.finishBuffer(), Buffer.concat(chunks));
  });

  it('patches a reserved size prefix even after the scratch buffer was sealed', () => {
    const w = new Writer(16);
    const size = w.reserveInt32();
    w.writeRaw(Buffer.alloc(2000, 3));
    for (let i = 0; i < 50; i++) w.writeInt32(i);
    w.patchSizePrefix(size);
    const frame = w.finishBuffer();
    assert.equal(frame.readInt32BE(0), frame.length - 4);
  });

  it('writes strings by UTF-8 length and refuses what the wire cannot carry', () => {
    const w = new Writer();
    w.writeString('€uro');
    w.writeCompactNullableString(null);
    w.writeCompactString('x'.repeat(200));
    const r = new Reader(w.finishBuffer());
    assert.equal(r.readString(), '€uro');
    assert.equal(r.readCompactNullableString(), null);
    assert.equal(r.readCompactString(), 'x'.repeat(200));
    assert.throws(() => new Writer().writeString('x'.repeat(0x8000)), ProtocolEncodeError);
    assert.throws(() => new Writer().writeUuid('not-a-uuid'), ProtocolEncodeError);
    assert.throws(() => new Writer().writeUuid('01234567-89AB-CDEF-0011-223344556677'), ProtocolEncodeError);
    assert.throws(() => new Writer().writeUVarint(-1), ProtocolEncodeError);
  });

  it('writes UUIDs as 16 raw bytes', () => {
    const w = new Writer();
    w.writeUuid('01234567-89ab-cdef-0011-223344556677');
    assert.equal(w.finishBuffer().toString('hex'), '0123456789abcdef0011223344556677');
  });

  it('appends another writer, keeping its large chunks by reference', () => {
    const large = Buffer.alloc(4096, 5);
    const inner = new Writer();
    inner.writeInt8(1);
    inner.writeRaw(large);
    const outer = new Writer();
    outer.writeInt8(0);
    outer.writeWriter(inner);
    const chunks = outer.finish();
    assert.ok(chunks.includes(large));
    assert.equal(outer.byteLength, 2 + large.length);
  });
});
