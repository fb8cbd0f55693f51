/**
 * Incremental fetch sessions (KIP-227), after Kafka's FetchSession.scala: FetchSessionCache, FetchSession,
 * CachedPartition and the FetchManager.newContext decision. Free of IO and of time sources (STYLE.md 1):
 * the caller passes `nowMs` and the cache draws session ids from an injected random source.
 *
 * A request's (session_id, session_epoch) picks its context:
 * - epoch -1 (FINAL): the named session, if any, is closed; the fetch is sessionless.
 * - epoch 0 (INITIAL): the named session, if any, is closed; the fetch is full and its response creates a
 *   session when the cache has room (or can evict one) — session id 0 in the response otherwise.
 * - any other epoch: incremental. Unknown id → FETCH_SESSION_ID_NOT_FOUND; epoch ≠ the session's →
 *   INVALID_FETCH_SESSION_EPOCH; a topic-id session (v13+) used by an older version or the reverse →
 *   FETCH_SESSION_TOPIC_ID_ERROR. Otherwise the request's partitions are added or updated, forgotten ones
 *   removed, the epoch advances; a session left empty is closed and the fetch answered sessionless.
 * An incremental response carries only partitions with records, a changed high watermark or log start
 * offset, or an error (CachedPartition.maybeUpdateResponseData); partitions that returned records move to
 * the end of the session's order, so the next read starts with the others (fairness under max_bytes).
 *
 * Eviction (FetchSessionCache.tryEvict): a new session may evict the least recently used one if it has
 * been idle longer than `evictionMs`; else the "least valuable" evictable one — ordered by (privileged,
 * size, id) — if the new session is at least as valuable. Sessions younger than `evictionMs` can be evicted
 * only by privileged (follower) sessions, and only when they are not privileged themselves.
 *
 * Bounds (STYLE.md 8): `slotsMax` sessions (max.incremental.fetch.session.cache.slots), `partitionsPerSessionMax`
 * partitions per session and `cachedPartitionsMax` over the cache. Kafka has no partition bounds: here a
 * full fetch too large for them gets no session, and an incremental one that would outgrow them closes its
 * session with FETCH_SESSION_ID_NOT_FOUND, after which the client falls back to full fetches.
 */
import { ErrorCode } from '../protocol/errors.js';

/** FetchMetadata.INVALID_SESSION_ID / INITIAL_EPOCH / FINAL_EPOCH. */
export const INVALID_SESSION_ID = 0;
export const INITIAL_EPOCH = 0;
export const FINAL_EPOCH = -1;

/** Fetch requests with topic ids (KIP-516) start at this version; sessions remember which kind they are. */
export const FETCH_TOPIC_ID_VERSION = 13;

export const FETCH_SESSION_SLOTS_DEFAULT = 1000;
/** Kafka's MIN_INCREMENTAL_FETCH_SESSION_EVICTION_MS. */
export const FETCH_SESSION_EVICTION_MS_DEFAULT = 120_000;
export const FETCH_SESSION_PARTITIONS_MAX_DEFAULT = 50_000;
export const FETCH_SESSION_CACHED_PARTITIONS_MAX_DEFAULT = 500_000;

/** FetchMetadata.nextEpoch. */
export function nextEpoch(epoch: number): number {
  if (epoch < 0) return FINAL_EPOCH;
  return epoch === 0x7fffffff ? 1 : epoch + 1;
}

/** One partition of a fetch, as a request states it or a session remembers it. */
export interface FetchPartition {
  /** null: a topic id (v13+) this broker does not know. */
  readonly topic: string | null;
  /** ZERO_UUID before v13. */
  readonly topicId: string;
  readonly partition: number;
  readonly fetchOffset: number;
  /** The fetcher's own log start offset (followers); -1 from consumers. */
  readonly logStartOffset: number;
  readonly partitionMaxBytes: number;
  /** -1: no KIP-320 check. */
  readonly currentLeaderEpoch: number;
  readonly lastFetchedEpoch: number;
}

/** A partition named in forgotten_topics_data. */
export interface ForgottenPartition {
  readonly topic: string | null;
  readonly topicId: string;
  readonly partition: number;
}

