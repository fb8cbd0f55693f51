/**
 * Leader epoch → start offset (KIP-101, KIP-279), after Kafka's LeaderEpochFileCache. IO-free: the
 * partition log persists it (file `leader-epoch-checkpoint`, Kafka's format) when `dirty` is set.
 */
import { formatCheckpoint, parseCheckpoint, parseOffset } from './checkpoint-file.js';

export interface EpochEntry {
  epoch: number;
  startOffset: number;
}

export const UNDEFINED_EPOCH = -1;
export const UNDEFINED_EPOCH_OFFSET = -1;

export interface EpochEndOffset {
  leaderEpoch: number;
  endOffset: number;
}

export class LeaderEpochCache {
  private entries: EpochEntry[] = [];
  /** Set whenever the entries change; the owner clears it once they are on disk. */
  dirty = false;

  static parse(text: string): LeaderEpochCache | undefined {
    const lines = parseCheckpoint(text, 0, 2);
    if (lines === undefined) return undefined;
    const cache = new LeaderEpochCache();
    for (const [epochField, offsetField] of lines) {
      const epoch = parseOffset(epochField);
      const startOffset = parseOffset(offsetField);
      if (epoch === undefined || startOffset === undefined || epoch < 0 || startOffset < 0) return undefined;
      const last = cache.entries[cache.entries.length - 1];
      if (last !== undefined && (epoch <= last.epoch || startOffset < last.startOffset)) return undefined;
      cache.entries.push({ epoch, startOffset });
    }
    return cache;
  }

  serialize(): string {
    return formatCheckpoint(0, this.entries.map((e) => `${e.epoch} ${e.startOffset}`));
  }

  all(): readonly EpochEntry[] {
    return this.entries;
  }

  latestEpoch(): number | undefined {
    return this.entries[this.entries.length - 1]?.epoch;
  }

  /**
   * Records that epoch starts at startOffset. Entries with an epoch ≥ it or a start offset ≥ it are
   * superseded (LeaderEpochFileCache.assign).
   */
  assign(epoch: number, startOffset: number): void {
    if (epoch < 0) return;
    const latest = this.entries[this.entries.length - 1];
    if (latest !== undefined && latest.epoch === epoch && latest.startOffset <= startOffset) return;
    while (this.entries.length > 0) {
      const last = this.entries[this.entries.length - 1] as EpochEntry;
      if (last.epoch < epoch && last.startOffset < startOffset) break;
      this.entries.pop();
    }
    this.entries.push({ epoch, startOffset });
    this.dirty = true;
  }

  /** Drops epochs starting at or after endOffset: the log was cut there. */
  truncateFromEnd(endOffset: number): void {
    const before = this.entries.length;
    while (this.entries.length > 0 && (this.entries[this.entries.length - 1] as EpochEntry).startOffset >= endOffset) {
      this.entries.pop();
    }
    if (this.entries.length !== before) this.dirty = true;
  }

  /** The log now starts at startOffset: earlier epochs go, the one covering it starts there. */
  truncateFromStart(startOffset: number): void {
    let covering: EpochEntry | undefined;
    let removed = 0;
    while (this.entries.length > 0 && (this.entries[0] as EpochEntry).startOffset <= startOffset) {
      covering = this.entries.shift();
      removed++;
    }
    if (covering === undefined) return;
    this.entries.unshift({ epoch: covering.epoch, startOffset });
    if (removed > 1 || covering.startOffset !== startOffset) this.dirty = true;
  }

  clear(): void {
    if (this.entries.length > 0) this.dirty = true;
    this.entries = [];
  }

  /**
   * KIP-101/279 OffsetsForLeaderEpoch: the largest epoch ≤ requestedEpoch, and its end offset = the
   * start offset of the next larger epoch, or logEndOffset for the latest epoch
   * (LeaderEpochFileCache.endOffsetFor).
   */
  endOffsetFor(requestedEpoch: number, logEndOffset: number): EpochEndOffset {
    const undefinedAnswer = { leaderEpoch: UNDEFINED_EPOCH, endOffset: UNDEFINED_EPOCH_OFFSET };
    if (requestedEpoch === UNDEFINED_EPOCH) return undefinedAnswer;
    if (this.latestEpoch() === requestedEpoch) return { leaderEpoch: requestedEpoch, endOffset: logEndOffset };
    const higherIndex = this.entries.findIndex((e) => e.epoch > requestedEpoch);
    if (higherIndex < 0) return undefinedAnswer;
    const higher = this.entries[higherIndex] as EpochEntry;
    if (higherIndex === 0) return { leaderEpoch: requestedEpoch, endOffset: higher.startOffset };
    const floor = this.entries[higherIndex - 1] as EpochEntry;
    return { leaderEpoch: floor.epoch, endOffset: higher.startOffset };
  }
}
