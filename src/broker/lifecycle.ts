/**
 * A broker's life as the controller sees it (KIP-631, Kafka's BrokerLifecycleManager): register with a
 * fresh incarnation id, heartbeat every `broker.heartbeat.interval.ms` carrying the metadata offset this
 * node has applied, become unfenced once the controller finds it caught up, and at shutdown ask for a
 * controlled shutdown (the controller moves this broker's leaderships away) before stopping. A heartbeat
 * refused for a stale broker epoch (the controller fenced and forgot this registration) registers again.
 * One serial loop; every wait is bounded.
 */
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { FINALIZABLE_FEATURES } from '../metadata/features.js';
import type { MetadataLoader } from '../metadata/loader.js';
import type { BrokerFeatureRange } from '../metadata/records.js';
import { ErrorCode } from '../protocol/errors.js';
import type { ControllerChannel } from '../controller/requests.js';

export interface BrokerLifecycleOptions {
  readonly channel: ControllerChannel;
  readonly nodeId: number;
  readonly clusterId: string;
  readonly host: string;
  readonly port: number;
  readonly rack: string | null;
  readonly loader: MetadataLoader;
  readonly heartbeatIntervalMs: number;
  readonly logger: Logger;
  /**
   * The incarnation this node's previous process registered, known dead because this process holds the
   * data directory's lock (broker-incarnation.ts): the controller then need not wait out its session.
   */
  readonly previousIncarnationId?: string;
  /** Records this process's incarnation once registered (its failure only costs the next start the wait). */
  readonly onRegistered?: (incarnationId: string) => Promise<void>;
}

/** While fenced and catching up, heartbeats go out this often rather than every interval. */
const CATCH_UP_HEARTBEAT_MS = 25;
const REQUEST_TIMEOUT_MS = 5_000;

/** BrokerRegistrationRequest's Features: the finalizable features' ranges this software supports. */
const SUPPORTED_FEATURES: readonly BrokerFeatureRange[] = [...FINALIZABLE_FEATURES].map(([name, range]) => ({
  name, minSupportedVersion: range.min, maxSupportedVersion: range.max,
}));

export class BrokerLifecycle {
  private readonly incarnationId = randomUUID();
  private epoch = -1;
  private fenced = true;
  private wantShutDown = false;
  private stopped = false;
  private recorded = false;
  private timer: NodeJS.Timeout | undefined;
  private readonly unfencedWaiters: (() => void)[] = [];
  private shutdownDone: (() => void) | undefined;

  constructor(private readonly options: BrokerLifecycleOptions) {}

  get brokerEpoch(): number {
    return this.epoch;
  }

  get isFenced(): boolean {
    return this.fenced;
  }

  /** Registers (retrying until the deadline) and starts heartbeating. */
  async start(deadlineMs: number): Promise<void> {
    await this.register(deadlineMs);
    this.schedule(0);
  }