/** What the session needs to know of one partition's answer. */
export interface FetchPartitionOutcome {
  readonly errorCode: number;
  readonly highWatermark: number;
  readonly logStartOffset: number;
  readonly recordsBytes: number;
  /** A DivergingEpoch was set (follower fetches): always sent. */
  readonly diverging: boolean;
}

class CachedPartition {
  topic: string | null;
  readonly topicId: string;
  readonly partition: number;
  partitionMaxBytes: number;
  fetchOffset: number;
  highWatermark = -1;
  currentLeaderEpoch: number;
  fetcherLogStartOffset: number;
  localLogStartOffset = -1;
  lastFetchedEpoch: number;

  constructor(data: FetchPartition) {
    this.topic = data.topic;
    this.topicId = data.topicId;
    this.partition = data.partition;
    this.partitionMaxBytes = data.partitionMaxBytes;
    this.fetchOffset = data.fetchOffset;
    this.currentLeaderEpoch = data.currentLeaderEpoch;
    this.fetcherLogStartOffset = data.logStartOffset;
    this.lastFetchedEpoch = data.lastFetchedEpoch;
  }

  updateRequestParams(data: FetchPartition): void {
    this.partitionMaxBytes = data.partitionMaxBytes;
    this.fetchOffset = data.fetchOffset;
    this.fetcherLogStartOffset = data.logStartOffset;
    this.currentLeaderEpoch = data.currentLeaderEpoch;
    this.lastFetchedEpoch = data.lastFetchedEpoch;
  }

  asRequest(): FetchPartition {
    return {
      topic: this.topic,
      topicId: this.topicId,
      partition: this.partition,
      fetchOffset: this.fetchOffset,
      logStartOffset: this.fetcherLogStartOffset,
      partitionMaxBytes: this.partitionMaxBytes,
      currentLeaderEpoch: this.currentLeaderEpoch,
      lastFetchedEpoch: this.lastFetchedEpoch,
    };
  }

  /** CachedPartition.maybeUpdateResponseData: must the partition be in an incremental response? */
  mustRespond(outcome: FetchPartitionOutcome, update: boolean): boolean {
    let mustRespond = outcome.recordsBytes > 0 || outcome.diverging;
    if (this.highWatermark !== outcome.highWatermark) {
      mustRespond = true;
      if (update) this.highWatermark = outcome.highWatermark;
    }
    if (this.localLogStartOffset !== outcome.logStartOffset) {
      mustRespond = true;
      if (update) this.localLogStartOffset = outcome.logStartOffset;
    }
    if (outcome.errorCode !== ErrorCode.NONE) {
      // An invalid cached high watermark makes the partition reappear once the error is gone.
      if (update) this.highWatermark = -1;
      mustRespond = true;
    }
    return mustRespond;
  }
}

/** Session key of a partition: by topic id in topic-id sessions (names may be unknown), else by name. */
function partitionKey(usesTopicIds: boolean, topic: string | null, topicId: string, partition: number): string {
  return usesTopicIds ? `${topicId}/${partition}` : `${topic ?? ''}\u0000${partition}`;
}

export class FetchSession {
  /** Insertion order is the read order; partitions that returned records are moved to the end. */
  readonly partitions = new Map<string, CachedPartition>();
  lastUsedMs: number;
  /** Size when last touched (the cache's accounting); -1 when not in the cache. */
  cachedSize = -1;
  evictableByAll = false;
  evictableByPrivileged = false;

  constructor(
    readonly id: number,
    readonly privileged: boolean,
    readonly usesTopicIds: boolean,
    readonly creationMs: number,
    public epoch: number,
  ) {
    this.lastUsedMs = creationMs;
  }

  get size(): number {
    return this.partitions.size;
  }

  keyOf(topic: string | null, topicId: string, partition: number): string {
    return partitionKey(this.usesTopicIds, topic, topicId, partition);
  }
}

/** FetchContext: how this request's partitions are chosen and how its response is shaped. */
export type FetchContext =
  | { readonly kind: 'error'; readonly errorCode: number }
  | { readonly kind: 'sessionless'; readonly partitions: readonly FetchPartition[] }
  | {
      readonly kind: 'full';
      readonly partitions: readonly FetchPartition[];
      readonly usesTopicIds: boolean;
      readonly privileged: boolean;
    }
  | { readonly kind: 'incremental'; readonly session: FetchSession; readonly expectedEpoch: number };

