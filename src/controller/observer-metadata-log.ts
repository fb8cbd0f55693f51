/**
 * The metadata log of a broker-only node: an observer that replicates the committed metadata log from
 * the controller voters without voting (KRaft observers fetch from the quorum). A long-poll loop asks a
 * voter for the batches after the last one applied (MetadataHistory serves a snapshot when it is further
 * behind); a failing voter is left for the next one. Not durable: a restarted observer starts from a
 * snapshot. It cannot append: only the active controller writes metadata.
 */
import type { CommittedBatch, MetadataLog } from '../metadata/metadata-log.js';
import type { MetadataRecord } from '../metadata/records.js';
import type { PeerAddress } from '../raft/driver/transport.js';
import type { RpcClient } from '../raft/driver/rpc-client.js';
import { json, type FetchMetadataAnswer } from './controller-rpc.js';

const FETCH_WAIT_MS = 1_000;
const FETCH_TIMEOUT_MS = 5_000;
const RETRY_BACKOFF_MS = 100;

export class ObserverMetadataLog implements MetadataLog {
  private readonly listeners: ((batch: CommittedBatch) => void)[] = [];
  private lastOffset = -1;
  private closed = false;
  private preferred = -1;
  private next = 0;
  private loop: Promise<void> | undefined;

  constructor(private readonly voters: ReadonlyMap<number, PeerAddress>, private readonly rpc: RpcClient) {}

  /** The controller the last answer named as leader (-1: unknown). */
  leaderId = -1;

  start(): void {
    this.loop ??= this.run();
  }

  onCommit(listener: (batch: CommittedBatch) => void): void {
    this.listeners.push(listener);
  }

  append(_records: readonly MetadataRecord[]): Promise<number> {
    return Promise.reject(Object.assign(new Error('a broker-only node does not write metadata'), { name: 'NotLeaderError' }));
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.loop;
  }

  private async run(): Promise<void> {
    while (!this.closed) {
      const id = this.pick();
      const address = this.voters.get(id)!;
      try {
        const response = await this.rpc.request(
          address, json({ method: 'fetchMetadata', afterOffset: this.lastOffset, maxWaitMs: FETCH_WAIT_MS }), FETCH_TIMEOUT_MS,
        );
        const answer = JSON.parse(response.toString('utf8')) as FetchMetadataAnswer;
        this.preferred = id;
        if (answer.leaderId >= 0) this.leaderId = answer.leaderId;
        for (const batch of answer.batches ?? []) this.deliver(batch);
      } catch {
        this.preferred = -1;
        await new Promise((resolve) => setTimeout(resolve, RETRY_BACKOFF_MS));
      }
    }
  }

  private pick(): number {
    if (this.preferred >= 0) return this.preferred;
    const ids = [...this.voters.keys()];
    return ids[this.next++ % ids.length]!;
  }

  private deliver(batch: CommittedBatch): void {
    if (this.closed) return;
    // A snapshot may be as old as what we have (another voter lags): keep ours then.
    if (batch.offset <= this.lastOffset) return;
    this.lastOffset = batch.offset;
    for (const listener of this.listeners) listener(batch);
  }
}