  /** Resolves when the controller has unfenced this broker, or false at the timeout. */
  waitUnfenced(timeoutMs: number): Promise<boolean> {
    if (!this.fenced) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(false), timeoutMs);
      this.unfencedWaiters.push(() => {
        clearTimeout(timer);
        resolve(true);
      });
    });
  }

  /**
   * Controlled shutdown: heartbeats ask for it until the controller says this broker may stop (it leads
   * nothing any more) or the timeout passes. Then heartbeats stop.
   */
  async controlledShutdown(timeoutMs: number): Promise<boolean> {
    if (this.stopped || this.epoch < 0) {
      this.stop();
      return false;
    }
    this.wantShutDown = true;
    const done = await new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => resolve(false), timeoutMs);
      this.shutdownDone = () => {
        clearTimeout(timer);
        resolve(true);
      };
      this.schedule(0);
    });
    this.stop();
    return done;
  }

  stop(): void {
    this.stopped = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private async register(deadlineMs: number): Promise<void> {
    const { channel, nodeId, clusterId, host, port, rack, logger } = this.options;
    for (let attempt = 0; !this.stopped; attempt++) {
      const previous = this.options.previousIncarnationId;
      const outcome = await channel.send({
        type: 'registerBroker', brokerId: nodeId, incarnationId: this.incarnationId, clusterId, host, port, rack, features: SUPPORTED_FEATURES,
        ...(previous !== undefined ? { previousIncarnationId: previous } : {}),
      }, REQUEST_TIMEOUT_MS);
      if (outcome.ok) {
        this.epoch = outcome.value.brokerEpoch;
        logger.debug({ nodeId, brokerEpoch: this.epoch }, 'broker registered');
        await this.recordIncarnation();
        return;
      }
      if (outcome.errorCode === ErrorCode.INCONSISTENT_CLUSTER_ID) {
        throw new Error(`the controller refused this broker: ${outcome.message ?? 'cluster id mismatch'}`);
      }
      if (Date.now() > deadlineMs) throw new Error(`broker registration failed: ${outcome.message ?? outcome.errorCode}`);
      if (attempt % 20 === 0) logger.info({ nodeId, errorCode: outcome.errorCode, message: outcome.message }, 'broker registration retrying');
      await new Promise((resolve) => setTimeout(resolve, Math.min(1000, 50 * (attempt + 1))));
    }
  }

  /**
   * Only after the controller committed this incarnation: a file naming an incarnation that never
   * registered would prove nothing next time. Not recorded (crash first, or a failed write): the next
   * start sends the older id, the controller does not take it as proof, and that start waits out the
   * session as Kafka's does.
   */
  private async recordIncarnation(): Promise<void> {
    if (this.recorded || this.options.onRegistered === undefined) return;
    try {
      await this.options.onRegistered(this.incarnationId);
      this.recorded = true;
    } catch (error) {
      this.options.logger.warn({ nodeId: this.options.nodeId, err: error }, 'could not record the broker incarnation; the next start after a crash waits out the session');
    }
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.heartbeat();
    }, delayMs);
    this.timer.unref?.();
  }

  private inFlight = false;

  private async heartbeat(): Promise<void> {
    if (this.stopped || this.inFlight) return;
    this.inFlight = true;
    try {
      const outcome = await this.options.channel.send({
        type: 'brokerHeartbeat', brokerId: this.options.nodeId, brokerEpoch: this.epoch,
        currentMetadataOffset: this.options.loader.image.offset, wantFence: false, wantShutDown: this.wantShutDown,
      }, REQUEST_TIMEOUT_MS);
      if (outcome.ok) {
        this.onAnswer(outcome.value.isFenced, outcome.value.shouldShutDown);
      } else if (outcome.errorCode === ErrorCode.STALE_BROKER_EPOCH || outcome.errorCode === ErrorCode.BROKER_ID_NOT_REGISTERED) {
        this.options.logger.warn({ nodeId: this.options.nodeId, brokerEpoch: this.epoch }, 'broker registration lost; registering again');
        this.fenced = true;
        await this.register(Date.now() + 60_000).catch(() => undefined);
      }
    } finally {
      this.inFlight = false;
    }
    this.schedule(this.fenced && !this.wantShutDown ? CATCH_UP_HEARTBEAT_MS : this.wantShutDown ? 100 : this.options.heartbeatIntervalMs);
  }

  private onAnswer(isFenced: boolean, shouldShutDown: boolean): void {
    if (this.fenced && !isFenced) {
      this.options.logger.debug({ nodeId: this.options.nodeId, brokerEpoch: this.epoch }, 'broker unfenced');
      for (const wake of this.unfencedWaiters.splice(0)) wake();
    } else if (!this.fenced && isFenced) {
      this.options.logger.debug({ nodeId: this.options.nodeId, brokerEpoch: this.epoch }, 'broker fenced by the controller');
    }
    this.fenced = isFenced;
    if (this.wantShutDown && shouldShutDown) this.shutdownDone?.();
  }
}
