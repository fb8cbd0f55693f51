/**
 * The controller's shell (KRaft's QuorumController, much reduced): one serial queue of requests on the
 * active controller. Each request is decided by the IO-free ControllerCore against the latest committed
 * image, its records are appended to the metadata log as one atomic batch, and the answer leaves only
 * once that batch is committed and applied here (so every decision sees every earlier one: STYLE.md 3).
 * Periodic work (session expiry, rebalancing) runs through the same queue.
 *
 * Active only while this node leads the metadata quorum: `activate()` / `deactivate()` follow Raft
 * leadership. A request that reaches an inactive controller, or whose append fails because leadership
 * was lost, is answered NOT_CONTROLLER and the sender retries at the new active controller.
 */
import type { Clock } from '../common/clock.js';
import type { MetadataImage } from '../metadata/image.js';
import type { MetadataRecord } from '../metadata/records.js';
import { ErrorCode } from '../protocol/errors.js';
import type { ControllerCore, ControllerDecision, ControllerEvent } from './core.js';
import type { ControllerChannel, ControllerOutcomeOf, ControllerRequestOf, ControllerRequestType } from './requests.js';

/** The active controller's half of the metadata log (DESIGN §5: a writer only the active controller holds). */
export interface MetadataWriter {
  /** Appends records as one batch; resolves with its offset once committed and applied locally. */
  append(records: readonly MetadataRecord[]): Promise<number>;
}

export interface QuorumControllerLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

export interface QuorumControllerOptions {
  readonly core: ControllerCore;
  readonly writer: MetadataWriter;
  readonly image: () => MetadataImage;
  readonly clock: Clock;
  readonly nodeId: number;
  /** Period of core.tick while active (fencing, rebalance). */
  readonly tickMs?: number;
  /** A heartbeat queued longer than this is expired (default: half of broker.heartbeat.interval.ms's default). */
  readonly heartbeatDeadlineMs?: number;
  /** Bound on requests waiting in the queue (STYLE.md 8). */
  readonly pendingMax?: number;
  readonly logger?: QuorumControllerLogger;
}

export const CONTROLLER_REQUESTS_PENDING_MAX = 1000;
const HEARTBEAT_DEADLINE_MS = 1000;
/** Events of one kind logged one per line per decision; the rest are counted in one line. */
const EVENTS_LOGGED_PER_KIND_MAX = 3;

/** A committed answer: the outcome plus the metadata offset that holds its records (-1: none written). */
export interface CommittedOutcome<K extends ControllerRequestType> {
  readonly outcome: ControllerOutcomeOf<K>;
  readonly offset: number;
}

export class QuorumController implements ControllerChannel {
  private tail: Promise<unknown> = Promise.resolve();
  private pending = 0;
  private active = false;
  /** Bumped on every activation: work queued under an older activation answers NOT_CONTROLLER. */
  private generation = 0;
  private ticker: NodeJS.Timeout | undefined;

  constructor(private readonly options: QuorumControllerOptions) {}

  get isActive(): boolean {
    return this.active;
  }

  /** This node now leads the quorum; its image holds every committed record (Raft's leader completeness). */
  activate(): void {
    if (this.active) return;
    this.active = true;
    this.generation++;
    const generation = this.generation;
    this.enqueue(async () => {
      if (generation !== this.generation) return;
      this.options.core.activate(this.options.image(), this.options.clock.nowMs());
    });
    this.options.logger?.info({ nodeId: this.options.nodeId }, 'controller activated');
    const tickMs = this.options.tickMs ?? 250;
    this.ticker = setInterval(() => this.tick(generation), tickMs);
    this.ticker.unref?.();
  }

  deactivate(): void {
    if (!this.active) return;
    this.active = false;
    this.generation++;
    if (this.ticker !== undefined) clearInterval(this.ticker);
    this.ticker = undefined;
    this.options.logger?.info({ nodeId: this.options.nodeId }, 'controller deactivated');
  }

  close(): void {
    this.deactivate();
  }

  send<K extends ControllerRequestType>(request: ControllerRequestOf<K>, timeoutMs: number): Promise<ControllerOutcomeOf<K>> {
    return this.submit(request, timeoutMs).then((committed) => committed.outcome);
  }

