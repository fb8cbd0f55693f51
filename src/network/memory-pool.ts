/**
 * A broker-wide byte budget (KIP-72, Kafka's `SimpleMemoryPool` behind `queued.max.request.bytes`).
 *
 * It holds no memory itself: callers charge what they are about to hold (a request frame whose size
 * prefix was read, a response being built) and release it when it is gone. A caller refused memory
 * waits in FIFO order and is retried each time memory is released; a waiter may take memory ahead of an
 * earlier, larger one that still does not fit (so one huge frame does not block small requests).
 *
 * Allocation is strict (Kafka's `strict = true`): memory is granted only when it fits. Kafka's request
 * pool is non-strict (granted while any byte is free, so it overshoots by up to one request), which lets
 * a few partial 100 MB frames drive the pool negative and stall every other client; strict allocation
 * keeps the remainder usable. A request larger than the whole pool is granted only when the pool is
 * empty, so it can always make progress alone (the broker also refuses a pool smaller than
 * `socket.request.max.bytes`, as KafkaConfig does).
 */
import { invariant } from '../common/assert.js';

/** Retried when memory is released; returns true once satisfied (it is then removed from the queue). */
export type MemoryWaiter = () => boolean;

export class MemoryPool {
  private used = 0;
  /** Insertion order is arrival order. */
  private readonly waiters = new Set<MemoryWaiter>();
  private waking = false;
  private wakeAgain = false;

  constructor(readonly name: string, readonly capacityBytes: number) {
    invariant(Number.isSafeInteger(capacityBytes) && capacityBytes > 0, `${name}: capacity must be a positive integer`);
  }

  get usedBytes(): number {
    return this.used;
  }

  /** Negative after charges beyond the capacity (responses whose size was known only once built). */
  get availableBytes(): number {
    return this.capacityBytes - this.used;
  }

  get waiterCount(): number {
    return this.waiters.size;
  }

  /** Takes `bytes` when they fit (or the pool is empty); false leaves the pool unchanged. */
  tryAllocate(bytes: number): boolean {
    invariant(bytes >= 0, `${this.name}: negative allocation`);
    if (bytes > this.capacityBytes - this.used && this.used > 0) return false;
    this.used += bytes;
    return true;
  }

  /**
   * Charges bytes already held, fitting or not: a response exists before it can be measured. Callers
   * bound what they build with `tryAllocate` first, so the overshoot is only the part they could not
   * know in advance.
   */
  charge(bytes: number): void {
    invariant(bytes >= 0, `${this.name}: negative charge`);
    this.used += bytes;
  }

  release(bytes: number): void {
    if (bytes === 0) return;
    invariant(bytes > 0 && bytes <= this.used, `${this.name}: releasing ${bytes} of ${this.used} bytes in use`);
    this.used -= bytes;
    this.wake();
  }

  /** Queues `waiter` (FIFO) until it returns true; the returned function cancels it. */
  wait(waiter: MemoryWaiter): () => void {
    this.waiters.add(waiter);
    return () => { this.waiters.delete(waiter); };
  }

  private wake(): void {
    // A waiter may release memory itself (a request answered synchronously); run one pass at a time.
    if (this.waking) {
      this.wakeAgain = true;
      return;
    }
    this.waking = true;
    try {
      do {
        this.wakeAgain = false;
        for (const waiter of this.waiters) {
          if (this.used >= this.capacityBytes) break;
          if (waiter()) this.waiters.delete(waiter);
        }
      } while (this.wakeAgain && this.used < this.capacityBytes);
    } finally {
      this.waking = false;
    }
  }
}
