/**
 * One client connection: framing, in-order responses, corked writes, backpressure and idle close.
 *
 * Requests are handed to the frame handler in arrival order. Each request takes a slot in a
 * per-connection response queue at arrival; a handler may finish out of order, but responses leave in
 * slot order (Kafka clients match responses to requests by order as much as by correlation id). A
 * request that yields no response (Produce with acks=0) keeps its slot until it finishes and is then
 * skipped, so it never lets a later response overtake an earlier one.
 *
 * A bad frame (size out of bounds) or a failing handler ends the connection the way Kafka's does, where
 * a connection is muted until its previous response is sent: answers to the requests before the bad
 * one still go out, nothing after it is read or answered, then the socket is closed.
 *
 * Responses are written in one corked batch per connection per event-loop turn (DESIGN.md 2: one
 * writev instead of a write per small response). Reading stops while the connection holds too many
 * unanswered requests or too many queued bytes, and resumes below the bounds (STYLE.md 8).
 */
import type { Socket } from 'node:net';
import { InvariantError } from '../common/assert.js';
import { FrameDecoder } from './frame-decoder.js';

/** What a frame handler may know about the connection a frame came from. */
export interface ConnectionInfo {
  readonly id: number;
  readonly remoteAddress: string;
  readonly remotePort: number;
  readonly localPort: number;
}

/**
 * Handles one request frame (size prefix removed). Returns the response as chunks that form a complete
 * frame INCLUDING its 4-byte size prefix (the protocol Writer patches it in), or null for no response.
 * Throwing or rejecting closes this connection only.
 */
export type FrameHandler = (
  connection: ConnectionInfo,
  frame: Buffer,
) => Promise<Buffer[] | null> | Buffer[] | null;

export interface ConnectionLimits {
  /** `socket.request.max.bytes`: largest request frame accepted. */
  readonly socketRequestMaxBytes: number;
  /** Unanswered requests after which reading pauses (Kafka's `queued.max.requests`, per connection). */
  readonly queuedMaxRequests: number;
  /** Bytes of unanswered requests plus unsent responses after which reading pauses. */
  readonly queuedMaxBytes: number;
  /** `connections.max.idle.ms`: close after this long without reads or writes and nothing in flight. */
  readonly connectionsMaxIdleMs: number;
}

/** Why a connection was closed by the broker side; undefined when the peer went away. */
export type CloseReason = Error | undefined;

export class ConnectionClosedError extends Error {
  override name = 'ConnectionClosedError';
}

interface ResponseSlot {
  done: boolean;
  /** Dropped by a failure of an earlier request: its result is discarded. */
  dropped: boolean;
  chunks: Buffer[] | null;
  /** Bytes charged to `queuedBytes` for this slot: the request until done, then the response. */
  chargedBytes: number;
}

export class Connection implements ConnectionInfo {
  readonly remoteAddress: string;
  readonly remotePort: number;
  readonly localPort: number;
  private readonly decoder: FrameDecoder;
  private slots: ResponseSlot[] = [];
  private head = 0;
  private queuedBytes = 0;
  private readPaused = false;
  private flushScheduled = false;
  /** Graceful close or failure: no further frames are dispatched. */
  private draining = false;
  /** The peer shut down its sending side; the server is allowHalfOpen, so answers can still go out. */
  private peerEnded = false;
  /** The decoder holds no complete frame (set when next() returned null, cleared by new data). */
  private decoderExhausted = true;
  /** Set when a bad request ends the connection: closed with this reason once earlier answers are out. */
  private failure: Error | null = null;
  private ending = false;
  private closed = false;
  private readonly closedPromise: Promise<void>;
  private resolveClosed!: () => void;

  constructor(
    readonly id: number,
    private readonly socket: Socket,
    private readonly handler: FrameHandler,
    private readonly limits: ConnectionLimits,
    private readonly onClose: (connection: Connection, reason: CloseReason) => void,
  ) {
    this.remoteAddress = socket.remoteAddress ?? '';
    this.remotePort = socket.remotePort ?? -1;
    this.localPort = socket.localPort ?? -1;
    this.decoder = new FrameDecoder(limits.socketRequestMaxBytes);
    this.closedPromise = new Promise((resolve) => { this.resolveClosed = resolve; });
  }

