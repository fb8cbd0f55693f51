import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ProtocolDecodeError, Reader } from '../../src/protocol/reader.js';
import { Writer } from '../../src/protocol/writer.js';

const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ''), 'hex');

function decodeError(fn: () => unknown): void {
  assert.throws(fn, (e: unknown) => e instanceof ProtocolDecodeError);
}

describe('Reader fixed-width values', () => {
  it('reads big-endian integers, floats and bools', () => {
    const r = new Reader(hex('ff 8000 ffff 80000000 ffffffff ffffffffffffffff 3ff8000000000000 00 02'));
    assert.equal(r.readInt8(), -1);
    assert.equal(r.readInt16(), -32768);
    assert.equal(r.readUInt16(), 65535);
    assert.equal(r.readInt32(), -2147483648);
    assert.equal(r.readUInt32(), 4294967295);
    assert.equal(r.readInt64(), -1n);
    assert.equal(r.readFloat64(), 1.5);
    assert.equal(r.readBool(), false);
    assert.equal(r.readBool(), true);
    assert.equal(r.remaining(), 0);
  });

  it('renders UUIDs as canonical lowercase hex', () => {
    const r = new Reader(hex('0123456789ABCDEF0011223344556677'));
    assert.equal(r.readUuid(), '01234567-89ab-cdef-0011-223344556677');
  });

  it('throws ProtocolDecodeError, not RangeError, on every truncated read', () => {
    const reads: Array<(r: Reader) => unknown> = [
      (r) => r.readInt8(), (r) => r.readInt16(), (r) => r.readUInt16(), (r) => r.readInt32(),
      (r) => r.readUInt32(), (r) => r.readInt64(), (r) => r.readFloat64(), (r) => r.readUuid(),
      (r) => r.readBool(), (r) => r.readUVarint(), (r) => r.readVarlong(),
    ];
    for (const read of reads) decodeError(() => read(new Reader(Buffer.alloc(0))));
    decodeError(() => new Reader(hex('0102030405060708'), 1).readInt64());
  });

  it('respects the end of its window, not of the buffer', () => {
    const r = new Reader(hex('0000000100000002'), 0, 4);
    assert.equal(r.readInt32(), 1);
    decodeError(() => r.readInt32());
    decodeError(() => new Reader(Buffer.alloc(4), 0, 5));
  });
});

describe('Reader varints', () => {
  it('reads unsigned and zig-zag varints', () => {
    assert.equal(new Reader(hex('ac02')).readUVarint(), 300);
    assert.equal(new Reader(hex('ffffffff0f')).readUVarint(), 0xffffffff);
    assert.equal(new Reader(hex('01')).readVarint(), -1);
    assert.equal(new Reader(hex('feffffff0f')).readVarint(), 2147483647);
    assert.equal(new Reader(hex('ffffffff0f')).readVarint(), -2147483648);
    assert.equal(new Reader(hex('ffffffffffffffffff01')).readVarlong(), -9223372036854775808n);
  });

  it('rejects overlong and truncated varints', () => {
    decodeError(() => new Reader(hex('8080808080')).readUVarint());
    decodeError(() => new Reader(hex('ffffffff1f')).readUVarint());
    decodeError(() => new Reader(hex('80')).readUVarint());
    // Five bytes with a final terminator are legal, if not minimal (ByteUtils.readUnsignedVarint accepts them).
    assert.equal(new Reader(hex('8080808000')).readUVarint(), 0);
    decodeError(() => new Reader(hex('8080808080808080808000')).readVarlong());
    decodeError(() => new Reader(hex('ffffffffffffffffff7f')).readVarlong());
  });

  it('round-trips through the Writer', () => {
    fc.assert(
      fc.property(fc.integer({ min: -0x80000000, max: 0x7fffffff }), fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }), (i, l) => {
        const w = new Writer();
        w.writeVarint(i);
        w.writeUVarint(i >>> 0);
        w.writeVarlong(l);
        const r = new Reader(w.finishBuffer());
        assert.equal(r.readVarint(), i);
        assert.equal(r.readUVarint(), i >>> 0);
        assert.equal(r.readVarlong(), l);
        assert.equal(r.remaining(), 0);
      }),
      { numRuns: 200 },
    );
  });
});

