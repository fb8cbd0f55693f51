/**
 * One client connection from this broker to another broker's listener, speaking the Kafka protocol
 * with the generated codecs (Kafka's NetworkClient as the replica fetcher uses it, reduced): one request
 * in flight at a time — the fetcher's loop is serial — a bounded response frame, a per-request timeout.
 * Any failure (connect, timeout, bad frame, peer closed) rejects the request and closes the connection;
 * the caller reconnects after its backoff.
 */
import { Socket } from 'node:net';
import { FrameDecoder } from '../network/frame-decoder.js';
import { Reader } from '../protocol/reader.js';
import { Writer } from '../protocol/writer.js';
import { decodeResponseHeader, encodeRequestHeader } from '../protocol/headers.js';
import { decodeResponse, encodeRequest, type RequestTypes, type ResponseTypes } from '../protocol/generated/index.js';

export class BrokerConnectionError extends Error {
  override name = 'BrokerConnectionError';
}

export interface BrokerConnectionOptions {
  readonly host: string;
  readonly port: number;
  readonly clientId: string;
  /** Largest response frame accepted (replica.fetch.response.max.bytes plus headroom). */
  readonly responseFrameBytesMax: number;
  readonly connectTimeoutMs: number;
}

interface InFlight {
  readonly correlationId: number;
  readonly apiKey: number;
  readonly version: number;
  resolve(frame: Buffer): void;
  reject(err: Error): void;
  timer: ReturnType<typeof setTimeout>;
}

export class BrokerConnection {
  private socket: Socket | undefined;
  private readonly decoder: FrameDecoder;
  private inFlight: InFlight | undefined;
  private nextCorrelationId = 1;
  private closedError: Error | undefined;

  private constructor(private readonly options: BrokerConnectionOptions) {
    this.decoder = new FrameDecoder(options.responseFrameBytesMax);
  }

  static connect(options: BrokerConnectionOptions): Promise<BrokerConnection> {
    const connection = new BrokerConnection(options);
    return connection.open().then(() => connection);
  }

  get isOpen(): boolean {
    return this.closedError === undefined && this.socket !== undefined;
  }

  private open(): Promise<void> {
    return new Promise((resolve, reject) => {
      const socket = new Socket();
      socket.setNoDelay(true);
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new BrokerConnectionError(`connect to ${this.options.host}:${this.options.port} timed out`));
      }, this.options.connectTimeoutMs);
      socket.once('connect', () => {
        clearTimeout(timer);
        this.socket = socket;
        resolve();
      });
      socket.once('error', (err) => {
        clearTimeout(timer);
        this.fail(new BrokerConnectionError(`connection to ${this.options.host}:${this.options.port}: ${err.message}`));
        reject(err);
      });
      socket.on('close', () => this.fail(new BrokerConnectionError(`connection to ${this.options.host}:${this.options.port} closed`)));
      socket.on('data', (chunk: Buffer) => this.onData(chunk));
      socket.connect(this.options.port, this.options.host);
    });
  }

  /** Sends one request and resolves with its decoded response; rejects on any failure or the timeout. */
  send<K extends keyof RequestTypes & keyof ResponseTypes>(apiKey: K, version: number, body: RequestTypes[K], timeoutMs: number): Promise<ResponseTypes[K]> {
    if (this.closedError !== undefined || this.socket === undefined) return Promise.reject(this.closedError ?? new BrokerConnectionError('not connected'));
    if (this.inFlight !== undefined) return Promise.reject(new BrokerConnectionError('a request is already in flight'));
    const correlationId = this.nextCorrelationId++;
    const w = new Writer();
    const size = w.reserveInt32();
    encodeRequestHeader(w, { requestApiKey: apiKey, requestApiVersion: version, correlationId, clientId: this.options.clientId });
    encodeRequest(apiKey, version, w, body);
    w.patchSizePrefix(size);
    const frame = w.finishBuffer();
    return new Promise<Buffer>((resolve, reject) => {
      const timer = setTimeout(() => this.fail(new BrokerConnectionError(`request ${apiKey} v${version} timed out after ${timeoutMs} ms`)), timeoutMs);
      this.inFlight = { correlationId, apiKey, version, resolve, reject, timer };
      (this.socket as Socket).write(frame);
    }).then((responseFrame) => {
      const r = new Reader(responseFrame);
      const header = decodeResponseHeader(r, apiKey, version);
      if (header.correlationId !== correlationId) throw new BrokerConnectionError(`correlation id ${header.correlationId}, expected ${correlationId}`);
      return decodeResponse(apiKey, version, r);
    });
  }

  private onData(chunk: Buffer): void {
    this.decoder.push(chunk);
    try {
      for (let frame = this.decoder.next(); frame !== null; frame = this.decoder.next()) {
        const inFlight = this.inFlight;
        if (inFlight === undefined) throw new BrokerConnectionError('response without a request');
        this.inFlight = undefined;
        clearTimeout(inFlight.timer);
        inFlight.resolve(frame);
      }
    } catch (err) {
      this.fail(err instanceof Error ? err : new BrokerConnectionError(String(err)));
    }
  }

  private fail(err: Error): void {
    this.closedError ??= err;
    const inFlight = this.inFlight;
    this.inFlight = undefined;
    if (inFlight !== undefined) {
      clearTimeout(inFlight.timer);
      inFlight.reject(err);
    }
    this.socket?.destroy();
  }

  close(): void {
    this.fail(new BrokerConnectionError('closed'));
  }
}
