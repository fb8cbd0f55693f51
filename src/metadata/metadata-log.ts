/**
 * The seam between the control plane and everything that consumes metadata. In a cluster the Raft
 * driver implements it (propose → committed batches); a standalone node uses LocalMetadataLog, a
 * single-writer durable file with the same contract, so handlers never know which one they talk to.
 */
import type { MetadataRecord } from './records.js';

export interface CommittedBatch {
  /** Position of the batch in the metadata log, strictly increasing. */
  readonly offset: number;
  readonly records: readonly MetadataRecord[];
  /**
   * True for a snapshot: the records rebuild the whole image at `offset` (KRaft's snapshot), replacing
   * whatever image the reader had.
   */
  readonly snapshot?: boolean;
}

export interface MetadataLog {
  /**
   * Appends records as one atomic batch; resolves with its offset once it is durable and committed,
   * after every commit listener has seen it. Rejects if the log is closed or this node cannot write
   * (not the controller).
   */
  append(records: readonly MetadataRecord[]): Promise<number>;
  /**
   * Committed batches in order. The first listener starts with every batch already committed (it is the
   * MetadataLoader; everything else subscribes to the loader's image and deltas).
   */
  onCommit(listener: (batch: CommittedBatch) => void): void;
  close(): Promise<void>;
}
