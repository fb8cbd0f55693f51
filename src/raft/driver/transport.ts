/**
 * TCP transport between Raft nodes. Frames are Kafka-style: a 4-byte big-endian size, then the encoded
 * message. One outbound connection per peer, a bounded queue in front of it (Raft tolerates loss and
 * retransmits, so a full queue drops the newest message), and reconnection with capped exponential
 * backoff. Inbound connections only receive.
 */
import { createServer, Socket, type Server } from 'node:net';
import type { Message, NodeId } from '../core/types.js';
import { CodecError, decodeMessage, encodeMessage } from './codec.js';

export interface PeerAddress {
  readonly host: string;
  readonly port: number;
}

export interface TransportOptions {
  readonly nodeId: NodeId;
  /** Where to accept connections; undefined for a node with no peers (a one-voter quorum). */
  readonly listen: PeerAddress | undefined;
  readonly peers: ReadonlyMap<NodeId, PeerAddress>;
  readonly queueMessagesMax?: number;
  readonly frameBytesMax?: number;
  readonly reconnectBackoffMinMs?: number;
  readonly reconnectBackoffMaxMs?: number;
  readonly inboundConnectionsMax?: number;
  /**
   * Requests that share the controller listener with Raft (controller channel, metadata fetches by
   * observers): frames whose first byte is RPC_REQUEST. The answer goes back on the same connection.
   */
  readonly onRpc?: RpcHandler;
}

/** First byte of a frame that carries an RPC request / response rather than a Raft message. */
export const RPC_REQUEST = 0xf0;
export const RPC_RESPONSE = 0xf1;

/** `request` is the frame after its first byte and the 4-byte request id; reply at most once. */
export type RpcHandler = (request: Buffer, reply: (response: Buffer) => void) => void;

export type MessageHandler = (message: Message) => void;

/** Splits a byte stream into size-prefixed frames; a frame over the limit poisons the stream. */
export class FrameDecoder {
  private pending: Buffer[] = [];
  private pendingBytes = 0;

  constructor(private readonly frameBytesMax: number) {}

  /** Complete frames so far; partial data is kept, and only copied once a whole frame is there. */
  push(chunk: Buffer): Buffer[] {
    this.pending.push(chunk);
    this.pendingBytes += chunk.length;
    const frames: Buffer[] = [];
    for (;;) {
      const size = this.nextFrameSize();
      if (size === undefined || this.pendingBytes < 4 + size) return frames;
      const data = this.pending.length === 1 ? this.pending[0]! : Buffer.concat(this.pending, this.pendingBytes);
      frames.push(data.subarray(4, 4 + size));
      const rest = data.subarray(4 + size);
      this.pending = rest.length > 0 ? [rest] : [];
      this.pendingBytes = rest.length;
    }
  }

  private nextFrameSize(): number | undefined {
    if (this.pendingBytes < 4) return undefined;
    const first = this.pending[0]!;
    const head = first.length >= 4 ? first : Buffer.concat(this.pending, this.pendingBytes);
    if (head !== first) this.pending = [head];
    const size = head.readUInt32BE(0);
    if (size > this.frameBytesMax) throw new CodecError(`frame of ${size} bytes exceeds ${this.frameBytesMax}`);
    return size;
  }
}

export function frame(payload: Buffer): Buffer {
  const size = Buffer.alloc(4);
  size.writeUInt32BE(payload.length);
  return Buffer.concat([size, payload]);
}

type ConnectionSettings = Required<Omit<TransportOptions, 'peers' | 'listen' | 'nodeId' | 'onRpc'>>;

class PeerConnection {
  private socket: Socket | undefined = undefined;
  private connected = false;
  private queue: Buffer[] = [];
  private backoffMs: number;
  private timer: NodeJS.Timeout | undefined = undefined;
  private closed = false;
  dropped = 0;

  constructor(private readonly address: PeerAddress, private readonly options: ConnectionSettings) {
    this.backoffMs = options.reconnectBackoffMinMs;
  }

  send(data: Buffer): void {
    if (this.closed) return;
    if (this.queue.length >= this.options.queueMessagesMax) {
      this.dropped++;
      return;
    }
    this.queue.push(data);
    if (this.socket === undefined && this.timer === undefined) this.connect();
    else this.flush();
  }

  private connect(): void {
    const socket = new Socket();
    this.socket = socket;
    socket.setNoDelay(true);
    socket.on('connect', () => {
      this.connected = true;
      this.backoffMs = this.options.reconnectBackoffMinMs;
      this.flush();
    });
    socket.on('drain', () => this.flush());
    socket.on('error', () => undefined);
    socket.on('close', () => this.onClose(socket));
    socket.connect(this.address.port, this.address.host);
  }

