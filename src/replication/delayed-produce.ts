/**
 * The delayed-produce purgatory (Kafka's DelayedProduce + DelayedOperationPurgatory, DESIGN §2): an
 * acks=-1 produce waits here until, for every partition it wrote, the high watermark reaches the offset
 * after its last batch — every ISR member has it — or `timeout_ms` passes. It is woken by the replica
 * manager's `onPartitionAdvanced`, so it completes within the event-loop turn the HW moves.
 *
 * Per partition the outcome is (DelayedProduce.tryComplete / Partition.checkEnoughReplicasReachOffset):
 * NONE once HW ≥ requiredOffset and the ISR is at least min.insync.replicas, else
 * NOT_ENOUGH_REPLICAS_AFTER_APPEND; NOT_LEADER_OR_FOLLOWER when the partition is no longer led here;
 * KAFKA_STORAGE_ERROR as soon as the partition's log fails below requiredOffset (its write failed);
 * REQUEST_TIMED_OUT at the timeout. A full purgatory (`waitersMax`, STYLE.md 8) answers a new wait with
 * REQUEST_TIMED_OUT at once: the records are appended, the client retries or gives up as on a timeout.
 */
import { ErrorCode } from '../protocol/errors.js';
import type { HostedPartition, ReplicaManager } from './types.js';

export interface ProduceWait {
  readonly partition: HostedPartition;
  /** Offset after the last appended batch: done when highWatermark ≥ it. */
  readonly requiredOffset: number;
  readonly minInsyncReplicas: number;
}

interface Waiter {
  readonly waits: readonly ProduceWait[];
  readonly errorCodes: (number | undefined)[];
  pending: number;
  timer: ReturnType<typeof setTimeout> | undefined;
  resolve(errorCodes: number[]): void;
}

export const DELAYED_PRODUCE_WAITERS_MAX = 10_000;
/** timeout_ms is an int32 from the client; setTimeout takes at most 2^31-1. */
const TIMEOUT_MS_MAX = 0x7fffffff;

export class DelayedProducePurgatory {
  private readonly watchers = new Map<HostedPartition, Set<Waiter>>();
  private waiterCount = 0;
  private readonly unsubscribe: () => void;

  constructor(
    private readonly replicaManager: ReplicaManager,
    private readonly waitersMax = DELAYED_PRODUCE_WAITERS_MAX,
  ) {
    this.unsubscribe = replicaManager.onPartitionAdvanced((partition) => this.onAdvanced(partition));
  }

  get size(): number {
    return this.waiterCount;
  }

  /** One error code per wait, in order, once all are decided or the timeout passes. */
  await(waits: readonly ProduceWait[], timeoutMs: number): Promise<number[]> {
    const errorCodes = waits.map((wait) => this.check(wait));
    const pending = errorCodes.filter((code) => code === undefined).length;
    if (pending === 0) return Promise.resolve(errorCodes as number[]);
    if (this.waiterCount >= this.waitersMax || timeoutMs <= 0) {
      return Promise.resolve(errorCodes.map((code) => code ?? ErrorCode.REQUEST_TIMED_OUT));
    }
    return new Promise((resolve) => {
      const waiter: Waiter = { waits, errorCodes, pending, timer: undefined, resolve };
      this.waiterCount++;
      for (const wait of waits) {
        let set = this.watchers.get(wait.partition);
        if (set === undefined) this.watchers.set(wait.partition, (set = new Set()));
        set.add(waiter);
      }
      waiter.timer = setTimeout(() => this.expire(waiter), Math.min(timeoutMs, TIMEOUT_MS_MAX));
    });
  }

  /** Ends every wait with REQUEST_TIMED_OUT (shutdown) and stops listening. */
  close(): void {
    this.unsubscribe();
    const waiters = new Set<Waiter>();
    for (const set of this.watchers.values()) for (const waiter of set) waiters.add(waiter);
    for (const waiter of waiters) this.expire(waiter);
  }

  private check(wait: ProduceWait): number | undefined {
    const current = this.replicaManager.partition(wait.partition.topic, wait.partition.partition);
    if (current !== wait.partition || !current.isLeader) return ErrorCode.NOT_LEADER_OR_FOLLOWER;
    // The write failed (full disk, IO error): the HW will not reach it; answer now (issue 26, defect 4).
    if (current.highWatermark < wait.requiredOffset && current.log.isFailed()) return ErrorCode.KAFKA_STORAGE_ERROR;
    if (current.highWatermark < wait.requiredOffset) return undefined;
    return current.isr.length < wait.minInsyncReplicas ? ErrorCode.NOT_ENOUGH_REPLICAS_AFTER_APPEND : ErrorCode.NONE;
  }

  private onAdvanced(partition: HostedPartition): void {
    const set = this.watchers.get(partition);
    if (set === undefined) return;
    for (const waiter of [...set]) {
      waiter.waits.forEach((wait, index) => {
        if (wait.partition !== partition || waiter.errorCodes[index] !== undefined) return;
        const code = this.check(wait);
        if (code === undefined) return;
        waiter.errorCodes[index] = code;
        waiter.pending--;
      });
      if (waiter.pending === 0) this.finish(waiter);
    }
  }

  private expire(waiter: Waiter): void {
    for (let i = 0; i < waiter.errorCodes.length; i++) {
      waiter.errorCodes[i] ??= ErrorCode.REQUEST_TIMED_OUT;
    }
    this.finish(waiter);
  }

  private finish(waiter: Waiter): void {
    if (waiter.timer !== undefined) clearTimeout(waiter.timer);
    waiter.timer = undefined;
    let removed = false;
    for (const wait of waiter.waits) {
      const set = this.watchers.get(wait.partition);
      if (set === undefined) continue;
      removed = set.delete(waiter) || removed;
      if (set.size === 0) this.watchers.delete(wait.partition);
    }
    if (!removed) return;
    this.waiterCount--;
    waiter.resolve(waiter.errorCodes as number[]);
  }
}
