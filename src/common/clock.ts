/**
 * Time is injected into every core (STYLE.md 1): no Date.now() inside Raft, the controller or the group
 * coordinator. The real clock lives at the edges; tests and the simulator use ManualClock.
 */
export interface Clock {
  /** Milliseconds since the epoch (wall clock: record timestamps, retention). */
  nowMs(): number;
  /** Monotonic milliseconds (timeouts, intervals). */
  monotonicMs(): number;
}

export const systemClock: Clock = {
  nowMs: () => Date.now(),
  monotonicMs: () => performance.now(),
};

export class ManualClock implements Clock {
  constructor(private timeMs = 0) {}
  nowMs(): number { return this.timeMs; }
  monotonicMs(): number { return this.timeMs; }
  advance(ms: number): void {
    if (ms < 0) throw new Error(`ManualClock.advance: negative step ${ms}`);
    this.timeMs += ms;
  }
}