describe('Reader strings and bytes', () => {
  it('reads classic and compact strings, null included', () => {
    const r = new Reader(hex('0002 6869 ffff 03 6869 00 00'));
    assert.equal(r.readString(), 'hi');
    assert.equal(r.readNullableString(), null);
    assert.equal(r.readCompactString(), 'hi');
    assert.equal(r.readCompactNullableString(), null);
    assert.equal(r.readCompactNullableBytes(), null);
  });

  it('rejects null where the field is not nullable', () => {
    decodeError(() => new Reader(hex('ffff')).readString());
    decodeError(() => new Reader(hex('00')).readCompactString());
    decodeError(() => new Reader(hex('ffffffff')).readBytes());
    decodeError(() => new Reader(hex('00')).readCompactBytes());
  });

  it('rejects negative lengths other than -1', () => {
    decodeError(() => new Reader(hex('fffe 0000')).readNullableString());
    decodeError(() => new Reader(hex('8000')).readString());
    decodeError(() => new Reader(hex('fffffffe 00')).readNullableBytes());
    decodeError(() => new Reader(hex('80000000')).readRecords());
  });

  it('rejects lengths beyond the frame', () => {
    decodeError(() => new Reader(hex('0003 6869')).readString());
    decodeError(() => new Reader(hex('04 6869')).readCompactString());
    decodeError(() => new Reader(hex('7fffffff 00')).readBytes());
    decodeError(() => new Reader(hex('ffffffff0f')).readCompactNullableBytes());
    decodeError(() => new Reader(hex('00000003 0102')).readRecords());
  });

  it('rejects invalid UTF-8', () => {
    for (const bad of ['0001 ff', '0002 c328', '0003 eda080', '0002 c0af', '0001 80']) {
      decodeError(() => new Reader(hex(bad)).readString());
    }
    assert.equal(new Reader(hex('0003 e282ac')).readString(), '€');
  });

  it('copies plain bytes but shares the frame for records and zero-copy views', () => {
    const frame = hex('00000002 0102 00000002 0304');
    const r = new Reader(frame);
    const copied = r.readBytes();
    const view = r.readRecords();
    assert.ok(view !== null && view.buffer === frame.buffer && view.byteOffset === frame.byteOffset + 10);
    frame[5] = 9;
    frame[11] = 9;
    assert.deepEqual([...copied], [1, 2]);
    assert.equal(view[1], 9);
  });
});

describe('Reader array counts', () => {
  it('returns -1 for a null array', () => {
    assert.equal(new Reader(hex('ffffffff')).readArrayLength(4), -1);
    assert.equal(new Reader(hex('00')).readCompactArrayLength(4), -1);
  });

  it('rejects counts the remaining bytes cannot hold, before allocating', () => {
    decodeError(() => new Reader(hex('7fffffff')).readArrayLength(1));
    decodeError(() => new Reader(hex('00000002 00000001')).readArrayLength(4));
    decodeError(() => new Reader(hex('ffffffff0f')).readCompactArrayLength(1));
    decodeError(() => new Reader(hex('80000000')).readArrayLength(1));
    decodeError(() => new Reader(hex('fffffffe')).readArrayLength(1));
    assert.equal(new Reader(hex('00000002 0000000100000002')).readArrayLength(4), 2);
  });

  it('bounds the tagged-field count the same way', () => {
    decodeError(() => new Reader(hex('ffffff7f')).skipTaggedFields());
    decodeError(() => new Reader(hex('01 00 05 0102')).skipTaggedFields());
    const r = new Reader(hex('02 00 01 aa 05 02 bbcc'));
    r.skipTaggedFields();
    assert.equal(r.remaining(), 0);
  });

  it('checks a known tagged field ends where its size says', () => {
    const r = new Reader(hex('0000000102'));
    const end = r.taggedFieldEnd(5);
    r.readInt32();
    decodeError(() => r.endTaggedField(end));
    decodeError(() => new Reader(hex('00')).taggedFieldEnd(2));
  });
});