  /** As send, with the offset of the batch that holds the answer's records (remote callers wait for it). */
  submit<K extends ControllerRequestType>(request: ControllerRequestOf<K>, timeoutMs: number): Promise<CommittedOutcome<K>> {
    if (!this.active) return Promise.resolve({ outcome: notController(), offset: -1 });
    if (this.pending >= (this.options.pendingMax ?? CONTROLLER_REQUESTS_PENDING_MAX)) {
      return Promise.resolve({
        outcome: { ok: false, errorCode: ErrorCode.THROTTLING_QUOTA_EXCEEDED, message: 'too many controller requests in progress' },
        offset: -1,
      });
    }
    const generation = this.generation;
    const arrivedMs = this.options.clock.monotonicMs();
    const work = this.enqueue(async (): Promise<CommittedOutcome<K>> => {
      if (!this.active || generation !== this.generation) return { outcome: notController(), offset: -1 };
      const nowMs = this.options.clock.nowMs();
      // A heartbeat that waited in the queue past half its interval only keeps the session alive: the
      // broker may have died since it was sent, so it must not unfence it (Kafka's heartbeat deadline).
      const expired = request.type === 'brokerHeartbeat'
        && this.options.clock.monotonicMs() - arrivedMs > (this.options.heartbeatDeadlineMs ?? HEARTBEAT_DEADLINE_MS);
      const decision = expired
        ? this.options.core.expiredHeartbeat(request as ControllerRequestOf<'brokerHeartbeat'>, this.options.image(), nowMs) as unknown as ControllerDecision<K>
        : this.options.core.handle(request, this.options.image(), nowMs);
      if (decision.records.length === 0) return { outcome: decision.outcome, offset: -1 };
      try {
        const offset = await this.options.writer.append(decision.records);
        this.logEvents(decision.events, offset);
        return { outcome: decision.outcome, offset };
      } catch (err) {
        return { outcome: appendFailed(err), offset: -1 };
      }
    });
    return withTimeout(work, timeoutMs);
  }

  private tickQueued = false;

  /** Periodic work is its own queued event, so a steady stream of requests cannot starve session expiry. */
  private tick(generation: number): void {
    if (!this.active || generation !== this.generation || this.tickQueued) return;
    this.tickQueued = true;
    this.enqueue(async () => {
      this.tickQueued = false;
      if (!this.active || generation !== this.generation) return;
      const { records, events } = this.options.core.tick(this.options.image(), this.options.clock.nowMs());
      if (records.length === 0) return;
      await this.options.writer.append(records).then(
        (offset) => this.logEvents(events, offset),
        (err: unknown) => this.options.logger?.warn({ err }, 'controller periodic append failed'),
      );
    });
  }

  /** One structured line per broker fencing change and leader election, once committed (issue #21 item 7). */
  private logEvents(events: readonly ControllerEvent[], offset: number): void {
    const logger = this.options.logger;
    if (logger === undefined) return;
    // One line per event, except that a decision moving many partitions at once (a broker fenced or shut
    // down with thousands of leaderships) logs one line per kind with the count and the first few.
    const byKind = new Map<string, ControllerEvent[]>();
    for (const event of events) {
      const list = byKind.get(event.event);
      if (list === undefined) byKind.set(event.event, [event]);
      else list.push(event);
    }
    const base = { metadataOffset: offset, controllerId: this.options.nodeId };
    for (const [kind, all] of byKind) {
      if (all.length <= EVENTS_LOGGED_PER_KIND_MAX) {
        for (const event of all) logger.info({ ...event, ...base }, event.event);
      } else {
        logger.info({ event: kind, count: all.length, first: all.slice(0, EVENTS_LOGGED_PER_KIND_MAX), ...base }, `${kind} (${all.length} in this decision)`);
      }
    }
  }

  private enqueue<T>(task: () => Promise<T>): Promise<T> {
    this.pending++;
    const result = this.tail.then(task).finally(() => this.pending--);
    this.tail = result.catch(() => undefined);
    return result;
  }
}

function notController<T>(): { ok: false; errorCode: number; message: string } & Partial<{ value: T }> {
  return { ok: false, errorCode: ErrorCode.NOT_CONTROLLER, message: 'This node is not the active controller.' };
}

/** A failed append: leadership lost (the sender retries at the new controller) or the log failed. */
function appendFailed(err: unknown): { ok: false; errorCode: number; message: string } {
  const name = (err as Error)?.name;
  if (name === 'NotLeaderError' || name === 'ProposalDroppedError') {
    return { ok: false, errorCode: ErrorCode.NOT_CONTROLLER, message: `metadata log: ${(err as Error).message}` };
  }
  return { ok: false, errorCode: ErrorCode.UNKNOWN_SERVER_ERROR, message: `metadata log: ${(err as Error)?.message ?? String(err)}` };
}

function withTimeout<K extends ControllerRequestType>(work: Promise<CommittedOutcome<K>>, timeoutMs: number): Promise<CommittedOutcome<K>> {
  if (timeoutMs <= 0) return work;
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<CommittedOutcome<K>>((resolve) => {
    timer = setTimeout(() => resolve({
      outcome: { ok: false, errorCode: ErrorCode.REQUEST_TIMED_OUT, message: 'Timed out waiting for the controller.' },
      offset: -1,
    }), timeoutMs);
  });
  return Promise.race([work, deadline]).finally(() => clearTimeout(timer));
}