  private onClose(socket: Socket): void {
    if (this.socket !== socket) return;
    this.socket = undefined;
    this.connected = false;
    if (this.closed) return;
    // Messages queued for a dead peer are stale by the time it is back; Raft resends what matters.
    this.queue = [];
    const delayMs = this.backoffMs;
    this.backoffMs = Math.min(this.backoffMs * 2, this.options.reconnectBackoffMaxMs);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      if (!this.closed && this.queue.length > 0) this.connect();
    }, delayMs);
  }

  private flush(): void {
    const socket = this.socket;
    if (socket === undefined || !this.connected) return;
    while (this.queue.length > 0) {
      if (!socket.write(this.queue.shift()!)) return;
    }
  }

  close(): void {
    this.closed = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.socket?.destroy();
    this.queue = [];
  }
}

export class TcpTransport {
  private server: Server | undefined = undefined;
  private readonly connections = new Map<NodeId, PeerConnection>();
  private readonly inbound = new Set<Socket>();
  private handler: MessageHandler = () => undefined;
  private readonly settings: Required<Omit<TransportOptions, 'peers' | 'listen' | 'nodeId' | 'onRpc'>>;

  constructor(private readonly options: TransportOptions) {
    this.settings = {
      queueMessagesMax: options.queueMessagesMax ?? 4096,
      frameBytesMax: options.frameBytesMax ?? 64 * 1024 * 1024,
      reconnectBackoffMinMs: options.reconnectBackoffMinMs ?? 50,
      reconnectBackoffMaxMs: options.reconnectBackoffMaxMs ?? 2000,
      inboundConnectionsMax: options.inboundConnectionsMax ?? 256,
    };
  }

  onMessage(handler: MessageHandler): void {
    this.handler = handler;
  }

  async start(): Promise<PeerAddress | undefined> {
    const listen = this.options.listen;
    if (listen === undefined) return undefined;
    const server = createServer((socket) => this.accept(socket));
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(listen.port, listen.host, () => resolve());
    });
    const address = server.address();
    if (address === null || typeof address === 'string') return listen;
    return { host: listen.host, port: address.port };
  }

  send(message: Message): void {
    const address = this.options.peers.get(message.to);
    if (address === undefined) return;
    let connection = this.connections.get(message.to);
    if (connection === undefined) {
      connection = new PeerConnection(address, this.settings);
      this.connections.set(message.to, connection);
    }
    connection.send(frame(encodeMessage(message)));
  }

  /** A peer that sends a malformed frame or a message not addressed to us is disconnected. */
  private accept(socket: Socket): void {
    if (this.inbound.size >= this.settings.inboundConnectionsMax) {
      socket.destroy();
      return;
    }
    this.inbound.add(socket);
    const decoder = new FrameDecoder(this.settings.frameBytesMax);
    socket.on('data', (chunk: Buffer) => {
      try {
        for (const payload of decoder.push(chunk)) {
          if (payload.length > 0 && payload[0] === RPC_REQUEST) {
            this.rpc(socket, payload);
            continue;
          }
          const message = decodeMessage(payload);
          if (message.to !== this.options.nodeId) throw new CodecError(`message for node ${message.to}`);
          this.handler(message);
        }
      } catch (error) {
        if (!(error instanceof CodecError)) throw error;
        socket.destroy();
      }
    });
    socket.on('error', () => undefined);
    socket.on('close', () => this.inbound.delete(socket));
  }

  private rpc(socket: Socket, payload: Buffer): void {
    const handler = this.options.onRpc;
    if (handler === undefined || payload.length < 5) throw new CodecError('unexpected rpc frame');
    const id = payload.readUInt32BE(1);
    let replied = false;
    handler(Buffer.from(payload.subarray(5)), (response) => {
      if (replied || socket.destroyed) return;
      replied = true;
      const head = Buffer.alloc(9);
      head.writeUInt32BE(response.length + 5, 0);
      head.writeUInt8(RPC_RESPONSE, 4);
      head.writeUInt32BE(id, 5);
      socket.write(Buffer.concat([head, response]));
    });
  }

  droppedMessages(): number {
    let dropped = 0;
    for (const connection of this.connections.values()) dropped += connection.dropped;
    return dropped;
  }

  async close(): Promise<void> {
    for (const connection of this.connections.values()) connection.close();
    for (const socket of this.inbound) socket.destroy();
    const server = this.server;
    if (server !== undefined) await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
