/**
 * The leader's view of one follower (etcd tracker/progress.go): probe until the match point is found,
 * then replicate optimistically with a bounded window of in-flight appends, or wait for a snapshot.
 */
export type ProgressState = 'probe' | 'replicate' | 'snapshot';

export class Progress {
  match = 0;
  next: number;
  state: ProgressState = 'probe';
  /** In probe state: an append is out and we wait for its answer or the next heartbeat answer. */
  probeSent = false;
  pendingSnapshotIndex = 0;
  snapshotElapsedTicks = 0;
  /** Heard from since the last CheckQuorum round (thesis §6.2). */
  recentActive = false;
  /** Last index of each append in flight, oldest first (replicate state). */
  private inflight: number[] = [];

  constructor(next: number, private readonly maxInflightMessages: number) {
    this.next = next;
  }

  becomeProbe(): void {
    if (this.state === 'snapshot') this.next = Math.max(this.match + 1, this.pendingSnapshotIndex + 1);
    else this.next = this.match + 1;
    this.reset('probe');
  }

  becomeReplicate(): void {
    this.next = this.match + 1;
    this.reset('replicate');
  }

  becomeSnapshot(snapshotIndex: number): void {
    this.reset('snapshot');
    this.pendingSnapshotIndex = snapshotIndex;
  }

  private reset(state: ProgressState): void {
    this.state = state;
    this.probeSent = false;
    this.pendingSnapshotIndex = 0;
    this.snapshotElapsedTicks = 0;
    this.inflight = [];
  }

  /** Records an acknowledgement; false when it is stale (duplicated or reordered). */
  maybeUpdate(index: number): boolean {
    const updated = index > this.match;
    if (updated) {
      this.match = index;
      this.probeSent = false;
    }
    this.next = Math.max(this.next, index + 1);
    this.freeTo(index);
    return updated;
  }

  /**
   * A rejection of prevIndex=rejected; hintNext is the leader's guess from the follower's hint. False
   * when the rejection is stale (etcd MaybeDecrTo).
   */
  maybeDecreaseTo(rejected: number, hintNext: number): boolean {
    if (this.state === 'replicate') {
      if (rejected <= this.match) return false;
      this.next = this.match + 1;
      return true;
    }
    if (this.next - 1 !== rejected) return false;
    this.next = Math.max(Math.min(rejected, hintNext), this.match + 1);
    this.probeSent = false;
    return true;
  }

  sentEntries(lastIndex: number): void {
    if (this.state === 'replicate') {
      this.next = lastIndex + 1;
      this.inflight.push(lastIndex);
    } else {
      this.probeSent = true;
    }
  }

  isPaused(): boolean {
    if (this.state === 'probe') return this.probeSent;
    if (this.state === 'snapshot') return true;
    return this.inflight.length >= this.maxInflightMessages;
  }

  /** A heartbeat answer proves the follower is reachable: let one more append out. */
  onHeartbeatResponse(): void {
    this.probeSent = false;
    this.inflight.shift();
  }

  private freeTo(index: number): void {
    while (this.inflight.length > 0 && this.inflight[0]! <= index) this.inflight.shift();
  }
}