export interface FetchRequestMetadata {
  readonly version: number;
  readonly sessionId: number;
  readonly sessionEpoch: number;
  /** Followers' sessions are privileged. */
  readonly isFollower: boolean;
  /** The request's partitions, in request order, duplicates removed (the last one wins). */
  readonly partitions: readonly FetchPartition[];
  readonly forgotten: readonly ForgottenPartition[];
}

/** The response-level outcome of a context. */
export interface FetchSessionResponse {
  readonly errorCode: number;
  readonly sessionId: number;
  /** Per read partition: whether it goes in the response (all true except in incremental sessions). */
  readonly included: readonly boolean[];
}

export interface FetchSessionCacheOptions {
  readonly slotsMax?: number;
  readonly evictionMs?: number;
  readonly partitionsPerSessionMax?: number;
  readonly cachedPartitionsMax?: number;
  /** Uniform unsigned 32-bit integers (session ids). */
  readonly random: () => number;
}

export class FetchSessionCache {
  private readonly sessions = new Map<number, FetchSession>();
  /** Sessions by last use, least recent first (Kafka's lastUsed tree; the clock never goes back). */
  private readonly lastUsed = new Map<number, FetchSession>();
  private cachedPartitions = 0;
  private evictionCount = 0;
  readonly slotsMax: number;
  readonly evictionMs: number;
  readonly partitionsPerSessionMax: number;
  readonly cachedPartitionsMax: number;
  private readonly random: () => number;

  constructor(options: FetchSessionCacheOptions) {
    this.slotsMax = options.slotsMax ?? FETCH_SESSION_SLOTS_DEFAULT;
    this.evictionMs = options.evictionMs ?? FETCH_SESSION_EVICTION_MS_DEFAULT;
    this.partitionsPerSessionMax = options.partitionsPerSessionMax ?? FETCH_SESSION_PARTITIONS_MAX_DEFAULT;
    this.cachedPartitionsMax = options.cachedPartitionsMax ?? FETCH_SESSION_CACHED_PARTITIONS_MAX_DEFAULT;
    this.random = options.random;
  }

  get size(): number {
    return this.sessions.size;
  }

  get totalPartitions(): number {
    return this.cachedPartitions;
  }

  get evictions(): number {
    return this.evictionCount;
  }

  get(sessionId: number): FetchSession | undefined {
    return this.sessions.get(sessionId);
  }

  /** FetchManager.newContext. */
  newContext(request: FetchRequestMetadata, nowMs: number): FetchContext {
    const { sessionId, sessionEpoch, version } = request;
    if (sessionEpoch === INITIAL_EPOCH || sessionEpoch === FINAL_EPOCH) {
      // Any session a full request names is closed.
      if (sessionId !== INVALID_SESSION_ID) this.remove(sessionId);
      if (sessionEpoch === FINAL_EPOCH) return { kind: 'sessionless', partitions: request.partitions };
      return {
        kind: 'full',
        partitions: request.partitions,
        usesTopicIds: version >= FETCH_TOPIC_ID_VERSION,
        privileged: request.isFollower,
      };
    }
    const session = this.sessions.get(sessionId);
    if (session === undefined) return { kind: 'error', errorCode: ErrorCode.FETCH_SESSION_ID_NOT_FOUND };
    if (session.epoch !== sessionEpoch) return { kind: 'error', errorCode: ErrorCode.INVALID_FETCH_SESSION_EPOCH };
    if (session.usesTopicIds !== version >= FETCH_TOPIC_ID_VERSION) {
      return { kind: 'error', errorCode: ErrorCode.FETCH_SESSION_TOPIC_ID_ERROR };
    }
    if (!this.update(session, request)) {
      this.remove(sessionId);
      return { kind: 'error', errorCode: ErrorCode.FETCH_SESSION_ID_NOT_FOUND };
    }
    if (session.size === 0) {
      this.remove(sessionId);
      return { kind: 'sessionless', partitions: request.partitions };
    }
    this.touch(session, nowMs);
    session.epoch = nextEpoch(session.epoch);
    return { kind: 'incremental', session, expectedEpoch: session.epoch };
  }

