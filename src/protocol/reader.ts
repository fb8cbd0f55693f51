/**
 * Bounds-checked reader over one Kafka frame (STYLE.md 6, after franz-go's kbin.Reader).
 *
 * Every failure — truncation, a negative length other than the null marker, a length or array count the
 * remaining bytes cannot hold, an overlong varint, invalid UTF-8 — throws ProtocolDecodeError and nothing
 * else, so a caller catches one type and answers the client (or closes the connection). Nothing is
 * allocated from a client-supplied count before that count is checked against remaining().
 *
 * Encodings follow the Kafka protocol guide (https://kafka.apache.org/protocol#protocol_types) and KIP-482
 * (compact strings/bytes/arrays: unsigned varint of length + 1, 0 = null).
 */
export class ProtocolDecodeError extends Error {
  override name = 'ProtocolDecodeError';
}

const utf8Decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** 5 bytes carry 35 bits: enough for an unsigned 32-bit varint (Kafka's ByteUtils.readUnsignedVarint). */
const uvarintBytesMax = 5;
/** 10 bytes carry 70 bits: enough for a 64-bit varlong (ByteUtils.readVarlong). */
const varlongBytesMax = 10;
const hexDigits = '0123456789abcdef';
const stringBytesMax = 0x7fff;

export class Reader {
  readonly buf: Buffer;
  offset: number;
  readonly end: number;

  constructor(buf: Buffer, offset = 0, end = buf.length) {
    if (offset < 0 || end > buf.length || offset > end) {
      throw new ProtocolDecodeError(`reader window [${offset}, ${end}) outside buffer of ${buf.length} bytes`);
    }
    this.buf = buf;
    this.offset = offset;
    this.end = end;
  }

  remaining(): number {
    return this.end - this.offset;
  }

  /** Moves past `size` bytes after checking they exist; returns where they start. */
  private take(size: number): number {
    const start = this.offset;
    if (size > this.end - start) {
      throw new ProtocolDecodeError(`need ${size} bytes at offset ${start}, ${this.end - start} left`);
    }
    this.offset = start + size;
    return start;
  }

  skip(size: number): void {
    if (size < 0) throw new ProtocolDecodeError(`negative skip ${size}`);
    this.take(size);
  }

  readInt8(): number {
    return this.buf.readInt8(this.take(1));
  }

  readBool(): boolean {
    return this.buf[this.take(1)] !== 0;
  }

  // Integer reads combine bytes directly: take() has already checked bounds, so Buffer.readInt32BE's
  // own checks would be paid twice on every field.
  readInt16(): number {
    const p = this.take(2);
    const buf = this.buf;
    return (((buf[p] << 8) | buf[p + 1]) << 16) >> 16;
  }

  readUInt16(): number {
    const p = this.take(2);
    const buf = this.buf;
    return (buf[p] << 8) | buf[p + 1];
  }

  readInt32(): number {
    const p = this.take(4);
    const buf = this.buf;
    return (buf[p] << 24) | (buf[p + 1] << 16) | (buf[p + 2] << 8) | buf[p + 3];
  }

  readUInt32(): number {
    return this.readInt32() >>> 0;
  }

  readInt64(): bigint {
    return this.buf.readBigInt64BE(this.take(8));
  }

  readFloat64(): number {
    return this.buf.readDoubleBE(this.take(8));
  }

  readUVarint(): number {
    const buf = this.buf;
    if (this.offset < this.end && buf[this.offset] < 0x80) return buf[this.offset++];
    let value = 0;
    let shift = 0;
    for (let i = 0; i < uvarintBytesMax; i++) {
      if (this.offset >= this.end) throw new ProtocolDecodeError('truncated varint');
      const b = buf[this.offset++];
      value += (b & 0x7f) * 2 ** shift;
      if ((b & 0x80) === 0) {
        if (value > 0xffffffff) throw new ProtocolDecodeError('varint exceeds 32 bits');
        return value;
      }
      shift += 7;
    }
    throw new ProtocolDecodeError(`varint longer than ${uvarintBytesMax} bytes`);
  }

  /** Zig-zag signed 32-bit varint (record format v2 fields). */
  readVarint(): number {
    const raw = this.readUVarint();
    return (raw >>> 1) ^ -(raw & 1);
  }

  readUVarlong(): bigint {
    const buf = this.buf;
    let value = 0n;
    let shift = 0n;
    for (let i = 0; i < varlongBytesMax; i++) {
      if (this.offset >= this.end) throw new ProtocolDecodeError('truncated varlong');
      const b = buf[this.offset++];
      value |= BigInt(b & 0x7f) << shift;
      if ((b & 0x80) === 0) {
        if (value > 0xffffffffffffffffn) throw new ProtocolDecodeError('varlong exceeds 64 bits');
        return value;
      }
      shift += 7n;
    }
    throw new ProtocolDecodeError(`varlong longer than ${varlongBytesMax} bytes`);
  }

  /** Zig-zag signed 64-bit varlong. */
  readVarlong(): bigint {
    const raw = this.readUVarlong();
    return BigInt.asIntN(64, (raw >> 1n) ^ -(raw & 1n));
  }

  /** 16 bytes rendered as canonical lowercase 8-4-4-4-12 hex. */
  readUuid(): string {
    const start = this.take(16);
    const buf = this.buf;
    let s = '';
    for (let i = 0; i < 16; i++) {
      if (i === 4 || i === 6 || i === 8 || i === 10) s += '-';
      const b = buf[start + i];
      s += hexDigits[b >> 4] + hexDigits[b & 15];
    }
    return s;
  }

  /** int16 length; -1 is null. */
  readNullableString(): string | null {
    const length = this.readInt16();
    if (length === -1) return null;
    return this.utf8(this.checkLength(length));
  }

  readString(): string {
    const s = this.readNullableString();
    if (s === null) throw new ProtocolDecodeError('non-nullable string was null');
    return s;
  }

  /** Unsigned varint of length + 1; 0 is null (KIP-482). */
  readCompactNullableString(): string | null {
    const length = this.readUVarint() - 1;
    if (length === -1) return null;
    // Kafka's generated readers refuse compact strings longer than a classic one could be.
    if (length > stringBytesMax) throw new ProtocolDecodeError(`string length ${length} exceeds ${stringBytesMax}`);
    return this.utf8(this.checkLength(length));
  }

  readCompactString(): string {
    const s = this.readCompactNullableString();
    if (s === null) throw new ProtocolDecodeError('non-nullable compact string was null');
    return s;
  }

  /** int32 length; -1 is null. A copy: callers may keep it past the frame's lifetime. */
  readNullableBytes(): Buffer | null {
    const view = this.readNullableBytesView();
    return view === null ? null : Buffer.from(view);
  }

  readBytes(): Buffer {
    const b = this.readNullableBytes();
    if (b === null) throw new ProtocolDecodeError('non-nullable bytes were null');
    return b;
  }

  readCompactNullableBytes(): Buffer | null {
    const view = this.readCompactNullableBytesView();
    return view === null ? null : Buffer.from(view);
  }

  readCompactBytes(): Buffer {
    const b = this.readCompactNullableBytes();
    if (b === null) throw new ProtocolDecodeError('non-nullable compact bytes were null');
    return b;
  }

  /** int32 length; -1 is null. A subarray of the frame: never copied (records, zeroCopy fields). */
  readNullableBytesView(): Buffer | null {
    const length = this.readInt32();
    if (length === -1) return null;
    const start = this.take(this.checkLength(length));
    return this.buf.subarray(start, start + length);
  }

  readCompactNullableBytesView(): Buffer | null {
    const length = this.readUVarint() - 1;
    if (length === -1) return null;
    const start = this.take(this.checkLength(length));
    return this.buf.subarray(start, start + length);
  }

  /** Records (message sets) are nullable bytes on the wire; the view shares the frame's memory. */
  readRecords(): Buffer | null {
    return this.readNullableBytesView();
  }

  readCompactRecords(): Buffer | null {
    return this.readCompactNullableBytesView();
  }

  /**
   * int32 array count; -1 is null. Each element takes at least `elementBytesMin` bytes (at least 1 is
   * assumed), so a count the rest of the frame cannot hold is rejected before anything is allocated.
   */
  readArrayLength(elementBytesMin: number): number {
    const count = this.readInt32();
    if (count === -1) return -1;
    return this.checkCount(count, elementBytesMin);
  }

  /** Unsigned varint of count + 1; 0 is null, returned as -1. */
  readCompactArrayLength(elementBytesMin: number): number {
    const count = this.readUVarint() - 1;
    if (count === -1) return -1;
    return this.checkCount(count, elementBytesMin);
  }

  /** Number of tagged fields that follow; each takes at least 2 bytes (tag and size varints). */
  readTaggedFieldCount(): number {
    return this.checkCount(this.readUVarint(), 2);
  }

  /** Skips a flexible struct's tagged-field section wholesale (KIP-482: unknown tags are ignored). */
  skipTaggedFields(): void {
    const count = this.readTaggedFieldCount();
    for (let i = 0; i < count; i++) {
      this.readUVarint();
      this.skip(this.readUVarint());
    }
  }

  /** Where a known tagged field of `size` bytes must end; checked by endTaggedField. */
  taggedFieldEnd(size: number): number {
    return this.offset + this.checkLength(size);
  }

  endTaggedField(end: number): void {
    if (this.offset !== end) {
      throw new ProtocolDecodeError(`tagged field ended at ${this.offset}, its size said ${end}`);
    }
  }

  private checkLength(length: number): number {
    if (length < 0) throw new ProtocolDecodeError(`negative length ${length}`);
    if (length > this.end - this.offset) {
      throw new ProtocolDecodeError(`length ${length} exceeds the ${this.end - this.offset} bytes left`);
    }
    return length;
  }

  private checkCount(count: number, elementBytesMin: number): number {
    if (count < 0) throw new ProtocolDecodeError(`negative array count ${count}`);
    if (count * Math.max(1, elementBytesMin) > this.end - this.offset) {
      throw new ProtocolDecodeError(`array count ${count} cannot fit in the ${this.end - this.offset} bytes left`);
    }
    return count;
  }

  /** ASCII (the common case: topic names, client ids) avoids the TextDecoder call. */
  private utf8(length: number): string {
    const start = this.take(length);
    const end = start + length;
    const buf = this.buf;
    for (let i = start; i < end; i++) {
      if (buf[i] >= 0x80) return decodeUtf8(buf.subarray(start, end));
    }
    return buf.toString('latin1', start, end);
  }
}

function decodeUtf8(bytes: Buffer): string {
  try {
    return utf8Decoder.decode(bytes);
  } catch {
    throw new ProtocolDecodeError('invalid UTF-8 in string');
  }
}
