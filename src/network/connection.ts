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
 * unanswered requests or too many unsent response bytes, and resumes below the bounds (STYLE.md 8).
 *
 * Memory (DESIGN.md 7; docs/architecture.md "Memory ceiling"): every request frame is charged to the
 * broker-wide request pool from its size prefix until it is answered, and a frame's bytes are not read
 * until the pool has room for all of them (KIP-72). Every response is charged to the broker-wide
 * response pool from the moment it is built (or reserved, for Fetch) until the kernel has taken it.
 */
import type { Socket } from 'node:net';
import { InvariantError, invariant } from '../common/assert.js';
import { FrameDecoder } from './frame-decoder.js';
import type { MemoryPool } from './memory-pool.js';

/** What a frame handler may know about the connection a frame came from. */
export interface ConnectionInfo {
  readonly id: number;
  readonly remoteAddress: string;
  readonly remotePort: number;
  readonly localPort: number;
}

/**
 * The response memory of one request, for handlers whose answers can be large (Fetch): they reserve
 * before they read, so answers nobody reads cannot pile up (DESIGN.md 7).
 */
export interface ResponseMemory {
  /**
   * Waits until this request may hold between min(minBytes, wantBytes) and wantBytes of response (the
   * broker-wide `queued.max.response.bytes` and this connection's unsent bytes allow it), reserves it and
   * resolves with the bytes granted. A second call replaces the reservation. Rejects with a
   * `ConnectionClosedError` when the connection goes away while waiting. The reservation becomes the
   * response's real size when the handler returns.
   */
  reserve(wantBytes: number, minBytes: number): Promise<number>;
  /** Keeps only `bytes` of the reservation: what the request actually holds (e.g. while it is parked). */
  shrinkTo(bytes: number): void;
}

/**
 * Handles one request frame (size prefix removed). Returns the response as chunks that form a complete
 * frame INCLUDING its 4-byte size prefix (the protocol Writer patches it in), or null for no response.
 * Throwing or rejecting closes this connection only.
 */
export type FrameHandler = (
  connection: ConnectionInfo,
  frame: Buffer,
  memory?: ResponseMemory,
) => Promise<Buffer[] | null> | Buffer[] | null;

export interface ConnectionLimits {
  /** `socket.request.max.bytes`: largest request frame accepted. */
  readonly socketRequestMaxBytes: number;
  /** Unanswered requests after which reading pauses (Kafka's `queued.max.requests`, per connection). */
  readonly queuedMaxRequests: number;
  /** `queued.max.response.bytes.per.connection`: unsent response bytes after which reading pauses. */
  readonly queuedMaxResponseBytesPerConnection: number;
  /** `connections.max.idle.ms`: close after this long without reads or writes and nothing in flight. */
  readonly connectionsMaxIdleMs: number;
}

/** The broker-wide budgets every connection draws from (server.ts owns them). */
export interface ConnectionMemory {
  /** `queued.max.request.bytes`: request frames from their size prefix until they are answered. */
  readonly requests: MemoryPool;
  /** `queued.max.response.bytes`: responses reserved, built, or written but not yet taken by the kernel. */
  readonly responses: MemoryPool;
  readonly nowMs: () => number;
}

/** Why a connection was closed by the broker side; undefined when the peer went away. */
export type CloseReason = Error | undefined;

export class ConnectionClosedError extends Error {
  override name = 'ConnectionClosedError';
}

/** Closed to give memory it held without progress to connections waiting for it. */
export class MemoryStallError extends ConnectionClosedError {
  override name = 'MemoryStallError';
}

/** tryReserve outcomes other than a grant. */
const WAIT_FOR_EARLIER = -1;
const WAIT_FOR_PEER = -2;
const WAIT_FOR_POOL = -3;
/** retryReserve of a slot that no longer waits. */
const GRANTED_ALREADY = 0;

