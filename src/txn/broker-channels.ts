/**
 * Requests from the transaction coordinator side of this broker to other brokers over the inter-broker
 * listener: WriteTxnMarkers from the coordinator to partition leaders (marker-channel.ts) and, from the
 * produce path, AddPartitionsToTxn verify_only to another node's coordinator (KIP-890 part 1). Kafka's
 * TransactionMarkerChannelManager and AddPartitionsToTxnManager are InterBrokerSendThreads over a
 * NetworkClient; here each destination broker has one BrokerConnection (one request in flight, as the
 * connection allows) and a bounded FIFO of requests waiting for it. A failed request (connect, timeout,
 * peer gone) rejects, closes the connection, and the next request reconnects; the callers retry.
 * Endpoints come from the metadata image, so a broker that moved is reached at its new address.
 */
import type { Logger } from 'pino';
import { BrokerConnection, BrokerConnectionError } from '../replication/broker-connection.js';
import type { RequestTypes, ResponseTypes } from '../protocol/generated/index.js';

/** Requests waiting for one destination broker (beyond it: rejected, the caller retries later). */
export const BROKER_CHANNEL_QUEUE_MAX = 1_000;
/** Largest response accepted: WriteTxnMarkers / AddPartitionsToTxn answers are a few bytes per partition. */
const RESPONSE_FRAME_BYTES_MAX = 16 * 1024 * 1024;

export interface BrokerChannelsOptions {
  readonly nodeId: number;
  /** The broker's inter-broker endpoint, undefined when the metadata does not know it (any more). */
  readonly endpoint: (brokerId: number) => { host: string; port: number } | undefined;
  readonly connectTimeoutMs: number;
  readonly logger?: Logger;
}

interface Waiting {
  readonly run: (connection: BrokerConnection) => Promise<void>;
  readonly reject: (err: Error) => void;
}

class BrokerChannel {
  private connection: BrokerConnection | undefined;
  private readonly queue: Waiting[] = [];
  private draining = false;
  private closed = false;

  constructor(private readonly brokerId: number, private readonly options: BrokerChannelsOptions) {}

  send<K extends keyof RequestTypes & keyof ResponseTypes>(apiKey: K, version: number, body: RequestTypes[K], timeoutMs: number): Promise<ResponseTypes[K]> {
    if (this.closed) return Promise.reject(new BrokerConnectionError('closed'));
    if (this.queue.length >= BROKER_CHANNEL_QUEUE_MAX) {
      return Promise.reject(new BrokerConnectionError(`${BROKER_CHANNEL_QUEUE_MAX} requests already wait for broker ${this.brokerId}`));
    }
    return new Promise<ResponseTypes[K]>((resolve, reject) => {
      this.queue.push({
        run: async (connection) => resolve(await connection.send(apiKey, version, body, timeoutMs)),
        reject,
      });
      void this.drain();
    });
  }

  private async drain(): Promise<void> {
    if (this.draining) return;
    this.draining = true;
    try {
      for (let next = this.queue.shift(); next !== undefined; next = this.queue.shift()) {
        try {
          await next.run(await this.connect());
        } catch (err) {
          this.connection?.close();
          this.connection = undefined;
          next.reject(err instanceof Error ? err : new BrokerConnectionError(String(err)));
        }
      }
    } finally {
      this.draining = false;
    }
  }

  private async connect(): Promise<BrokerConnection> {
    if (this.closed) throw new BrokerConnectionError('closed');
    if (this.connection?.isOpen === true) return this.connection;
    const endpoint = this.options.endpoint(this.brokerId);
    if (endpoint === undefined) throw new BrokerConnectionError(`no endpoint for broker ${this.brokerId}`);
    this.connection = await BrokerConnection.connect({
      host: endpoint.host, port: endpoint.port, clientId: `broker-${this.options.nodeId}-txn-${this.brokerId}`,
      responseFrameBytesMax: RESPONSE_FRAME_BYTES_MAX, connectTimeoutMs: this.options.connectTimeoutMs,
    });
    if (this.closed) this.connection.close();
    return this.connection;
  }

  close(): void {
    this.closed = true;
    this.connection?.close();
    for (const waiting of this.queue.splice(0)) waiting.reject(new BrokerConnectionError('closed'));
  }
}

/** One channel per destination broker, created on first use. */
export class BrokerChannels {
  private readonly channels = new Map<number, BrokerChannel>();
  private closed = false;

  constructor(private readonly options: BrokerChannelsOptions) {}

  send<K extends keyof RequestTypes & keyof ResponseTypes>(brokerId: number, apiKey: K, version: number, body: RequestTypes[K], timeoutMs: number): Promise<ResponseTypes[K]> {
    if (this.closed) return Promise.reject(new BrokerConnectionError('closed'));
    let channel = this.channels.get(brokerId);
    if (channel === undefined) this.channels.set(brokerId, (channel = new BrokerChannel(brokerId, this.options)));
    return channel.send(apiKey, version, body, timeoutMs);
  }

  close(): void {
    this.closed = true;
    for (const channel of this.channels.values()) channel.close();
    this.channels.clear();
  }
}