  /** Unanswered requests (including ones whose response waits for an earlier one). */
  get inFlightRequests(): number {
    return this.slots.length - this.head;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  start(): void {
    const socket = this.socket;
    socket.setNoDelay(true);
    socket.setTimeout(this.limits.connectionsMaxIdleMs);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('timeout', () => this.onIdle());
    socket.on('drain', () => this.maybeResume());
    socket.on('end', () => this.onPeerEnd());
    socket.on('error', () => this.close(undefined));
    socket.on('close', () => this.close(undefined));
  }

  /** Closes now; unsent responses are dropped. */
  close(reason: CloseReason): void {
    if (this.closed) return;
    this.closed = true;
    this.slots = [];
    this.head = 0;
    this.queuedBytes = 0;
    this.socket.destroy();
    this.resolveClosed();
    this.onClose(this, reason);
  }

  /**
   * Graceful close: read no more requests, answer those already read, then end the socket.
   * Resolves once the socket is closed.
   */
  drain(): Promise<void> {
    if (!this.closed && !this.draining) {
      this.draining = true;
      this.pauseReading();
      this.finishIfDone();
    }
    return this.closedPromise;
  }

  /**
   * Ends the connection because of `reason`: requests before `failedSlot` (all, when it is absent) are
   * still answered; the failed one and everything after it are dropped.
   */
  private fail(reason: Error, failedSlot?: ResponseSlot): void {
    if (this.closed || this.failure !== null) return;
    this.failure = reason;
    const at = failedSlot === undefined ? -1 : this.slots.indexOf(failedSlot, this.head);
    if (at >= 0) {
      for (const slot of this.slots.slice(at)) {
        slot.dropped = true;
        this.queuedBytes -= slot.chargedBytes;
      }
      this.slots.length = at;
    }
    this.draining = true;
    this.pauseReading();
    this.finishIfDone();
  }

  /**
   * A client that shuts down its sending side still gets the answers to every complete request it
   * sent (including ones still buffered behind backpressure), then the connection ends.
   */
  private onPeerEnd(): void {
    this.peerEnded = true;
    this.finishIfDone();
  }

  private onData(chunk: Buffer): void {
    if (this.closed || this.draining) return;
    this.decoder.push(chunk);
    this.decoderExhausted = false;
    this.processFrames();
  }

  private onIdle(): void {
    if (this.inFlightRequests > 0) return;
    this.close(new ConnectionClosedError(`idle for ${this.limits.connectionsMaxIdleMs} ms`));
  }

  private processFrames(): void {
    for (;;) {
      if (this.closed || this.draining) return;
      if (this.overLimit()) {
        this.pauseReading();
        return;
      }
      let frame: Buffer | null;
      try {
        frame = this.decoder.next();
      } catch (error) {
        this.fail(asError(error));
        return;
      }
      if (frame === null) {
        this.decoderExhausted = true;
        this.finishIfDone();
        return;
      }
      this.dispatch(frame);
    }
  }

  private dispatch(frame: Buffer): void {
    const slot: ResponseSlot = { done: false, dropped: false, chunks: null, chargedBytes: frame.length };
    this.slots.push(slot);
    this.queuedBytes += frame.length;
    let result: Promise<Buffer[] | null> | Buffer[] | null;
    try {
      result = this.handler(this, frame);
    } catch (error) {
      this.fail(asError(error), slot);
      return;
    }
    if (result instanceof Promise) {
      result.then(
        (chunks) => this.complete(slot, chunks),
        (error: unknown) => this.fail(asError(error), slot),
      );
    } else {
      this.complete(slot, result);
    }
  }

  private complete(slot: ResponseSlot, chunks: Buffer[] | null): void {
    if (this.closed || slot.dropped) return;
    const responseBytes = chunks === null ? 0 : byteLength(chunks);
    if (chunks !== null && !isWholeFrame(chunks, responseBytes)) {
      // A handler bug, not bad input: this connection ends and the reason is logged as an error.
      this.fail(new InvariantError(`response size prefix does not match its ${responseBytes} bytes`), slot);
      return;
    }
    this.queuedBytes += responseBytes - slot.chargedBytes;
    slot.chargedBytes = responseBytes;
    slot.chunks = chunks;
    slot.done = true;
    this.scheduleFlush();
  }

  private scheduleFlush(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    setImmediate(() => this.flush());
  }

  /** Writes every finished response at the head of the queue as one corked batch. */
  private flush(): void {
    this.flushScheduled = false;
    if (this.closed) return;
    const socket = this.socket;
    socket.cork();
    for (let slot = this.slots[this.head]; slot !== undefined && slot.done; slot = this.slots[this.head]) {
      if (slot.chunks !== null) for (const chunk of slot.chunks) socket.write(chunk);
      this.queuedBytes -= slot.chargedBytes;
      this.head++;
    }
    socket.uncork();
    this.compactSlots();
    this.maybeResume();
    this.finishIfDone();
  }

  private compactSlots(): void {
    if (this.head === this.slots.length) {
      this.slots = [];
      this.head = 0;
    } else if (this.head > 1024 && this.head * 2 > this.slots.length) {
      this.slots = this.slots.slice(this.head);
      this.head = 0;
    }
  }

  private overLimit(): boolean {
    return (
      this.inFlightRequests >= this.limits.queuedMaxRequests ||
      this.queuedBytes + this.socket.writableLength >= this.limits.queuedMaxBytes
    );
  }

  private pauseReading(): void {
    if (this.readPaused) return;
    this.readPaused = true;
    this.socket.pause();
  }

  private maybeResume(): void {
    if (this.closed || this.draining || !this.readPaused || this.overLimit()) return;
    this.readPaused = false;
    this.socket.resume();
    // Frames already buffered are not re-announced by a 'data' event.
    this.processFrames();
  }

  /** Ends the socket once nothing is in flight and nothing more will be read. */
  private finishIfDone(): void {
    if (this.closed || this.ending || this.inFlightRequests > 0) return;
    if (!this.draining && !(this.peerEnded && this.decoderExhausted)) return;
    this.ending = true;
    const failure = this.failure;
    if (failure !== null) {
      // end() flushes what is queued; close once it has reached the kernel rather than wait for the peer.
      this.socket.once('finish', () => this.close(failure));
      this.socket.end();
      return;
    }
    this.socket.end();
    // Keep reading (and discarding) so the peer's FIN is seen and 'close' fires.
    this.socket.resume();
  }
}

function isWholeFrame(chunks: Buffer[], totalBytes: number): boolean {
  const first = chunks[0];
  return first !== undefined && first.length >= 4 && first.readInt32BE(0) === totalBytes - 4;
}

function byteLength(chunks: Buffer[]): number {
  let total = 0;
  for (const chunk of chunks) total += chunk.length;
  return total;
}

function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}
