/**
 * What a controller voter serves to observers (broker-only nodes) that replicate the metadata log
 * without voting (KRaft observers fetch from the quorum): the recent committed batches in a bounded ring,
 * and the current image as a snapshot for an observer that is further behind than the ring reaches.
 * A fetch with nothing new parks until a batch commits or its wait ends (long poll). Bounded: the ring by
 * batches and bytes, the parked fetches by count (STYLE.md 8).
 */
import { imageRecords } from '../metadata/image.js';
import type { MetadataLoader } from '../metadata/loader.js';
import type { CommittedBatch, MetadataLog } from '../metadata/metadata-log.js';
import { encodeMetadataRecords } from '../metadata/records.js';

const RING_BATCHES_MAX = 10_000;
const RING_BYTES_MAX = 16 * 1024 * 1024;
const PARKED_FETCHES_MAX = 1024;

interface Held {
  readonly batch: CommittedBatch;
  readonly bytes: number;
}

interface Parked {
  readonly afterOffset: number;
  readonly resolve: (batches: CommittedBatch[]) => void;
  readonly timer: NodeJS.Timeout;
}

export class MetadataHistory {
  private ring: Held[] = [];
  private ringBytes = 0;
  /** The ring holds every committed batch after this offset. */
  private ringBase = -1;
  private readonly parked = new Set<Parked>();

  constructor(log: MetadataLog, private readonly loader: MetadataLoader) {
    log.onCommit((batch) => this.onCommit(batch));
  }

  /**
   * Batches after `afterOffset`, oldest first: from the ring when it reaches back that far, else a
   * snapshot of the current image followed by nothing (the image is as new as the ring's end).
   */
  fetch(afterOffset: number, maxWaitMs: number): Promise<CommittedBatch[]> {
    const now = this.available(afterOffset);
    if (now.length > 0 || maxWaitMs <= 0 || this.parked.size >= PARKED_FETCHES_MAX) return Promise.resolve(now);
    return new Promise((resolve) => {
      const parked: Parked = {
        afterOffset, resolve,
        timer: setTimeout(() => {
          this.parked.delete(parked);
          resolve(this.available(afterOffset));
        }, maxWaitMs),
      };
      this.parked.add(parked);
    });
  }

  close(): void {
    for (const p of this.parked) {
      clearTimeout(p.timer);
      p.resolve([]);
    }
    this.parked.clear();
  }

  private available(afterOffset: number): CommittedBatch[] {
    const image = this.loader.image;
    if (afterOffset >= image.offset) return [];
    if (afterOffset < this.ringBase || this.ring.length === 0 && image.offset >= 0) {
      return [{ offset: image.offset, records: imageRecords(image), snapshot: true }];
    }
    return this.ring.filter((h) => h.batch.offset > afterOffset).map((h) => h.batch);
  }

  private onCommit(batch: CommittedBatch): void {
    if (batch.snapshot === true) {
      // The ring cannot bridge a replaced image: observers behind it get the snapshot.
      this.ring = [];
      this.ringBytes = 0;
      this.ringBase = batch.offset;
    } else {
      const bytes = encodeMetadataRecords(batch.records).length;
      this.ring.push({ batch, bytes });
      this.ringBytes += bytes;
      while (this.ring.length > RING_BATCHES_MAX || (this.ringBytes > RING_BYTES_MAX && this.ring.length > 1)) {
        const dropped = this.ring.shift()!;
        this.ringBytes -= dropped.bytes;
        this.ringBase = dropped.batch.offset;
      }
    }
    for (const p of [...this.parked]) {
      const batches = this.available(p.afterOffset);
      if (batches.length === 0) continue;
      clearTimeout(p.timer);
      this.parked.delete(p);
      p.resolve(batches);
    }
  }
}
