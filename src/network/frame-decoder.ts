/**
 * Kafka's framing: every request is a 4-byte big-endian size followed by that many bytes
 * (https://kafka.apache.org/protocol#protocol_common). The decoder buffers socket chunks by reference
 * and cuts frames out of them; a frame that lies inside one chunk is a zero-copy `subarray`.
 *
 * The size is validated before anything is allocated for the frame (DESIGN.md 7): a negative size or one
 * above `socket.request.max.bytes` is a `FrameSizeError` and the caller closes the connection, as Kafka's
 * `NetworkReceive` does with `InvalidReceiveException`.
 */
import { invariant } from '../common/assert.js';

export const FRAME_SIZE_PREFIX_BYTES = 4;

export class FrameSizeError extends Error {
  override name = 'FrameSizeError';
  constructor(readonly size: number, readonly maxBytes: number) {
    super(`frame size ${size} outside [0, ${maxBytes}]`);
  }
}

export class FrameDecoder {
  private readonly chunks: Buffer[] = [];
  private bufferedBytes = 0;
  /** Size of the frame being assembled, or -1 while its prefix is incomplete. */
  private pendingSize = -1;

  constructor(private readonly maxFrameBytes: number) {}

  /** Bytes held that are not yet part of a returned frame (bounded by one frame plus one socket chunk). */
  get bufferedByteCount(): number {
    return this.bufferedBytes;
  }

  push(chunk: Buffer): void {
    if (chunk.length === 0) return;
    this.chunks.push(chunk);
    this.bufferedBytes += chunk.length;
  }

  /**
   * The size of the next frame once its prefix has arrived, else -1: what the connection must get from
   * the broker's memory pool before it reads the frame's body (KIP-72). Throws `FrameSizeError` as soon
   * as an invalid size prefix is complete.
   */
  nextFrameSize(): number {
    if (this.pendingSize < 0) {
      if (this.bufferedBytes < FRAME_SIZE_PREFIX_BYTES) return -1;
      const size = this.take(FRAME_SIZE_PREFIX_BYTES).readInt32BE(0);
      if (size < 0 || size > this.maxFrameBytes) throw new FrameSizeError(size, this.maxFrameBytes);
      this.pendingSize = size;
    }
    return this.pendingSize;
  }

  /**
   * The next complete frame (without its size prefix), or null when more bytes are needed.
   * Throws `FrameSizeError` as soon as an invalid size prefix is complete.
   */
  next(): Buffer | null {
    if (this.nextFrameSize() < 0) return null;
    if (this.bufferedBytes < this.pendingSize) return null;
    const frame = this.take(this.pendingSize);
    this.pendingSize = -1;
    return frame;
  }

  /** Removes `length` bytes from the front; copies only when they span chunks. */
  private take(length: number): Buffer {
    this.bufferedBytes -= length;
    const first = this.chunks[0];
    if (first === undefined) return Buffer.alloc(0);
    if (first.length > length) {
      this.chunks[0] = first.subarray(length);
      return first.subarray(0, length);
    }
    if (first.length === length) {
      this.chunks.shift();
      return first;
    }
    return this.gather(length);
  }

  private gather(length: number): Buffer {
    const out = Buffer.allocUnsafe(length);
    let filled = 0;
    while (filled < length) {
      const chunk = this.chunks[0];
      invariant(chunk !== undefined, 'FrameDecoder: buffered byte count out of sync');
      const used = Math.min(chunk.length, length - filled);
      chunk.copy(out, filled, 0, used);
      filled += used;
      if (used === chunk.length) this.chunks.shift();
      else this.chunks[0] = chunk.subarray(used);
    }
    return out;
  }
}
