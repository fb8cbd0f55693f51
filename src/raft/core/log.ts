/**
 * The in-memory Raft log: a snapshot (the compaction point) followed by contiguous entries, with the
 * boundary of what is durable (stableIndex) and what is committed and applied (etcd log.go + unstable.go
 * folded into one, since metadata logs are small and compacted often).
 */
import { invariant } from '../../common/assert.js';
import { decodeConfState } from './confchange.js';
import type { ConfState, Entry, Snapshot } from './types.js';

export class RaftLog {
  private snapshotValue: Snapshot;
  private entryList: Entry[];
  /** A snapshot received from the leader that is not yet on disk. */
  private unstableSnapshotValue: Snapshot | undefined = undefined;
  stableIndex: number;
  commitIndex: number;
  appliedIndex: number;
  private confValue: ConfState;
  private confIndex: number;

  constructor(snapshot: Snapshot, entries: readonly Entry[], commitIndex: number) {
    this.snapshotValue = snapshot;
    this.entryList = [...entries];
    this.checkContiguous();
    this.stableIndex = this.lastIndex();
    this.commitIndex = Math.max(commitIndex, snapshot.metadata.index);
    invariant(this.commitIndex <= this.lastIndex(), () => `persisted commitIndex ${commitIndex} beyond lastIndex ${this.lastIndex()}`);
    this.appliedIndex = snapshot.metadata.index;
    this.confValue = snapshot.metadata.confState;
    this.confIndex = snapshot.metadata.index;
    this.recomputeConf();
  }

  get snapshot(): Snapshot { return this.snapshotValue; }
  get unstableSnapshot(): Snapshot | undefined { return this.unstableSnapshotValue; }
  /** Latest configuration in the log, committed or not: a server uses it as soon as it is appended (thesis §4.1). */
  get confState(): ConfState { return this.confValue; }
  /** Index of the entry that set confState (the snapshot index when none follows it). */
  get confStateIndex(): number { return this.confIndex; }

  firstIndex(): number { return this.snapshotValue.metadata.index + 1; }
  lastIndex(): number { return this.snapshotValue.metadata.index + this.entryList.length; }
  lastTerm(): number { return this.term(this.lastIndex()) ?? 0; }

  /** Term of the entry at index, undefined when compacted away or beyond the end. */
  term(index: number): number | undefined {
    const snapshotIndex = this.snapshotValue.metadata.index;
    if (index === snapshotIndex) return this.snapshotValue.metadata.term;
    if (index < snapshotIndex || index > this.lastIndex()) return undefined;
    return this.entryAt(index).term;
  }

  matchTerm(index: number, term: number): boolean { return this.term(index) === term; }

  entryAt(index: number): Entry {
    const entry = this.entryList[index - this.firstIndex()];
    invariant(entry !== undefined && entry.index === index, () => `no entry at ${index}`);
    return entry;
  }

  /** Entries in [low, high), which must not be compacted. */
  slice(low: number, high: number): Entry[] {
    invariant(low >= this.firstIndex() && high <= this.lastIndex() + 1, () => `slice [${low},${high}) out of range`);
    return this.entryList.slice(low - this.firstIndex(), high - this.firstIndex());
  }

  /** Election restriction (thesis §3.6.1): is (lastIndex, lastTerm) at least as up to date as ours? */
  isUpToDate(lastIndex: number, lastTerm: number): boolean {
    const ourTerm = this.lastTerm();
    return lastTerm > ourTerm || (lastTerm === ourTerm && lastIndex >= this.lastIndex());
  }

  /**
   * The follower side of AppendEntries (thesis §3.5). Returns the last index known to match the
   * leader, or undefined when prevIndex/prevTerm do not match. Only a real conflict truncates, so
   * duplicated and reordered messages never remove entries.
   */
  maybeAppend(prevIndex: number, prevTerm: number, leaderCommit: number, entries: readonly Entry[]): number | undefined {
    if (!this.matchTerm(prevIndex, prevTerm)) return undefined;
    const lastNewIndex = prevIndex + entries.length;
    const conflictIndex = this.findConflict(entries);
    if (conflictIndex !== 0) {
      invariant(conflictIndex > this.commitIndex, () => `conflict at ${conflictIndex} <= commitIndex ${this.commitIndex}`);
      this.append(entries.slice(conflictIndex - entries[0]!.index));
    }
    this.commitTo(Math.min(leaderCommit, lastNewIndex));
    return lastNewIndex;
  }

  /** First entry whose term differs from ours or that we lack; 0 when all are present. */
  private findConflict(entries: readonly Entry[]): number {
    for (const entry of entries) {
      if (!this.matchTerm(entry.index, entry.term)) return entry.index;
    }
    return 0;
  }