class ResponseSlot implements ResponseMemory {
  done = false;
  /** Dropped by a failure of an earlier request, or the connection closed: its result is discarded. */
  dropped = false;
  chunks: Buffer[] | null = null;
  /** Charged to the request pool until the request is answered. */
  requestBytes: number;
  /** Response bytes reserved in the response pool while the handler runs. */
  reservedBytes = 0;
  /** The response's size once done, charged to the response pool until written to the kernel. */
  responseBytes = 0;
  /** The handler has returned or thrown, or its promise has settled. */
  private handlerSettled = false;
  /** The handler reserves response memory (a Fetch): later reservations on this connection wait for it. */
  reserves = false;
  /** A reserve() that could not be granted yet (the connection retries it in request order). */
  private waiting: { want: number; need: number; resolve: (granted: number) => void; reject: (error: Error) => void } | null = null;

  constructor(private readonly connection: Connection, requestBytes: number) {
    this.requestBytes = requestBytes;
  }

  reserve(wantBytes: number, minBytes: number): Promise<number> {
    invariant(!this.done && this.waiting === null, 'ResponseMemory.reserve: one reservation at a time, before the answer');
    this.reserves = true;
    const want = Math.max(0, Math.floor(wantBytes));
    const need = Math.min(want, Math.max(0, Math.floor(minBytes)));
    const granted = this.tryReserve(want, need);
    if (granted >= 0) return Promise.resolve(granted);
    return new Promise((resolve, reject) => {
      this.waiting = { want, need, resolve, reject };
      this.connection.enqueueReservation(this);
    });
  }

  /** Retries a waiting reserve(): the bytes granted (and the promise resolved), or why it must wait. */
  retryReserve(): number {
    const waiting = this.waiting;
    if (waiting === null || this.dropped) return GRANTED_ALREADY;
    const granted = this.tryReserve(waiting.want, waiting.need);
    if (granted >= 0) {
      this.waiting = null;
      waiting.resolve(granted);
    }
    return granted;
  }

  shrinkTo(bytes: number): void {
    const keep = Math.max(0, Math.floor(bytes));
    if (this.dropped || keep >= this.reservedBytes) return;
    const freed = this.reservedBytes - keep;
    this.reservedBytes = keep;
    this.connection.memory.responses.release(freed);
  }

  /**
   * Drops the slot: a waiting reserve() rejects, and what the slot holds goes back to the pools once
   * its handler has finished: until then the handler still holds the frame and whatever it is reading
   * into its reservation (a disk read of a dropped Fetch still fills its buffer).
   */
  drop(reason: Error): void {
    if (this.dropped) return;
    this.dropped = true;
    if (this.waiting !== null) {
      this.waiting.reject(reason);
      this.waiting = null;
    }
    if (this.handlerSettled) this.releaseAll();
  }

  /** The handler returned, threw, or its promise settled. */
  settle(): void {
    if (this.handlerSettled) return;
    this.handlerSettled = true;
    if (this.dropped) this.releaseAll();
  }

  private releaseAll(): void {
    const { requests, responses } = this.connection.memory;
    requests.release(this.requestBytes);
    this.requestBytes = 0;
    responses.release(this.reservedBytes + this.responseBytes);
    this.reservedBytes = 0;
    this.responseBytes = 0;
  }

  /**
   * The granted bytes, or why not (WAIT_FOR_EARLIER, WAIT_FOR_PEER, WAIT_FOR_POOL). The slot's own
   * reservation counts as available.
   */
  private tryReserve(want: number, need: number): number {
    if (this.dropped) throw new ConnectionClosedError('connection closed');
    // One reserving request per connection at a time, in request order (Kafka serves one request per
    // connection at a time; consumers keep one Fetch in flight per broker): a later Fetch that got memory
    // first would finish, wait behind the earlier one, and hold the memory that one waits for.
    if (this.connection.hasEarlierReserver(this)) return WAIT_FOR_EARLIER;
    // A connection whose answers are not being read gets no more built for it (they would only pile up).
    if (this.connection.socketResponseBytes >= this.connection.limits.queuedMaxResponseBytesPerConnection) return WAIT_FOR_PEER;
    const pool = this.connection.memory.responses;
    const available = pool.availableBytes + this.reservedBytes;
    const poolEmptyWithoutMe = pool.usedBytes === this.reservedBytes;
    if (available < need && !poolEmptyWithoutMe) return WAIT_FOR_POOL;
    // Under contention each waiter gets an equal share of what is free, not the first one all of it:
    // a reader that will never take its answer cannot be told apart in advance, and 55 MB grants to
    // the first few would leave everyone behind them waiting for those to be reclaimed.
    const others = pool.waiterCount;
    const share = Math.floor(available / (1 + others));
    const granted = Math.min(want, Math.max(need, share));
    const delta = granted - this.reservedBytes;
    this.reservedBytes = granted;
    if (delta > 0) pool.charge(delta);
    else pool.release(-delta);
    return granted;
  }
}

