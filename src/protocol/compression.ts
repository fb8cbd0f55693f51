/**
 * Decompression of a record batch's records section (the bytes after its 61-byte header), for the
 * codecs of the attributes' low 3 bits (clients/.../record/CompressionType.java): 1 gzip, 2 snappy
 * (raw, or the xerial framing Java's snappy-java writes), 3 lz4 (frame format, KIP-57), 4 zstd.
 *
 * The broker never re-encodes: it decompresses only to check that the records parse (and, on compacted
 * topics, carry keys), then keeps the producer's bytes. Output is bounded by DECOMPRESSED_BYTES_MAX
 * before it is inflated where the format says how large it will be (snappy preamble), and while it is
 * inflated otherwise (gzip maxOutputLength, lz4 and zstd into a bounded scratch buffer), so a small
 * batch that claims to expand to gigabytes costs at most the bound.
 */
import { gunzipSync } from 'node:zlib';
import { createRequire } from 'node:module';
import { uncompressSync as snappyUncompress } from 'snappy';
import { decodeLz4Frame, Lz4FormatError } from './lz4.js';

export const COMPRESSION_NONE = 0;
export const COMPRESSION_GZIP = 1;
export const COMPRESSION_SNAPPY = 2;
export const COMPRESSION_LZ4 = 3;
export const COMPRESSION_ZSTD = 4;

/** Decompressed records of one batch the broker may look at. */
export const DECOMPRESSED_BYTES_MAX = 64 * 1024 * 1024;

/** Thrown for a payload that does not decompress (the caller maps it to a Kafka error code). */
export class DecompressionError extends Error {
  override name = 'DecompressionError';
}

interface DCtx {
  decompressStream(dstBuf: Uint8Array, srcBuf: Uint8Array): [number, number, number];
  reset(directive: number): void;
}
const zstdBinding = createRequire(import.meta.url)('zstd-napi/binding') as {
  DCtx: new () => DCtx;
  ResetDirective: { sessionOnly: number };
};
/** ZSTD_reset_session_only: abandons a frame a failed call left half-read. */
const ZSTD_RESET_SESSION_ONLY = zstdBinding.ResetDirective.sessionOnly;

/**
 * Reused across calls (one JS thread): a zstd context and a growing output buffer. The view returned
 * by decompressRecordsView is valid until the next call, which is how the record walk uses it: the
 * common case (zstd, the codec producers pick for throughput) then allocates nothing per batch.
 */
let zstdContext: DCtx | undefined;
let scratch = Buffer.allocUnsafe(256 * 1024);
/** The scratch buffer shrinks back after a large batch, so one 64 MiB bomb does not pin 64 MiB. */
const SCRATCH_KEEP_BYTES = 4 * 1024 * 1024;

/** Decompressed records, as a buffer of their own (callers may keep it). Throws DecompressionError. */
export function decompressRecords(codec: number, data: Buffer): Buffer {
  const out = decompressRecordsView(codec, data);
  return out.buffer === scratch.buffer ? Buffer.from(out) : out;
}

/**
 * Decompressed records; the result may be a view of a shared scratch buffer, valid only until the
 * next call. Throws DecompressionError.
 */
export function decompressRecordsView(codec: number, data: Buffer): Buffer {
  try {
    switch (codec) {
      case COMPRESSION_GZIP:
        return gunzipSync(data, { maxOutputLength: DECOMPRESSED_BYTES_MAX });
      case COMPRESSION_SNAPPY:
        return snappyDecompress(data);
      case COMPRESSION_LZ4:
        return lz4Decompress(data);
      case COMPRESSION_ZSTD:
        return zstdDecompress(data);
      default:
        throw new DecompressionError(`compression type ${codec} is not one Kafka defines`);
    }
  } catch (err) {
    if (err instanceof DecompressionError) throw err;
    throw new DecompressionError((err as Error).message);
  }
}

/** Java's snappy-java SnappyOutputStream writes the xerial framing; librdkafka may send raw snappy. */
const XERIAL_MAGIC = Buffer.from([0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0x00]);
const XERIAL_HEADER_BYTES = 16;

