/** A test client speaking only Kafka's framing: sends raw bytes, collects response frames. */
import { connect, type Socket } from 'node:net';
import { once } from 'node:events';
import { FrameDecoder } from '../../src/network/frame-decoder.js';

export function sizePrefixed(body: Buffer): Buffer {
  const prefix = Buffer.alloc(4);
  prefix.writeInt32BE(body.length, 0);
  return Buffer.concat([prefix, body]);
}

export class RawClient {
  readonly frames: Buffer[] = [];
  closed = false;
  private readonly decoder = new FrameDecoder(1 << 30);
  private waiters: Array<() => void> = [];

  private constructor(readonly socket: Socket) {
    socket.on('data', (chunk: Buffer) => {
      this.decoder.push(chunk);
      for (let frame = this.decoder.next(); frame !== null; frame = this.decoder.next()) this.frames.push(frame);
      this.wake();
    });
    socket.on('error', () => {});
    socket.on('close', () => {
      this.closed = true;
      this.wake();
    });
  }

  static async connect(port: number, host = '127.0.0.1'): Promise<RawClient> {
    const socket = connect({ port, host, noDelay: true });
    await once(socket, 'connect');
    return new RawClient(socket);
  }

  write(bytes: Buffer): void {
    this.socket.write(bytes);
  }

  /** Resolves once `count` frames have arrived; rejects on close or after `timeoutMs`. */
  async waitFrames(count: number, timeoutMs = 5000): Promise<Buffer[]> {
    await this.waitFor(() => this.frames.length >= count, `${count} frames (have ${this.frames.length})`, timeoutMs);
    return this.frames.slice(0, count);
  }

  async waitClosed(timeoutMs = 5000): Promise<void> {
    await this.waitFor(() => this.closed, 'close', timeoutMs);
  }

  /** One request, one response: the next frame after the ones already received. */
  async roundTrip(body: Buffer, timeoutMs = 5000): Promise<Buffer> {
    const index = this.frames.length;
    this.write(sizePrefixed(body));
    const frames = await this.waitFrames(index + 1, timeoutMs);
    return frames[index] as Buffer;
  }

  destroy(): void {
    this.socket.destroy();
  }

  private waitFor(done: () => boolean, what: string, timeoutMs: number): Promise<void> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`timed out waiting for ${what}`));
      }, timeoutMs);
      const check = (): void => {
        if (done()) {
          cleanup();
          resolve();
        } else if (this.closed) {
          cleanup();
          reject(new Error(`connection closed while waiting for ${what}`));
        }
      };
      const cleanup = (): void => {
        clearTimeout(timer);
        this.waiters = this.waiters.filter((w) => w !== check);
      };
      this.waiters.push(check);
      check();
    });
  }

  private wake(): void {
    for (const waiter of [...this.waiters]) waiter();
  }
}
