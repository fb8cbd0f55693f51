/**
 * Appending, growable writer (STYLE.md 6, after franz-go's kbin.AppendX helpers).
 *
 * Small values go into a scratch buffer that grows by doubling; a bytes/records value of at least
 * `byReferenceBytesMin` is appended as its own chunk, by reference, so a 1 MiB record batch reaches the
 * socket (writev via finish()) without ever being copied. finishBuffer() concatenates for callers that
 * need one Buffer.
 */
export class ProtocolEncodeError extends Error {
  override name = 'ProtocolEncodeError';
}

/** Below this a copy is cheaper than an extra iovec (DESIGN.md §2: payload bytes are not copied). */
export const byReferenceBytesMin = 1024;
const initialCapacityBytes = 256;
const growCapacityBytesMax = 1024 * 1024;

/** A placeholder for a 4-byte big-endian value (a frame or tagged-field size) filled in later. */
export interface Int32Reservation {
  readonly buf: Buffer;
  readonly offset: number;
  /** byteLength of the writer right after the reservation. */
  readonly mark: number;
}

export class Writer {
  private readonly chunks: Buffer[] = [];
  /** Bytes in `chunks`. */
  private sealedBytes = 0;
  private buf: Buffer;
  /** Start of the unsealed region of `buf`. */
  private start = 0;
  private pos = 0;

  constructor(initialCapacity = initialCapacityBytes) {
    this.buf = Buffer.allocUnsafe(Math.max(16, initialCapacity));
  }

  get byteLength(): number {
    return this.sealedBytes + (this.pos - this.start);
  }

  private ensure(size: number): void {
    if (this.buf.length - this.pos >= size) return;
    this.seal();
    const capacity = Math.max(size, Math.min(this.buf.length * 2, growCapacityBytesMax));
    this.buf = Buffer.allocUnsafe(capacity);
    this.start = 0;
    this.pos = 0;
  }

  /** Moves the written part of the scratch buffer into the chunk list; later writes continue after it. */
  private seal(): void {
    if (this.pos === this.start) return;
    this.chunks.push(this.buf.subarray(this.start, this.pos));
    this.sealedBytes += this.pos - this.start;
    this.start = this.pos;
  }

  // Integer writes store bytes directly: Buffer.writeInt32BE & co. cost a call and a range check each,
  // and these run a few times per partition on every response. Range bugs still throw.
  writeInt8(v: number): void {
    checkInt(v, -0x80, 0x7f);
    this.ensure(1);
    this.buf[this.pos++] = v & 0xff;
  }

  writeBool(v: boolean): void {
    this.ensure(1);
    this.buf[this.pos++] = v ? 1 : 0;
  }

  writeInt16(v: number): void {
    checkInt(v, -0x8000, 0x7fff);
    this.store16(v);
  }

  writeUInt16(v: number): void {
    checkInt(v, 0, 0xffff);
    this.store16(v);
  }

  writeInt32(v: number): void {
    checkInt(v, -0x80000000, 0x7fffffff);
    this.store32(v);
  }

  writeUInt32(v: number): void {
    checkInt(v, 0, 0xffffffff);
    this.store32(v);
  }

  private store16(v: number): void {
    this.ensure(2);
    const buf = this.buf;
    const p = this.pos;
    buf[p] = (v >>> 8) & 0xff;
    buf[p + 1] = v & 0xff;
    this.pos = p + 2;
  }

  private store32(v: number): void {
    this.ensure(4);
    const buf = this.buf;
    const p = this.pos;
    buf[p] = (v >>> 24) & 0xff;
    buf[p + 1] = (v >>> 16) & 0xff;
    buf[p + 2] = (v >>> 8) & 0xff;
    buf[p + 3] = v & 0xff;
    this.pos = p + 4;
  }

  writeInt64(v: bigint): void {
    this.ensure(8);
    this.pos = this.buf.writeBigInt64BE(v, this.pos);
  }

  writeFloat64(v: number): void {
    this.ensure(8);
    this.pos = this.buf.writeDoubleBE(v, this.pos);
  }

  writeUVarint(v: number): void {
    if (v >= 0 && v < 0x80 && (v | 0) === v) {
      // One byte: every tagged-field count and most compact lengths.
      this.ensure(1);
      this.buf[this.pos++] = v;
      return;
    }
    checkInt(v, 0, 0xffffffff);
    this.ensure(5);
    const buf = this.buf;
    let rest = v;
    while (rest >= 0x80) {
      buf[this.pos++] = (rest & 0x7f) | 0x80;
      rest = Math.floor(rest / 128);
    }
    buf[this.pos++] = rest;
  }

  /** Zig-zag signed 32-bit varint. */
  writeVarint(v: number): void {
    checkInt(v, -0x80000000, 0x7fffffff);
    this.writeUVarint(((v << 1) ^ (v >> 31)) >>> 0);
  }

  writeUVarlong(v: bigint): void {
    this.ensure(10);
    const buf = this.buf;
    let rest = BigInt.asUintN(64, v);
    while (rest >= 0x80n) {
      buf[this.pos++] = Number(rest & 0x7fn) | 0x80;
      rest >>= 7n;
    }
    buf[this.pos++] = Number(rest);
  }

  /** Zig-zag signed 64-bit varlong. */
  writeVarlong(v: bigint): void {
    const n = BigInt.asIntN(64, v);
    this.writeUVarlong((n << 1n) ^ (n >> 63n));
  }

