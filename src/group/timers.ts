/**
 * Deterministic timers for the IO-free coordinator (STYLE.md 1): nothing fires by itself; the core pops
 * what is due when it is told the time. One live deadline per key (rescheduling replaces it, the stale
 * heap entry is skipped when popped); ties fire in scheduling order so a seed replays exactly.
 */
import { invariant } from '../common/assert.js';

interface Entry<T> {
  deadlineMs: number;
  seq: number;
  key: string;
  task: T;
}

export class TimerQueue<T> {
  private readonly heap: Entry<T>[] = [];
  private readonly live = new Map<string, Entry<T>>();
  private seq = 0;

  get size(): number { return this.live.size; }

  schedule(key: string, deadlineMs: number, task: T): void {
    invariant(Number.isFinite(deadlineMs), `timer ${key}: deadline ${deadlineMs}`);
    const entry = { deadlineMs, seq: this.seq++, key, task };
    this.live.set(key, entry);
    this.push(entry);
  }

  cancel(key: string): void {
    this.live.delete(key);
  }

  has(key: string): boolean {
    return this.live.has(key);
  }

  deadlineOf(key: string): number | undefined {
    return this.live.get(key)?.deadlineMs;
  }

  /** Removes and returns the earliest live task due at nowMs, or undefined. */
  popDue(nowMs: number): T | undefined {
    for (;;) {
      const top = this.heap[0];
      if (top === undefined || top.deadlineMs > nowMs) return undefined;
      this.pop();
      if (this.live.get(top.key) !== top) continue;
      this.live.delete(top.key);
      return top.task;
    }
  }

  /** Earliest live deadline, for a driver that wants to sleep exactly until then. */
  nextDeadlineMs(): number | undefined {
    for (;;) {
      const top = this.heap[0];
      if (top === undefined) return undefined;
      if (this.live.get(top.key) === top) return top.deadlineMs;
      this.pop();
    }
  }

  private less(a: Entry<T>, b: Entry<T>): boolean {
    return a.deadlineMs < b.deadlineMs || (a.deadlineMs === b.deadlineMs && a.seq < b.seq);
  }

  private push(entry: Entry<T>): void {
    const h = this.heap;
    h.push(entry);
    let i = h.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.less(h[i] as Entry<T>, h[parent] as Entry<T>)) break;
      [h[i], h[parent]] = [h[parent] as Entry<T>, h[i] as Entry<T>];
      i = parent;
    }
  }

  private pop(): void {
    const h = this.heap;
    const last = h.pop() as Entry<T>;
    if (h.length === 0) return;
    h[0] = last;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < h.length && this.less(h[l] as Entry<T>, h[m] as Entry<T>)) m = l;
      if (r < h.length && this.less(h[r] as Entry<T>, h[m] as Entry<T>)) m = r;
      if (m === i) return;
      [h[i], h[m]] = [h[m] as Entry<T>, h[i] as Entry<T>];
      i = m;
    }
  }
}
