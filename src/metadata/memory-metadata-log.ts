/**
 * A metadata log held in memory and shared by every node of an in-process test cluster: one ordered
 * sequence of committed batches that every listener replays from the start. Appends commit at once (no
 * quorum): it stands in for the Raft log where a test wants replication without consensus faults.
 * Not durable; tests and simulations only.
 */
import type { MetadataRecord } from './records.js';
import type { CommittedBatch, MetadataLog } from './metadata-log.js';

export class MemoryMetadataLog implements MetadataLog {
  private readonly batches: CommittedBatch[] = [];
  private readonly listeners: ((batch: CommittedBatch) => void)[] = [];
  private closed = false;

  append(records: readonly MetadataRecord[]): Promise<number> {
    if (this.closed) return Promise.reject(new Error('metadata log is closed'));
    const batch: CommittedBatch = { offset: this.batches.length + 1, records: [...records] };
    this.batches.push(batch);
    for (const listener of [...this.listeners]) listener(batch);
    return Promise.resolve(batch.offset);
  }

  /** Every listener replays every committed batch first, then hears new ones. */
  onCommit(listener: (batch: CommittedBatch) => void): void {
    for (const batch of this.batches) listener(batch);
    this.listeners.push(listener);
  }

  /** A view for one node: its own listener set, so closing one node does not close the shared log. */
  async close(): Promise<void> {}

  shutdown(): void {
    this.closed = true;
  }
}
