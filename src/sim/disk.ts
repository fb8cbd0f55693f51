/**
 * A simulated disk: it holds only what a node persisted before acknowledging its Ready. A crash during
 * a write keeps nothing of it, or a torn prefix of its entries (never the hard state, which the real
 * driver writes last).
 */
import type { Entry, HardState, PersistedState, Ready, Snapshot } from '../raft/core/types.js';

export class SimDisk {
  private hardState: HardState;
  private snapshot: Snapshot;
  private entries: Entry[];
  fsyncCount = 0;

  constructor(initial: PersistedState) {
    this.hardState = initial.hardState;
    this.snapshot = initial.snapshot;
    this.entries = [...initial.entries];
  }

  get durableCommitIndex(): number { return this.hardState.commitIndex; }

  load(): PersistedState {
    return { hardState: this.hardState, snapshot: this.snapshot, entries: [...this.entries] };
  }

  lastIndex(): number {
    return this.snapshot.metadata.index + this.entries.length;
  }

  lastTerm(): number {
    const last = this.entries[this.entries.length - 1];
    return last === undefined ? this.snapshot.metadata.term : last.term;
  }

  /** Writes a whole Ready: snapshot, then entries, then hard state (the driver's order). */
  write(ready: Ready): void {
    if (ready.snapshot !== undefined) {
      this.snapshot = ready.snapshot;
      this.entries = [];
    }
    this.appendEntries(ready.entries, ready.entries.length);
    // Like the real driver: a commitIndex alone is not worth an fsync (a lower one on disk is safe).
    const hardState = ready.hardState;
    const worthWriting = hardState !== undefined && ready.mustSync;
    if (worthWriting) this.hardState = hardState;
    this.fsyncCount++;
  }

  /** A crash in the middle of a write: the snapshot file is atomic, entries may be torn. */
  writeTorn(ready: Ready, entryCount: number): void {
    if (ready.snapshot !== undefined) return;
    this.appendEntries(ready.entries, entryCount);
  }

  /** The application's own snapshot (written atomically), then the log prefix it covers is dropped. */
  saveSnapshot(snapshot: Snapshot): void {
    const index = snapshot.metadata.index;
    if (index <= this.snapshot.metadata.index) return;
    this.entries = this.entries.filter((entry) => entry.index > index);
    this.snapshot = snapshot;
  }

  private appendEntries(entries: readonly Entry[], count: number): void {
    if (entries.length === 0 || count === 0) return;
    const first = entries[0]!.index;
    const keep = Math.max(0, first - this.snapshot.metadata.index - 1);
    this.entries.length = Math.min(this.entries.length, keep);
    for (const entry of entries.slice(0, count)) {
      if (entry.index > this.snapshot.metadata.index) this.entries.push(entry);
    }
  }
}