  /** The partitions to read, in order: the request's, or the whole session's. */
  partitionsToRead(context: FetchContext): FetchPartition[] {
    switch (context.kind) {
      case 'error':
        return [];
      case 'sessionless':
      case 'full':
        return context.partitions.slice();
      case 'incremental':
        return [...context.session.partitions.values()].map((cached) => cached.asRequest());
    }
  }

  /**
   * Called once the partitions are read (after any wait): updates the session and says which partitions
   * go in the response. `read` and `outcomes` are partitionsToRead(context) and their outcomes.
   */
  respond(context: FetchContext, read: readonly FetchPartition[], outcomes: readonly FetchPartitionOutcome[], nowMs: number): FetchSessionResponse {
    switch (context.kind) {
      case 'error':
        return { errorCode: context.errorCode, sessionId: INVALID_SESSION_ID, included: [] };
      case 'sessionless':
        return { errorCode: ErrorCode.NONE, sessionId: INVALID_SESSION_ID, included: read.map(() => true) };
      case 'full': {
        const sessionId = this.maybeCreateSession(context, read, outcomes, nowMs);
        return { errorCode: ErrorCode.NONE, sessionId, included: read.map(() => true) };
      }
      case 'incremental':
        return this.respondIncremental(context.session, context.expectedEpoch, read, outcomes);
    }
  }

  private respondIncremental(
    session: FetchSession, expectedEpoch: number, read: readonly FetchPartition[], outcomes: readonly FetchPartitionOutcome[],
  ): FetchSessionResponse {
    // Another request of this session ran while this one waited (a duplicate or a retry): Kafka answers
    // this one with an error and leaves the session as the other left it.
    if (session.epoch !== expectedEpoch) {
      return { errorCode: ErrorCode.INVALID_FETCH_SESSION_EPOCH, sessionId: session.id, included: read.map(() => false) };
    }
    const included = read.map((partition, index) => {
      const key = session.keyOf(partition.topic, partition.topicId, partition.partition);
      const cached = session.partitions.get(key);
      const outcome = outcomes[index] as FetchPartitionOutcome;
      if (cached === undefined) return true;
      const mustRespond = cached.mustRespond(outcome, true);
      if (mustRespond && outcome.recordsBytes > 0) {
        session.partitions.delete(key);
        session.partitions.set(key, cached);
      }
      return mustRespond;
    });
    return { errorCode: ErrorCode.NONE, sessionId: session.id, included };
  }

  /** FetchSession.update; false when the session would outgrow its bounds. */
  private update(session: FetchSession, request: FetchRequestMetadata): boolean {
    let added = 0;
    for (const data of request.partitions) {
      if (!session.partitions.has(session.keyOf(data.topic, data.topicId, data.partition))) added++;
    }
    if (added > 0) {
      const size = session.size + added;
      if (size > this.partitionsPerSessionMax) return false;
      if (this.cachedPartitions - Math.max(session.cachedSize, 0) + size > this.cachedPartitionsMax) return false;
    }
    for (const data of request.partitions) {
      const key = session.keyOf(data.topic, data.topicId, data.partition);
      const cached = session.partitions.get(key);
      if (cached === undefined) session.partitions.set(key, new CachedPartition(data));
      else cached.updateRequestParams(data);
    }
    for (const forgotten of request.forgotten) {
      session.partitions.delete(session.keyOf(forgotten.topic, forgotten.topicId, forgotten.partition));
    }
    return true;
  }

