/**
 * A replica's log as the controller simulation needs it: only the leader epoch of each offset, kept as
 * a leader-epoch cache (epoch, start offset) the way Kafka's leader-epoch-checkpoint does, so comparing
 * two logs' prefixes costs the number of epochs, not the number of records.
 */
interface Segment {
  readonly epoch: number;
  readonly start: number;
}

export class SimLog {
  private segments: Segment[] = [];
  length = 0;

  static copyOf(log: SimLog, length: number): SimLog {
    const copy = new SimLog();
    copy.segments = log.segments.filter((s) => s.start < length);
    copy.length = Math.min(length, log.length);
    return copy;
  }

  append(epoch: number, count: number): void {
    if (count <= 0) return;
    const last = this.segments[this.segments.length - 1];
    if (last === undefined || last.epoch !== epoch) this.segments.push({ epoch, start: this.length });
    this.length += count;
  }

  truncate(length: number): void {
    if (length >= this.length) return;
    while (this.segments.length > 0 && this.segments[this.segments.length - 1]!.start >= length) this.segments.pop();
    this.length = length;
  }

  /** How many leading records the two logs share (KIP-101/279's divergence point). */
  commonPrefix(other: SimLog): number {
    const a = this.segments;
    const b = other.segments;
    const n = Math.min(a.length, b.length);
    let i = 0;
    while (i < n && a[i]!.epoch === b[i]!.epoch && a[i]!.start === b[i]!.start) i++;
    if (i === 0) return 0;
    const endA = i < a.length ? a[i]!.start : this.length;
    const endB = i < b.length ? b[i]!.start : other.length;
    return Math.min(endA, endB);
  }

  /** Appends `count` records of `source` from offset `from` (this log's length). */
  copyFrom(source: SimLog, count: number): void {
    const end = Math.min(source.length, this.length + count);
    for (const [i, s] of source.segments.entries()) {
      const segmentEnd = source.segments[i + 1]?.start ?? source.length;
      const from = Math.max(s.start, this.length);
      const to = Math.min(segmentEnd, end);
      if (to > from) this.append(s.epoch, to - from);
    }
  }

  /** Does this log start with every record of `prefix`? */
  hasPrefix(prefix: SimLog): boolean {
    return this.commonPrefix(prefix) >= prefix.length;
  }

  describe(): string {
    return `${this.length} records, epochs ${this.segments.map((s) => `${s.epoch}@${s.start}`).join(' ')}`;
  }
}