export class Connection implements ConnectionInfo {
  readonly remoteAddress: string;
  readonly remotePort: number;
  readonly localPort: number;
  private readonly decoder: FrameDecoder;
  private slots: ResponseSlot[] = [];
  private head = 0;
  /** Size of the next frame once granted by the request pool; -1 before its prefix is read or granted. */
  private frameReservedBytes = -1;
  /** Waiting for the request pool: cancels the wait. */
  private requestMemoryWait: (() => void) | null = null;
  /** Waiting for the response pool to fall below its bound before reading again: cancels the wait. */
  private responseMemoryWait: (() => void) | null = null;
  /** Requests whose reserve() waits, in request order; only the first is retried. */
  private readonly pendingReservers: ResponseSlot[] = [];
  /** The first pending reservation waits for the response pool: cancels that wait. */
  private reservationPoolWait: (() => void) | null = null;
  private requestWaitStartMs = 0;
  private responseWaitStartMs = 0;
  /** Responses built (in order or not) and not yet taken by the kernel. */
  private unsent = 0;
  /** The part of `unsent` already written to the socket: waiting only for the peer to read. */
  private inSocket = 0;
  private lastReadMs: number;
  private lastWriteMs: number;
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
    readonly limits: ConnectionLimits,
    readonly memory: ConnectionMemory,
    private readonly onClose: (connection: Connection, reason: CloseReason) => void,
    /** Told when this connection starts waiting for broker-wide memory (the server may reclaim some). */
    private readonly onMemoryWait: (connection: Connection) => void = () => {},
  ) {
    this.remoteAddress = socket.remoteAddress ?? '';
    this.remotePort = socket.remotePort ?? -1;
    this.localPort = socket.localPort ?? -1;
    this.decoder = new FrameDecoder(limits.socketRequestMaxBytes);
    this.lastReadMs = memory.nowMs();
    this.lastWriteMs = this.lastReadMs;
    this.closedPromise = new Promise((resolve) => { this.resolveClosed = resolve; });
  }

  /** Unanswered requests (including ones whose response waits for an earlier one). */
  get inFlightRequests(): number {
    return this.slots.length - this.head;
  }

  /** Response bytes built and not yet taken by the kernel. */
  get unsentResponseBytes(): number {
    return this.unsent;
  }

  /**
   * Response bytes written to the socket and not yet taken by the kernel: they wait only for the peer.
   * (Answers still queued behind an unfinished earlier request are not the peer's doing, and a request
   * that waited for them would wait for itself.)
   */
  get socketResponseBytes(): number {
    return this.inSocket;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** Since when this connection waits for the request pool (a frame's bytes), or Infinity. */
  requestMemoryWaitSinceMs(): number {
    return !this.closed && this.requestMemoryWait !== null ? this.requestWaitStartMs : Infinity;
  }

  /** Since when this connection waits for the response pool (room for an answer), or Infinity. */
  responseMemoryWaitSinceMs(): number {
    return !this.closed && this.reservationPoolWait !== null ? this.responseWaitStartMs : Infinity;
  }

  /**
   * Since when the peer has kept this connection's request memory from being freed, or Infinity: a partly
   * read frame whose bytes stopped coming while this side was reading.
   */
  requestStalledSinceMs(): number {
    if (this.closed || this.readPaused) return Infinity;
    const partialFrame = this.frameReservedBytes > 0 && this.decoder.bufferedByteCount < this.frameReservedBytes;
    return partialFrame ? this.lastReadMs : Infinity;
  }

  /**
   * Since when the peer has kept this connection's response memory from being freed, or Infinity:
   * answers written to the socket that the peer has not taken since the kernel last took some. (Memory
   * held by work in progress, or by answers queued behind an unfinished request, is this side's doing.)
   */
  responseStalledSinceMs(): number {
    return this.closed || this.inSocket === 0 ? Infinity : this.lastWriteMs;
  }

  /** Bytes of broker-wide memory this connection holds (request frames, reservations, unsent answers). */
  heldBytes(): number {
    let held = Math.max(0, this.frameReservedBytes) + this.unsent;
    for (let i = this.head; i < this.slots.length; i++) {
      const slot = this.slots[i]!;
      if (!slot.done) held += slot.requestBytes + slot.reservedBytes;
    }
    return held;
  }

  /**
   * Starts watching the socket. `held`: read nothing until `release()` (the broker is still starting);
   * the peer's requests wait in the kernel's buffers, as they do at a Kafka broker whose acceptors have
   * not started yet.
   */
  start(held = false): void {
    const socket = this.socket;
    // Paused before the 'data' listener is attached, so attaching it does not start the flow.
    if (held) this.stopReading();
    socket.setNoDelay(true);
    socket.setTimeout(this.limits.connectionsMaxIdleMs);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('timeout', () => this.onIdle());
    socket.on('drain', () => this.maybeResume());
    socket.on('end', () => this.onPeerEnd());
    socket.on('error', () => this.close(undefined));
    socket.on('close', () => this.close(undefined));
  }

  /** Starts reading a connection started held (no-op otherwise, or when backpressure keeps it paused). */
  release(): void {
    this.maybeResume();
  }

  /** Closes now; unsent responses are dropped and everything held goes back to the broker's pools. */
  close(reason: CloseReason): void {
    if (this.closed) return;
    this.closed = true;
    const closedError = reason ?? new ConnectionClosedError('connection closed');
    this.cancelMemoryWaits();
    const slots = this.slots.slice(this.head);
    this.slots = [];
    this.head = 0;
    // Done responses go back with their slots; the rest of `unsent` was written and not yet taken.
    const writtenUnsent = this.unsent - this.doneUnsentBytes(slots);
    this.unsent = 0;
    this.inSocket = 0;
    for (const slot of slots) slot.drop(closedError);
    if (this.frameReservedBytes > 0) this.memory.requests.release(this.frameReservedBytes);
    this.frameReservedBytes = -1;
    this.memory.responses.release(writtenUnsent);
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
      this.stopReading();
      this.finishIfDone();
    }
    return this.closedPromise;
  }

  /** True when a request before `slot` on this connection reserves response memory and is not answered. */
  hasEarlierReserver(slot: ResponseSlot): boolean {
    for (let i = this.head; i < this.slots.length; i++) {
      const earlier = this.slots[i]!;
      if (earlier === slot) return false;
      if (earlier.reserves && !earlier.done) return true;
    }
    return false;
  }

  /** A slot's reserve() must wait: it is retried in request order (pumpReservations). */
  enqueueReservation(slot: ResponseSlot): void {
    this.pendingReservers.push(slot);
    this.pumpReservations();
  }

  /**
   * Retries the first waiting reservation, then the next, until one must wait. At most one waiter per
   * connection sits in the response pool's queue, so a release wakes connections, not every Fetch
   * pipelined behind their first one. Returns true when nothing of this connection waits for the pool.
   */
  private pumpReservations(): boolean {
    while (this.pendingReservers.length > 0 && !this.closed) {
      const outcome = this.pendingReservers[0]!.retryReserve();
      if (outcome >= 0) {
        this.pendingReservers.shift();
        continue;
      }
      if (outcome !== WAIT_FOR_POOL) break;
      if (this.reservationPoolWait === null) {
        this.responseWaitStartMs = this.memory.nowMs();
        this.reservationPoolWait = this.memory.responses.wait(() => this.pumpReservations());
        this.onMemoryWait(this);
      }
      return false;
    }
    // Waiting for an earlier request or for the peer: retried when that request ends or the socket drains.
    this.reservationPoolWait?.();
    this.reservationPoolWait = null;
    return true;
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
      const dropped = this.slots.slice(at);
      this.slots.length = at;
      this.unsent -= this.doneUnsentBytes(dropped);
      for (const slot of dropped) slot.drop(reason);
    }
    this.draining = true;
    this.stopReading();
    this.finishIfDone();
  }

  /**
   * A client that shuts down its sending side still gets the answers to every complete request it
   * sent (including ones still buffered behind backpressure), then the connection ends.
   */
  private onPeerEnd(): void {
    this.peerEnded = true;
    this.dropUnfinishableFrame();
    this.finishIfDone();
  }

  /**
   * After the peer's end of stream the decoder holds everything it will ever get ('end' comes after the
   * last 'data', paused or not), so a frame whose bytes have not all arrived never will: stop waiting for
   * request memory for it and give back what it holds, or a half-closed peer that lied about a frame's
   * size is kept open, and its place in the pool's queue held, until the pool has room for bytes that
   * are not coming (issue #26, network fuzz). A whole frame is still read and answered.
   */
  private dropUnfinishableFrame(): void {
    let size: number;
    try {
      size = this.decoder.nextFrameSize();
    } catch {
      return; // a bad size prefix fails the connection when processFrames reaches it
    }
    if (size >= 0 && this.decoder.bufferedByteCount >= size) return;
    this.requestMemoryWait?.();
    this.requestMemoryWait = null;
    if (this.frameReservedBytes > 0) this.memory.requests.release(this.frameReservedBytes);
    this.frameReservedBytes = -1;
    this.decoderExhausted = true;
  }

  private onData(chunk: Buffer): void {
    if (this.closed || this.draining) return;
    this.lastReadMs = this.memory.nowMs();
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
        if (this.frameReservedBytes < 0 && !this.reserveNextFrame()) return;
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
      const requestBytes = this.frameReservedBytes;
      this.frameReservedBytes = -1;
      this.dispatch(frame, requestBytes);
    }
  }

  /**
   * KIP-72: the bytes of a frame are read only once the broker-wide request pool has room for the whole
   * frame; until then this connection is not read (its bytes wait in the kernel). False when the frame
   * must wait, or its size prefix has not arrived yet.
   */
  private reserveNextFrame(): boolean {
    const size = this.decoder.nextFrameSize();
    // Once the peer has ended, a frame not whole in the decoder never will be (dropUnfinishableFrame).
    if (size < 0 || (this.peerEnded && this.decoder.bufferedByteCount < size)) {
      this.decoderExhausted = true;
      this.finishIfDone();
      return false;
    }
    if (this.memory.requests.tryAllocate(size)) {
      this.frameReservedBytes = size;
      return true;
    }
    this.pauseReading();
    if (this.requestMemoryWait === null) {
      this.requestWaitStartMs = this.memory.nowMs();
      this.requestMemoryWait = this.memory.requests.wait(() => {
        if (this.closed || this.draining) return true;
        if (!this.memory.requests.tryAllocate(size)) return false;
        this.requestMemoryWait = null;
        this.frameReservedBytes = size;
        this.maybeResume();
        return true;
      });
      this.onMemoryWait(this);
    }
    return false;
  }

  private dispatch(frame: Buffer, requestBytes: number): void {
    const slot = new ResponseSlot(this, requestBytes);
    this.slots.push(slot);
    let result: Promise<Buffer[] | null> | Buffer[] | null;
    try {
      result = this.handler(this, frame, slot);
    } catch (error) {
      slot.settle();
      this.fail(asError(error), slot);
      return;
    }
    if (result instanceof Promise) {
      result.then(
        (chunks) => {
          slot.settle();
          this.complete(slot, chunks);
        },
        (error: unknown) => {
          slot.settle();
          this.fail(asError(error), slot);
        },
      );
    } else {
      slot.settle();
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
    const { requests, responses } = this.memory;
    // The response replaces the request and any reservation: charge it before releasing those, so
    // nobody woken by the release sees room the response is about to fill.
    responses.charge(responseBytes);
    slot.responseBytes = responseBytes;
    this.unsent += responseBytes;
    slot.chunks = chunks;
    slot.done = true;
    const reserved = slot.reservedBytes;
    const requestBytes = slot.requestBytes;
    slot.reservedBytes = 0;
    slot.requestBytes = 0;
    responses.release(reserved);
    requests.release(requestBytes);
    // A later Fetch of this connection may be waiting for this one to finish (hasEarlierReserver).
    if (slot.reserves) this.pumpReservations();
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
      const chunks = slot.chunks;
      const bytes = slot.responseBytes;
      // The bytes stay charged until the kernel has taken them (the write callback), not until Node
      // has queued them: a peer that does not read leaves them in this process.
      slot.responseBytes = 0;
      slot.chunks = null;
      // The peer's time to take these starts now, not at the last write it took.
      if (this.inSocket === 0) this.lastWriteMs = this.memory.nowMs();
      this.inSocket += bytes;
      if (chunks !== null) {
        const last = chunks.length - 1;
        for (let i = 0; i < last; i++) socket.write(chunks[i]!);
        socket.write(chunks[last]!, () => this.onWritten(bytes));
      }
      this.head++;
    }
    socket.uncork();
    this.compactSlots();
    this.maybeResume();
    this.finishIfDone();
  }

  private onWritten(bytes: number): void {
    if (this.closed) return;
    this.unsent -= bytes;
    this.inSocket -= bytes;
    this.lastWriteMs = this.memory.nowMs();
    this.memory.responses.release(bytes);
    if (this.pendingReservers.length > 0) this.pumpReservations();
    this.maybeResume();
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

  /**
   * Reading pauses at `queued.max.requests` unanswered requests, at
   * `queued.max.response.bytes.per.connection` unsent bytes, and, while the broker holds more than
   * `queued.max.response.bytes` of answers, on every connection that has unsent answers of its own:
   * those stop adding to the pile and resume, longest-waiting first, as it shrinks.
   */
  private overLimit(): boolean {
    return (
      this.inFlightRequests >= this.limits.queuedMaxRequests ||
      this.unsent >= this.limits.queuedMaxResponseBytesPerConnection ||
      (this.unsent > 0 && this.memory.responses.availableBytes <= 0)
    );
  }

  private pauseReading(): void {
    this.stopReading();
    if (this.responseMemoryWait === null && this.unsent > 0 && this.memory.responses.availableBytes <= 0) {
      this.responseMemoryWait = this.memory.responses.wait(() => {
        if (this.closed || this.draining) return true;
        if (this.memory.responses.availableBytes <= 0 && this.unsent > 0) return false;
        this.responseMemoryWait = null;
        this.maybeResume();
        return true;
      });
    }
  }

  private stopReading(): void {
    if (this.readPaused) return;
    this.readPaused = true;
    this.socket.pause();
  }

  private maybeResume(): void {
    if (this.closed || this.draining || !this.readPaused || this.requestMemoryWait !== null) return;
    if (this.overLimit()) {
      // Still paused; the reason may now be the broker-wide bound, which needs a wake-up of its own.
      this.pauseReading();
      return;
    }
    this.readPaused = false;
    // The peer's time to send the rest of a frame starts again now.
    this.lastReadMs = this.memory.nowMs();
    this.socket.resume();
    // Frames already buffered are not re-announced by a 'data' event.
    this.processFrames();
  }

  private cancelMemoryWaits(): void {
    this.reservationPoolWait?.();
    this.reservationPoolWait = null;
    this.pendingReservers.length = 0;
    this.requestMemoryWait?.();
    this.requestMemoryWait = null;
    this.responseMemoryWait?.();
    this.responseMemoryWait = null;
  }

  /** Bytes of done responses among `slots` still counted in `unsent` (not yet written). */
  private doneUnsentBytes(slots: readonly ResponseSlot[]): number {
    let total = 0;
    for (const slot of slots) if (slot.done) total += slot.responseBytes;
    return total;
  }

  /** Ends the socket once nothing is in flight and nothing more will be read. */
  private finishIfDone(): void {
    if (this.closed || this.ending || this.inFlightRequests > 0) return;
    if (!this.draining && !(this.peerEnded && this.decoderExhausted)) return;
    this.ending = true;
    const failure = this.failure;
    this.cancelMemoryWaits();
    if (this.frameReservedBytes > 0) this.memory.requests.release(this.frameReservedBytes);
    this.frameReservedBytes = -1;
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
