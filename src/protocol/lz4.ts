/**
 * LZ4 frame decoding (lz4/doc/lz4_Frame_format.md, lz4_Block_format.md) into a caller-owned, reused
 * output buffer: Kafka's lz4 codec (KIP-57) is one frame per batch. Written here rather than taken
 * from lz4-napi because the broker decompresses every lz4 batch only to walk its records: lz4-napi
 * allocates its whole output per call and measured ~2× slower than this on 16 KiB batches (npm run
 * bench:records). Checks are those of the strictest reader a consumer may use (LZ4F in librdkafka):
 * version 01, reserved bits 0, header checksum, block sizes within the declared maximum, block and
 * content checksums when flagged, matches inside the output, nothing after the frame.
 */

const MAGIC = 0x184d2204;
const BLOCK_MAX_BYTES = [0, 0, 0, 0, 64 * 1024, 256 * 1024, 1024 * 1024, 4 * 1024 * 1024];
const MIN_MATCH = 4;

/** Thrown for anything that is not a well-formed frame. */
export class Lz4FormatError extends Error {
  override name = 'Lz4FormatError';
}

/**
 * Supplies the output: called with the bytes needed in total so far; returns a buffer at least that
 * large holding the bytes already produced (growing it, bounded: it throws past the caller's limit).
 */
export type OutputGrower = (minBytes: number) => Buffer;

/** Decodes the frame `data` (exactly one frame) into grow()'s buffer; returns the decoded length. */
export function decodeLz4Frame(data: Buffer, grow: OutputGrower): { out: Buffer; length: number } {
  if (data.length < 7 || data.readUInt32LE(0) !== MAGIC) throw new Lz4FormatError('not an lz4 frame');
  const flg = data[4] as number;
  const bd = data[5] as number;
  if ((flg >> 6) !== 1 || (flg & 0x02) !== 0 || (bd & 0x8f) !== 0) throw new Lz4FormatError('bad lz4 frame descriptor');
  const blockMax = BLOCK_MAX_BYTES[(bd >> 4) & 7] as number;
  if (blockMax === 0) throw new Lz4FormatError('bad lz4 block maximum size');
  const blockChecksum = (flg & 0x10) !== 0;
  const contentChecksum = (flg & 0x04) !== 0;
  const descriptorEnd = 6 + ((flg & 0x08) !== 0 ? 8 : 0) + ((flg & 0x01) !== 0 ? 4 : 0);
  if (descriptorEnd + 1 > data.length) throw new Lz4FormatError('truncated lz4 frame descriptor');
  if (((xxh32(data, 4, descriptorEnd) >>> 8) & 0xff) !== data[descriptorEnd]) throw new Lz4FormatError('lz4 header checksum mismatch');
  let ip = descriptorEnd + 1;
  let out = grow(0);
  let op = 0;
  for (;;) {
    if (ip + 4 > data.length) throw new Lz4FormatError('truncated lz4 frame');
    const word = data.readUInt32LE(ip);
    ip += 4;
    const size = word & 0x7fffffff;
    // End mark; Kafka's KafkaLZ4BlockInputStream and LZ4F ignore the "uncompressed" bit here too.
    if (size === 0) break;
    if (size > blockMax || ip + size + (blockChecksum ? 4 : 0) > data.length) throw new Lz4FormatError('lz4 block size out of bounds');
    if (blockChecksum && xxh32(data, ip, ip + size) !== data.readUInt32LE(ip + size)) throw new Lz4FormatError('lz4 block checksum mismatch');
    if (out.length < op + blockMax) out = grow(op + blockMax);
    if ((word & 0x80000000) !== 0) {
      data.copy(out, op, ip, ip + size);
      op += size;
    } else {
      op = decodeBlock(data, ip, ip + size, out, op, op + blockMax);
    }
    ip += size + (blockChecksum ? 4 : 0);
  }
  if (contentChecksum) {
    if (ip + 4 > data.length) throw new Lz4FormatError('truncated lz4 content checksum');
    if (xxh32(out, 0, op) !== data.readUInt32LE(ip)) throw new Lz4FormatError('lz4 content checksum mismatch');
    ip += 4;
  }
  if (ip !== data.length) throw new Lz4FormatError('bytes after the lz4 frame');
  return { out, length: op };
}