  /** Canonical lowercase 8-4-4-4-12 hex, as Reader.readUuid renders it, to 16 raw bytes. */
  writeUuid(v: string): void {
    if (v.length !== 36) throw new ProtocolEncodeError(`not a canonical lowercase UUID: ${v}`);
    this.ensure(16);
    const buf = this.buf;
    let p = this.pos;
    for (let i = 0; i < 36; i += 2) {
      if (i === 8 || i === 13 || i === 18 || i === 23) {
        if (v.charCodeAt(i) !== 0x2d) throw new ProtocolEncodeError(`not a canonical lowercase UUID: ${v}`);
        i -= 1;
        continue;
      }
      const hi = hexValue(v.charCodeAt(i));
      const lo = hexValue(v.charCodeAt(i + 1));
      if ((hi | lo) < 0) throw new ProtocolEncodeError(`not a canonical lowercase UUID: ${v}`);
      buf[p++] = (hi << 4) | lo;
    }
    this.pos = p;
  }

  writeString(v: string): void {
    const length = utf8Length(v);
    if (length > 0x7fff) throw new ProtocolEncodeError(`string of ${length} bytes exceeds int16 length`);
    this.writeInt16(length);
    this.writeUtf8(v, length);
  }

  writeNullableString(v: string | null): void {
    if (v === null) this.writeInt16(-1);
    else this.writeString(v);
  }

  writeCompactString(v: string): void {
    const length = utf8Length(v);
    if (length > 0x7fff) throw new ProtocolEncodeError(`string of ${length} bytes exceeds the protocol's string limit`);
    this.writeUVarint(length + 1);
    this.writeUtf8(v, length);
  }

  writeCompactNullableString(v: string | null): void {
    if (v === null) this.writeUVarint(0);
    else this.writeCompactString(v);
  }

  writeBytes(v: Buffer): void {
    this.writeInt32(v.length);
    this.writeRaw(v);
  }

  writeNullableBytes(v: Buffer | null): void {
    if (v === null) this.writeInt32(-1);
    else this.writeBytes(v);
  }

  writeCompactBytes(v: Buffer): void {
    this.writeUVarint(v.length + 1);
    this.writeRaw(v);
  }

  writeCompactNullableBytes(v: Buffer | null): void {
    if (v === null) this.writeUVarint(0);
    else this.writeCompactBytes(v);
  }

  writeRecords(v: Buffer | null): void {
    this.writeNullableBytes(v);
  }

  writeCompactRecords(v: Buffer | null): void {
    this.writeCompactNullableBytes(v);
  }

  writeArrayLength(count: number): void {
    this.writeInt32(count);
  }

  writeCompactArrayLength(count: number): void {
    this.writeUVarint(count + 1);
  }

  /** Appends bytes as they are; at least byReferenceBytesMin of them become a chunk without a copy. */
  writeRaw(v: Buffer): void {
    if (v.length >= byReferenceBytesMin) {
      this.seal();
      this.chunks.push(v);
      this.sealedBytes += v.length;
      return;
    }
    this.ensure(v.length);
    this.pos += v.copy(this.buf, this.pos);
  }

  /** Appends everything another writer holds (a tagged field encoded on the side to learn its size). */
  writeWriter(other: Writer): void {
    for (const chunk of other.finish()) this.writeRaw(chunk);
  }

  reserveInt32(): Int32Reservation {
    this.ensure(4);
    const reservation = { buf: this.buf, offset: this.pos, mark: this.byteLength + 4 };
    this.pos += 4;
    return reservation;
  }

  patchInt32(reservation: Int32Reservation, v: number): void {
    reservation.buf.writeInt32BE(v, reservation.offset);
  }

  /** Fills a reservation with the number of bytes written after it: the Kafka frame size prefix. */
  patchSizePrefix(reservation: Int32Reservation): void {
    this.patchInt32(reservation, this.byteLength - reservation.mark);
  }

  /** The chunks in order; large payloads are the callers' own Buffers. For socket cork/writev. */
  finish(): Buffer[] {
    this.seal();
    return this.chunks.slice();
  }

  finishBuffer(): Buffer {
    const chunks = this.finish();
    if (chunks.length === 1) return chunks[0];
    return Buffer.concat(chunks, this.sealedBytes);
  }

  private writeUtf8(v: string, length: number): void {
    this.ensure(length);
    // Equal lengths mean pure ASCII, where latin1 is the cheaper encoder producing the same bytes.
    this.pos += this.buf.write(v, this.pos, length, length === v.length ? 'latin1' : 'utf8');
  }
}

/** Byte length in UTF-8; short ASCII strings (most names) skip the native call. */
export function utf8Length(v: string): number {
  if (v.length > 64) return Buffer.byteLength(v, 'utf8');
  for (let i = 0; i < v.length; i++) {
    if (v.charCodeAt(i) >= 0x80) return Buffer.byteLength(v, 'utf8');
  }
  return v.length;
}

function checkInt(v: number, min: number, max: number): void {
  if (!(v >= min && v <= max && Math.floor(v) === v)) {
    throw new ProtocolEncodeError(`integer ${v} outside [${min}, ${max}]`);
  }
}

/** 0-9a-f to its value; anything else (uppercase included: not canonical) to -1. */
function hexValue(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x61 && c <= 0x66) return c - 0x57;
  return -1;
}