  private maybeCreateSession(
    context: Extract<FetchContext, { kind: 'full' }>, read: readonly FetchPartition[], outcomes: readonly FetchPartitionOutcome[], nowMs: number,
  ): number {
    const size = read.length;
    if (size > this.partitionsPerSessionMax) return INVALID_SESSION_ID;
    const room = this.sessions.size < this.slotsMax || this.tryEvict(context.privileged, size, nowMs);
    if (!room) return INVALID_SESSION_ID;
    // Evict further while the partition bound is exceeded, as long as eviction is allowed.
    for (let round = 0; round < this.slotsMax && this.cachedPartitions + size > this.cachedPartitionsMax; round++) {
      if (!this.tryEvict(context.privileged, size, nowMs)) return INVALID_SESSION_ID;
    }
    if (this.cachedPartitions + size > this.cachedPartitionsMax) return INVALID_SESSION_ID;
    const session = new FetchSession(this.newSessionId(), context.privileged, context.usesTopicIds, nowMs, nextEpoch(INITIAL_EPOCH));
    read.forEach((data, index) => {
      const cached = new CachedPartition(data);
      const outcome = outcomes[index] as FetchPartitionOutcome;
      cached.highWatermark = outcome.highWatermark;
      cached.localLogStartOffset = outcome.logStartOffset;
      session.partitions.set(session.keyOf(data.topic, data.topicId, data.partition), cached);
    });
    this.sessions.set(session.id, session);
    this.touch(session, nowMs);
    return session.id;
  }

  /** A positive id not in use (the cache holds at most slotsMax of 2^31-1, so few draws are needed). */
  private newSessionId(): number {
    for (let attempt = 0; attempt < 1000; attempt++) {
      const id = this.random() & 0x7fffffff;
      if (id !== INVALID_SESSION_ID && !this.sessions.has(id)) return id;
    }
    for (let id = 1; id <= 0x7fffffff; id++) if (!this.sessions.has(id)) return id;
    throw new Error('no free fetch session id');
  }

  /** FetchSessionCache.tryEvict. */
  private tryEvict(privileged: boolean, size: number, nowMs: number): boolean {
    const leastRecent = this.lastUsed.values().next();
    if (leastRecent.done === true) return false;
    if (nowMs - leastRecent.value.lastUsedMs > this.evictionMs) {
      this.removeSession(leastRecent.value);
      this.evictionCount++;
      return true;
    }
    let candidate: FetchSession | undefined;
    for (const session of this.sessions.values()) {
      if (!(privileged ? session.evictableByPrivileged : session.evictableByAll)) continue;
      if (candidate === undefined || compareEvictable(session, candidate) < 0) candidate = session;
    }
    if (candidate === undefined) return false;
    // The new entry (id 0) must be at least as valuable as the least valuable evictable one.
    if (compareKeys(privileged, size, 0, candidate.privileged, candidate.cachedSize, candidate.id) < 0) return false;
    this.removeSession(candidate);
    this.evictionCount++;
    return true;
  }

  /** FetchSessionCache.touch: last use, size accounting, and which sessions may evict it. */
  private touch(session: FetchSession, nowMs: number): void {
    this.lastUsed.delete(session.id);
    session.lastUsedMs = nowMs;
    this.lastUsed.set(session.id, session);
    if (session.cachedSize !== -1) this.cachedPartitions -= session.cachedSize;
    session.cachedSize = session.size;
    this.cachedPartitions += session.cachedSize;
    const old = nowMs - session.creationMs > this.evictionMs;
    session.evictableByPrivileged = !session.privileged || old;
    session.evictableByAll = old;
  }

  remove(sessionId: number): FetchSession | undefined {
    const session = this.sessions.get(sessionId);
    if (session !== undefined) this.removeSession(session);
    return session;
  }

  private removeSession(session: FetchSession): void {
    if (!this.sessions.delete(session.id)) return;
    this.lastUsed.delete(session.id);
    if (session.cachedSize !== -1) this.cachedPartitions -= session.cachedSize;
    session.cachedSize = -1;
  }
}

function compareEvictable(a: FetchSession, b: FetchSession): number {
  return compareKeys(a.privileged, a.cachedSize, a.id, b.privileged, b.cachedSize, b.id);
}

/** EvictableKey ordering: (privileged, size, id). */
function compareKeys(aPrivileged: boolean, aSize: number, aId: number, bPrivileged: boolean, bSize: number, bId: number): number {
  if (aPrivileged !== bPrivileged) return aPrivileged ? 1 : -1;
  if (aSize !== bSize) return aSize - bSize;
  return aId - bId;
}