  /** Appends entries, truncating any suffix from entries[0].index. */
  append(entries: readonly Entry[]): void {
    if (entries.length === 0) return;
    const first = entries[0]!.index;
    invariant(first > this.snapshotValue.metadata.index && first <= this.lastIndex() + 1, () => `append at ${first} leaves a gap`);
    const truncated = first <= this.lastIndex();
    this.entryList.length = first - this.firstIndex();
    this.entryList.push(...entries);
    this.stableIndex = Math.min(this.stableIndex, first - 1);
    if (truncated && this.confIndex >= first) this.recomputeConf();
    else this.updateConf(entries);
  }

  commitTo(index: number): void {
    if (index <= this.commitIndex) return;
    invariant(index <= this.lastIndex(), () => `commitIndex ${index} beyond lastIndex ${this.lastIndex()}`);
    this.commitIndex = index;
  }

  /**
   * Largest index <= index whose term is <= term (etcd findConflictByTerm): lets the leader skip all
   * entries of a term the follower does not have in one round trip.
   */
  findConflictByTerm(index: number, term: number): number {
    let candidate = Math.min(index, this.lastIndex());
    const floor = this.snapshotValue.metadata.index;
    while (candidate > floor) {
      const candidateTerm = this.term(candidate);
      if (candidateTerm !== undefined && candidateTerm <= term) return candidate;
      candidate--;
    }
    return floor;
  }

  unstableEntries(): Entry[] {
    const from = Math.max(this.stableIndex + 1, this.firstIndex());
    return this.entryList.slice(from - this.firstIndex());
  }

  /** Marks entries up to index durable, unless the entry there was replaced after the write began. */
  stableTo(index: number, term: number): void {
    if (this.matchTerm(index, term) && index > this.stableIndex) this.stableIndex = index;
  }

  stableSnapshotTo(snapshot: Snapshot): void {
    if (this.unstableSnapshotValue === snapshot) this.unstableSnapshotValue = undefined;
  }

  /** Committed entries not yet handed to the application, bounded by applyBound. */
  nextCommittedEntries(applyBound: number): Entry[] {
    const high = Math.min(this.commitIndex, applyBound, this.lastIndex());
    if (high <= this.appliedIndex) return [];
    return this.slice(Math.max(this.appliedIndex + 1, this.firstIndex()), high + 1);
  }

  appliedTo(index: number): void {
    if (index > this.appliedIndex) this.appliedIndex = index;
  }

  /** Replaces the whole log with a snapshot from the leader (thesis §5.3, InstallSnapshot). */
  restore(snapshot: Snapshot): void {
    this.snapshotValue = snapshot;
    this.unstableSnapshotValue = snapshot;
    this.entryList = [];
    this.stableIndex = snapshot.metadata.index;
    this.commitIndex = snapshot.metadata.index;
    this.appliedIndex = snapshot.metadata.index;
    this.confValue = snapshot.metadata.confState;
    this.confIndex = snapshot.metadata.index;
  }

  /** Discards entries up to the application's snapshot (thesis §5.1); they must be applied and durable. */
  compact(index: number, data: Uint8Array): void {
    invariant(index <= this.appliedIndex && index <= this.stableIndex, () => `compact(${index}) beyond applied/stable`);
    if (index <= this.snapshotValue.metadata.index) return;
    const metadata = { index, term: this.term(index)!, confState: this.confStateAt(index) };
    this.entryList = this.entryList.slice(index - this.firstIndex() + 1);
    this.snapshotValue = { metadata, data };
  }

  /** Configuration in effect at index (the last conf-change entry at or before it). */
  confStateAt(index: number): ConfState {
    for (let i = Math.min(index, this.lastIndex()); i >= this.firstIndex(); i--) {
      const entry = this.entryAt(i);
      if (entry.type === 'conf-change') return decodeConfState(entry.data);
    }
    return this.snapshotValue.metadata.confState;
  }

  /** Index of the last conf-change entry, or 0 when the log holds none. */
  lastConfChangeIndex(): number {
    return this.confIndex > this.snapshotValue.metadata.index ? this.confIndex : 0;
  }

  private updateConf(entries: readonly Entry[]): void {
    for (let i = entries.length - 1; i >= 0; i--) {
      const entry = entries[i]!;
      if (entry.type === 'conf-change') {
        this.confValue = decodeConfState(entry.data);
        this.confIndex = entry.index;
        return;
      }
    }
  }

  private recomputeConf(): void {
    this.confValue = this.snapshotValue.metadata.confState;
    this.confIndex = this.snapshotValue.metadata.index;
    this.updateConf(this.entryList);
  }

  private checkContiguous(): void {
    this.entryList.forEach((entry, offset) => {
      invariant(entry.index === this.firstIndex() + offset, () => `log not contiguous at ${entry.index}`);
    });
  }
}
