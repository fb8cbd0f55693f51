/**
 * The client half of the RPCs that share the controller listener with Raft (transport.ts: frames whose
 * first byte is RPC_REQUEST, answered on the same connection). One connection per server address,
 * opened on demand; requests carry an id and may be answered out of order; a request not answered
 * within its timeout, or on a connection that closes, fails (the caller retries, perhaps elsewhere).
 * In-flight requests per connection are bounded (STYLE.md 8).
 */
import { Socket } from 'node:net';
import { FrameDecoder, RPC_REQUEST, RPC_RESPONSE, type PeerAddress } from './transport.js';

const IN_FLIGHT_MAX = 1024;
const RESPONSE_BYTES_MAX = 64 * 1024 * 1024;

export class RpcError extends Error {
  override name = 'RpcError';
}

interface Pending {
  readonly resolve: (response: Buffer) => void;
  readonly reject: (error: Error) => void;
  readonly timer: NodeJS.Timeout;
}

class RpcConnection {
  private readonly socket: Socket;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  closed = false;

  constructor(address: PeerAddress, onClose: () => void) {
    const socket = new Socket();
    this.socket = socket;
    socket.setNoDelay(true);
    const decoder = new FrameDecoder(RESPONSE_BYTES_MAX);
    socket.on('data', (chunk: Buffer) => {
      try {
        for (const frame of decoder.push(chunk)) this.onFrame(frame);
      } catch (error) {
        socket.destroy(error as Error);
      }
    });
    socket.on('error', () => undefined);
    socket.on('close', () => {
      this.closed = true;
      for (const [id, p] of this.pending) this.settle(id, p, new RpcError('connection closed'));
      onClose();
    });
    socket.connect(address.port, address.host);
  }

  request(payload: Buffer, timeoutMs: number): Promise<Buffer> {
    if (this.closed) return Promise.reject(new RpcError('connection closed'));
    if (this.pending.size >= IN_FLIGHT_MAX) return Promise.reject(new RpcError('too many requests in flight'));
    const id = this.nextId;
    this.nextId = this.nextId >= 0x7fffffff ? 1 : this.nextId + 1;
    return new Promise<Buffer>((resolve, reject) => {
      const timer = setTimeout(() => {
        const p = this.pending.get(id);
        if (p !== undefined) this.settle(id, p, new RpcError(`no answer within ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(id, { resolve, reject, timer });
      const head = Buffer.alloc(9);
      head.writeUInt32BE(payload.length + 5, 0);
      head.writeUInt8(RPC_REQUEST, 4);
      head.writeUInt32BE(id, 5);
      this.socket.write(Buffer.concat([head, payload]));
    });
  }

  private onFrame(frame: Buffer): void {
    if (frame.length < 5 || frame[0] !== RPC_RESPONSE) throw new RpcError('unexpected frame');
    const id = frame.readUInt32BE(1);
    const p = this.pending.get(id);
    if (p === undefined) return;
    clearTimeout(p.timer);
    this.pending.delete(id);
    p.resolve(Buffer.from(frame.subarray(5)));
  }

  private settle(id: number, p: Pending, error: Error): void {
    clearTimeout(p.timer);
    this.pending.delete(id);
    p.reject(error);
  }

  close(): void {
    this.socket.destroy();
  }
}

export class RpcClient {
  private readonly connections = new Map<string, RpcConnection>();
  private closed = false;

  request(address: PeerAddress, payload: Buffer, timeoutMs: number): Promise<Buffer> {
    if (this.closed) return Promise.reject(new RpcError('client closed'));
    const key = `${address.host}:${address.port}`;
    let connection = this.connections.get(key);
    if (connection === undefined || connection.closed) {
      const created: RpcConnection = new RpcConnection(address, () => {
        if (this.connections.get(key) === created) this.connections.delete(key);
      });
      connection = created;
      this.connections.set(key, connection);
    }
    return connection.request(payload, timeoutMs);
  }

  close(): void {
    this.closed = true;
    for (const c of this.connections.values()) c.close();
    this.connections.clear();
  }
}