function snappyDecompress(data: Buffer): Buffer {
  if (data.length < XERIAL_HEADER_BYTES || !data.subarray(0, XERIAL_MAGIC.length).equals(XERIAL_MAGIC)) {
    return snappyBlock(data, DECOMPRESSED_BYTES_MAX);
  }
  const blocks: Buffer[] = [];
  let total = 0;
  let pos = XERIAL_HEADER_BYTES;
  while (pos < data.length) {
    if (pos + 4 > data.length) throw new DecompressionError('truncated xerial snappy block');
    const length = data.readInt32BE(pos);
    pos += 4;
    if (length < 0 || pos + length > data.length) throw new DecompressionError('truncated xerial snappy block');
    const block = snappyBlock(data.subarray(pos, pos + length), DECOMPRESSED_BYTES_MAX - total);
    blocks.push(block);
    total += block.length;
    pos += length;
  }
  return blocks.length === 1 ? blocks[0] as Buffer : Buffer.concat(blocks, total);
}

/** A raw snappy block starts with its uncompressed length (varint): checked before inflating. */
function snappyBlock(block: Buffer, budgetBytes: number): Buffer {
  let length = 0;
  let multiplier = 1;
  for (let i = 0; ; i++) {
    if (i >= 5 || i >= block.length) throw new DecompressionError('bad snappy length preamble');
    const byte = block[i] as number;
    length += (byte & 0x7f) * multiplier;
    if ((byte & 0x80) === 0) break;
    multiplier *= 128;
  }
  if (length > budgetBytes) throw new DecompressionError(`more than ${DECOMPRESSED_BYTES_MAX} bytes decompressed`);
  return snappyUncompress(block, { asBuffer: true }) as Buffer;
}

/** Decoded into the reused scratch buffer (lz4.ts): the check allocates nothing per batch. */
function lz4Decompress(data: Buffer): Buffer {
  startScratch();
  try {
    const { out, length } = decodeLz4Frame(data, growScratch);
    if (length > DECOMPRESSED_BYTES_MAX) throw new DecompressionError(`more than ${DECOMPRESSED_BYTES_MAX} bytes decompressed`);
    return out.subarray(0, length);
  } catch (err) {
    if (err instanceof Lz4FormatError) throw new DecompressionError(err.message);
    throw err;
  }
}

/** Before each use: a scratch buffer grown by one large batch goes back to its usual size. */
function startScratch(): void {
  if (scratch.length > SCRATCH_KEEP_BYTES) scratch = Buffer.allocUnsafe(SCRATCH_KEEP_BYTES);
}

/** lz4 asks for room for a whole block (up to 4 MiB) before decoding it. */
const SCRATCH_MAX_BYTES = DECOMPRESSED_BYTES_MAX + 4 * 1024 * 1024;

/** Grows the scratch buffer to hold minBytes (doubling), keeping its contents; bounded by SCRATCH_MAX_BYTES. */
function growScratch(minBytes: number): Buffer {
  if (minBytes <= scratch.length) return scratch;
  if (minBytes > SCRATCH_MAX_BYTES) throw new DecompressionError(`more than ${DECOMPRESSED_BYTES_MAX} bytes decompressed`);
  let size = scratch.length;
  while (size < minBytes) size = Math.min(size * 2, SCRATCH_MAX_BYTES);
  const grown = Buffer.allocUnsafe(size);
  scratch.copy(grown);
  scratch = grown;
  return scratch;
}

/** Streaming into the reused scratch buffer (grown by doubling, bounded): frames need not carry their size. */
function zstdDecompress(data: Buffer): Buffer {
  const context = zstdContext ??= new zstdBinding.DCtx();
  startScratch();
  let produced = 0;
  let input = data;
  let frameOpen = false;
  try {
    for (let rounds = 0; rounds < 100_000; rounds++) {
      if (produced === scratch.length) {
        if (scratch.length > DECOMPRESSED_BYTES_MAX) throw new DecompressionError(`more than ${DECOMPRESSED_BYTES_MAX} bytes decompressed`);
        const grown = Buffer.allocUnsafe(Math.min(scratch.length * 2, DECOMPRESSED_BYTES_MAX + 1));
        scratch.copy(grown, 0, 0, produced);
        scratch = grown;
      }
      const [remaining, written, consumed] = context.decompressStream(scratch.subarray(produced), input);
      produced += written;
      input = input.subarray(consumed);
      frameOpen = remaining !== 0;
      if (!frameOpen && input.length === 0) return scratch.subarray(0, produced);
      if (written === 0 && consumed === 0 && produced < scratch.length) throw new DecompressionError('truncated zstd frame');
    }
    throw new DecompressionError('zstd decompression did not finish');
  } finally {
    if (frameOpen || input.length > 0) context.reset(ZSTD_RESET_SESSION_ONLY);
  }
}