/** One block: sequences of [token, literals, offset, match]; the last has literals only. */
function decodeBlock(src: Buffer, ip: number, end: number, out: Buffer, op: number, limit: number): number {
  for (;;) {
    if (ip >= end) throw new Lz4FormatError('truncated lz4 block');
    const token = src[ip++] as number;
    let literals = token >>> 4;
    if (literals === 15) {
      let b: number;
      do {
        if (ip >= end) throw new Lz4FormatError('truncated lz4 literal length');
        b = src[ip++] as number;
        literals += b;
      } while (b === 255);
    }
    if (ip + literals > end || op + literals > limit) throw new Lz4FormatError('lz4 literals out of bounds');
    if (literals < 16) {
      for (let i = 0; i < literals; i++) out[op + i] = src[ip + i] as number;
    } else {
      src.copy(out, op, ip, ip + literals);
    }
    ip += literals;
    op += literals;
    if (ip === end) return op; // the last sequence ends after its literals
    if (ip + 2 > end) throw new Lz4FormatError('truncated lz4 match offset');
    const offset = (src[ip] as number) | ((src[ip + 1] as number) << 8);
    ip += 2;
    if (offset === 0 || offset > op) throw new Lz4FormatError('lz4 match offset out of bounds');
    let length = (token & 0x0f) + MIN_MATCH;
    if (length === 15 + MIN_MATCH) {
      let b: number;
      do {
        if (ip >= end) throw new Lz4FormatError('truncated lz4 match length');
        b = src[ip++] as number;
        length += b;
      } while (b === 255);
    }
    if (op + length > limit) throw new Lz4FormatError('lz4 match out of bounds');
    let from = op - offset;
    if (length < 32 || offset < 8) {
      // Overlapping matches (offset < length) repeat the last `offset` bytes: copy forward byte by byte.
      for (let i = 0; i < length; i++) out[op + i] = out[from + i] as number;
      op += length;
    } else {
      while (length > 0) {
        const n = Math.min(offset, length);
        out.copyWithin(op, from, from + n);
        op += n;
        from += n;
        length -= n;
      }
    }
  }
}

const PRIME1 = 2654435761;
const PRIME2 = 2246822519;
const PRIME3 = 3266489917;
const PRIME4 = 668265263;
const PRIME5 = 374761393;

function rotl(x: number, r: number): number {
  return (x << r) | (x >>> (32 - r));
}

function round(acc: number, lane: number): number {
  return Math.imul(rotl((acc + Math.imul(lane, PRIME2)) | 0, 13), PRIME1);
}

const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/**
 * xxHash32 with seed 0 of buf[start, end) (the LZ4 frame checksums). franz-go's frames carry a content
 * checksum over the whole decompressed batch (pierrec/lz4's default), so the 16-byte stripes are read
 * through an Int32Array when they are 4-byte aligned (the scratch output always is): checking such
 * batches cost 0.69–0.75 CPU-s per million records with readInt32LE and 0.22–0.24 this way (npm run
 * bench:records, row "lz4 + content checksum"); the first macro bench had shown the lz4 row's cost.
 */
export function xxh32(buf: Buffer, start: number, end: number): number {
  let p = start;
  let h: number;
  if (end - start >= 16) {
    let v1 = (PRIME1 + PRIME2) | 0;
    let v2 = PRIME2 | 0;
    let v3 = 0;
    let v4 = -PRIME1 | 0;
    const stripesEnd = start + ((end - start) & ~15);
    if (LITTLE_ENDIAN && (buf.byteOffset + start) % 4 === 0) {
      const words = new Int32Array(buf.buffer, buf.byteOffset + start, (stripesEnd - start) >>> 2);
      for (let w = 0; w < words.length; w += 4) {
        v1 = round(v1, words[w] as number);
        v2 = round(v2, words[w + 1] as number);
        v3 = round(v3, words[w + 2] as number);
        v4 = round(v4, words[w + 3] as number);
      }
    } else {
      for (let q = p; q < stripesEnd; q += 16) {
        v1 = round(v1, buf.readInt32LE(q));
        v2 = round(v2, buf.readInt32LE(q + 4));
        v3 = round(v3, buf.readInt32LE(q + 8));
        v4 = round(v4, buf.readInt32LE(q + 12));
      }
    }
    p = stripesEnd;
    h = (rotl(v1, 1) + rotl(v2, 7) + rotl(v3, 12) + rotl(v4, 18)) | 0;
  } else {
    h = PRIME5 | 0;
  }
  h = (h + (end - start)) | 0;
  for (; p + 4 <= end; p += 4) h = Math.imul(rotl((h + Math.imul(buf.readInt32LE(p), PRIME3)) | 0, 17), PRIME4);
  for (; p < end; p++) h = Math.imul(rotl((h + Math.imul(buf[p] as number, PRIME5)) | 0, 11), PRIME1);
  h ^= h >>> 15;
  h = Math.imul(h, PRIME2);
  h ^= h >>> 13;
  h = Math.imul(h, PRIME3);
  h ^= h >>> 16;
  return h >>> 0;
}
