// KIP-848 online conversion in the IO-free group coordinator core (Kafka 4's group.consumer.migration.policy):
// a classic group with members is upgraded when a consumer-protocol member joins, its classic members go on
// with JoinGroup/SyncGroup/Heartbeat inside the consumer group and hand partitions over through the
// reconciliation, and the group goes back to classic when the last consumer-protocol member leaves. The
// invariant checked after every step: no partition is owned by two members, as the clients see it.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ManualClock } from '../../src/common/clock.js';
import { Prng } from '../../src/common/prng.js';
import { ErrorCode, GroupCoordinatorCore, type CoordinatorRecord, type DelayedResponse } from '../../src/group/index.js';
import type { ConsumerGroupHeartbeatResponse, TopicInfo, TopicsSnapshot } from '../../src/group/consumer-coordinator.js';
import { decodeAssignment, encodeAssignment, encodeSubscription } from '../../src/group/consumer-protocol.js';
import { decodeConsumerGroupKey, decodeConsumerMemberMetadataValue } from '../../src/group/consumer-records.js';
import { decodeKey } from '../../src/group/records.js';
import type { JoinGroupResponse, SyncGroupResponse } from '../../src/group/types.js';

const T1 = '00000000-0000-0000-0000-0000000000b1';
const PARTITIONS = 6;

class Driver {
  readonly clock = new ManualClock(1_000_000);
  core: GroupCoordinatorCore;
  readonly log: CoordinatorRecord[] = [];
  private nextToken = 1;
  private readonly topics: TopicsSnapshot;

  constructor(private readonly config: Record<string, unknown> = {}) {
    const t1: TopicInfo = { topicId: T1, name: 't', partitions: PARTITIONS };
    this.topics = { byName: new Map([['t', t1]]), byId: new Map([[T1, t1]]) };
    this.core = this.newCore();
    this.core.load(0, []);
  }

  newCore(): GroupCoordinatorCore {
    return new GroupCoordinatorCore({
      clock: this.clock, prng: new Prng(7),
      config: { offsetsTopicNumPartitions: 1, groupInitialRebalanceDelayMs: 0, ...this.config },
      topics: () => this.topics,
    });
  }

  /** A new coordinator replays everything written so far (a failover). */
  failover(): void {
    this.core = this.newCore();
    this.core.load(0, this.log);
  }

  private call(run: (token: number) => void): DelayedResponse | undefined {
    const token = this.nextToken++;
    run(token);
    let response: DelayedResponse | undefined;
    for (let round = 0; round < 100; round++) {
      const outputs = this.core.drainOutputs();
      if (outputs.length === 0) break;
      for (const o of outputs) {
        if (o.kind === 'response') {
          if (o.response.token === token) response = o.response;
        } else {
          this.log.push(...o.append.records);
          this.core.completeAppend(o.append.appendId, ErrorCode.NONE);
        }
      }
    }
    return response;
  }

  join(memberId: string, owned: number[] | null, instanceId: string | null = null): JoinGroupResponse | undefined {
    // Eager members (range) send no owned partitions (v0); cooperative ones report them (v1).
    const metadata = owned === null ? encodeSubscription(['t']) : encodeSubscription(['t'], null, [{ topic: 't', partitions: owned }]);
    const r = this.call((token) => this.core.joinGroup(token, {
      groupId: 'g', sessionTimeoutMs: 10_000, rebalanceTimeoutMs: 30_000, memberId, groupInstanceId: instanceId, protocolType: 'consumer',
      protocols: [{ name: 'range', metadata }], reason: null, requireKnownMemberId: false, supportSkippingAssignment: false,
      clientId: 'classic', clientHost: '/127.0.0.1',
    }));
    return r === undefined ? undefined : (r.body as JoinGroupResponse);
  }

  sync(memberId: string, generationId: number, assignments: { memberId: string; assignment: Buffer }[] = []): SyncGroupResponse {
    const r = this.call((token) => this.core.syncGroup(token, {
      groupId: 'g', generationId, memberId, groupInstanceId: null, protocolType: 'consumer', protocolName: 'range', assignments,
    }));
    assert.ok(r !== undefined && r.api === 'syncGroup');
    return r.body as SyncGroupResponse;
  }

  classicHeartbeat(memberId: string, generationId: number): number {
    return this.core.heartbeat({ groupId: 'g', generationId, memberId, groupInstanceId: null }).errorCode;
  }

  consumerHeartbeat(memberId: string, memberEpoch: number, owned: number[] | null, subscribe = false): ConsumerGroupHeartbeatResponse {
    const r = this.call((token) => this.core.consumerGroupHeartbeat(token, {
      apiVersion: 1, groupId: 'g', memberId, memberEpoch, instanceId: null, rackId: null,
      rebalanceTimeoutMs: subscribe ? 30_000 : -1, subscribedTopicNames: subscribe ? ['t'] : null, subscribedTopicRegex: null,
      serverAssignor: null, topicPartitions: owned === null ? null : [{ topicId: T1, partitions: owned }].filter((t) => t.partitions.length > 0),
      clientId: 'modern', clientHost: '/127.0.0.1',
    }));
    assert.ok(r !== undefined && r.api === 'consumerGroupHeartbeat');
    return r.body as ConsumerGroupHeartbeatResponse;
  }
}

/** What each client believes it owns, and how it behaves: classic eager members, consumer-protocol members. */
interface ClassicClient { kind: 'classic'; memberId: string; generationId: number; owned: number[] }
interface ModernClient { kind: 'consumer'; memberId: string; epoch: number; owned: number[] }
type Client = ClassicClient | ModernClient;

function checkNoDoubleOwnership(clients: readonly Client[]): void {
  const owner = new Map<number, string>();
  for (const c of clients) {
    for (const p of c.owned) {
      assert.ok(!owner.has(p), `partition ${p} owned by ${owner.get(p)} and ${c.memberId}`);
      owner.set(p, c.memberId);
    }
  }
}

/** A classic eager member's rebalance: revoke everything, JoinGroup, SyncGroup (the Java client with range). */
function classicRejoin(d: Driver, c: ClassicClient): void {
  c.owned = [];
  const joined = d.join(c.memberId, null);
  assert.ok(joined !== undefined);
  assert.equal(joined.errorCode, ErrorCode.NONE, `join of ${c.memberId}`);
  assert.equal(joined.leader, '', 'a consumer group has no classic leader');
  c.generationId = joined.generationId;
  const synced = d.sync(c.memberId, c.generationId);
  if (synced.errorCode === ErrorCode.REBALANCE_IN_PROGRESS) return;
  assert.equal(synced.errorCode, ErrorCode.NONE, `sync of ${c.memberId}`);
  c.owned = decodeAssignment(synced.assignment).flatMap((t) => t.partitions);
}

function step(d: Driver, c: Client): void {
  if (c.kind === 'classic') {
    const error = d.classicHeartbeat(c.memberId, c.generationId);
    if (error === ErrorCode.REBALANCE_IN_PROGRESS || error === ErrorCode.ILLEGAL_GENERATION) classicRejoin(d, c);
    else assert.equal(error, ErrorCode.NONE, `heartbeat of ${c.memberId}`);
    return;
  }
  const r = d.consumerHeartbeat(c.memberId, c.epoch, c.owned);
  assert.equal(r.errorCode, ErrorCode.NONE, `consumer heartbeat of ${c.memberId}: ${r.errorMessage}`);
  c.epoch = r.memberEpoch;
  if (r.assignment !== null) c.owned = r.assignment.topicPartitions.flatMap((t) => t.partitions);
}

/** Heartbeats round-robin until every partition is owned and nothing moves; bounded in rounds. */
function settle(d: Driver, clients: Client[]): number {
  for (let round = 1; round <= 40; round++) {
    const before = JSON.stringify(clients);
    for (const c of clients) {
      step(d, c);
      checkNoDoubleOwnership(clients);
    }
    const all = clients.flatMap((c) => c.owned).sort((a, b) => a - b);
    if (JSON.stringify(clients) === before && all.length === PARTITIONS) return round;
    d.clock.advance(1_000);
    d.core.tick();
  }
  assert.fail(`did not settle: ${JSON.stringify(clients)}`);
}

test('upgrade: a consumer-protocol member joining a classic group with members converts it online; everyone gets partitions, none twice', () => {
  const d = new Driver();
  const classic = stableClassicGroup(d);
  const generation = d.core.inspectGroup('g')!.generationId;
  const c: ModernClient = { kind: 'consumer', memberId: 'modern-1', epoch: 0, owned: [] };
  const joined = d.consumerHeartbeat(c.memberId, 0, [], true);
  assert.equal(joined.errorCode, ErrorCode.NONE, joined.errorMessage ?? '');
  c.epoch = joined.memberEpoch;
  assert.equal(c.epoch, generation + 1, 'the classic generation became the group epoch, bumped by the join');
  assert.ok(d.log.some((r) => { const k = decodeKey(r.key); return k.type === 'groupMetadata' && k.group === 'g' && r.value === null; }), 'the classic group record is deleted');
  const metadata = d.log.filter((r) => decodeConsumerGroupKey(r.key)?.type === 'consumerMemberMetadata' && r.value !== null)
    .map((r) => decodeConsumerMemberMetadataValue(r.value as Buffer));
  assert.equal(metadata.filter((m) => m.classicMemberMetadata?.sessionTimeoutMs === 10_000).length, 2, 'classic members keep their protocol');
  const clients: Client[] = [...classic, c];
  settle(d, clients);
  const counts = clients.map((x) => x.owned.length).sort();
  assert.deepEqual(counts, [2, 2, 2], 'uniform: six partitions over three members');
  assert.deepEqual(d.core.consumerGroupDescribe(['g'])[0]?.groupState, 'Stable');
});

test('downgrade: when the last consumer-protocol member leaves, the classic members form a classic group again and rebalance', () => {
  const d = new Driver();
  const classic = stableClassicGroup(d);
  const c: ModernClient = { kind: 'consumer', memberId: 'modern-1', epoch: 0, owned: [] };
  c.epoch = d.consumerHeartbeat(c.memberId, 0, [], true).memberEpoch;
  settle(d, [...classic, c]);
  const epoch = d.core.consumerGroupDescribe(['g'])[0]!.groupEpoch;
  const left = d.consumerHeartbeat(c.memberId, -1, null);
  assert.equal(left.errorCode, ErrorCode.NONE);
  const view = d.core.inspectGroup('g');
  assert.equal(view?.state, 'PreparingRebalance', 'a rebalance starts at once');
  assert.equal(view?.generationId, epoch, 'generation = the group epoch');
  assert.equal(d.core.consumerGroupDescribe(['g'])[0]?.errorCode, ErrorCode.GROUP_ID_NOT_FOUND);
  // Both classic members rejoin the classic way; the first to join leads and assigns.
  for (const m of classic) assert.equal(d.classicHeartbeat(m.memberId, m.generationId), ErrorCode.REBALANCE_IN_PROGRESS);
  const tokens = classic.map((m) => d.join(m.memberId, null));
  const responses = tokens.filter((r): r is JoinGroupResponse => r !== undefined);
  assert.ok(responses.length >= 1);
  const after = d.core.inspectGroup('g');
  assert.equal(after?.state, 'CompletingRebalance');
  assert.equal(after?.generationId, epoch + 1);
});

test('policy disabled: a consumer-protocol member cannot join a classic group with members (Kafka 4.4 message)', () => {
  const d = new Driver({ consumerMigrationPolicy: 'disabled' });
  stableClassicGroup(d);
  const r = d.consumerHeartbeat('modern-1', 0, [], true);
  assert.equal(r.errorCode, ErrorCode.GROUP_ID_NOT_FOUND);
  assert.equal(r.errorMessage, 'Cannot upgrade classic group g to consumer group because online upgrade is disabled.');
});

test('a converted group with classic members survives a failover: the new coordinator replays the classic metadata', () => {
  const d = new Driver();
  const classic = stableClassicGroup(d);
  const c: ModernClient = { kind: 'consumer', memberId: 'modern-1', epoch: 0, owned: [] };
  c.epoch = d.consumerHeartbeat(c.memberId, 0, [], true).memberEpoch;
  const clients: Client[] = [...classic, c];
  settle(d, clients);
  d.failover();
  for (const x of classic) assert.equal(d.classicHeartbeat(x.memberId, x.generationId), ErrorCode.NONE, 'classic members are still members');
  settle(d, clients);
  assert.deepEqual(clients.map((x) => x.owned.length).sort(), [2, 2, 2]);
});

/** Builds the classic group through the real join/sync path. */
function stableClassicGroup(d: Driver): ClassicClient[] {
  const first = d.join('', null);
  assert.equal(first?.errorCode, ErrorCode.NONE, 'a lone member completes its join at once (no initial delay)');
  const a: ClassicClient = { kind: 'classic', memberId: first!.memberId, generationId: first!.generationId, owned: [] };
  const synced = d.sync(a.memberId, a.generationId, [{ memberId: a.memberId, assignment: encodeAssignment([{ topic: 't', partitions: [0, 1, 2, 3, 4, 5] }]) }]);
  assert.equal(synced.errorCode, ErrorCode.NONE);
  // A second member joins: a rebalance; the first rejoins, the leader assigns 3/3.
  const pendingB = d.join('', null);
  assert.equal(pendingB, undefined, 'the second member waits for the rebalance');
  const rejoin = d.join(a.memberId, null);
  assert.equal(rejoin?.errorCode, ErrorCode.NONE);
  const view = d.core.inspectGroup('g')!;
  const bId = view.members.map((m) => m.memberId).find((id) => id !== a.memberId)!;
  const b: ClassicClient = { kind: 'classic', memberId: bId, generationId: view.generationId, owned: [] };
  a.generationId = view.generationId;
  const leaderSync = d.sync(a.memberId, a.generationId, [
    { memberId: a.memberId, assignment: encodeAssignment([{ topic: 't', partitions: [0, 1, 2] }]) },
    { memberId: b.memberId, assignment: encodeAssignment([{ topic: 't', partitions: [3, 4, 5] }]) },
  ]);
  a.owned = decodeAssignment(leaderSync.assignment).flatMap((t) => t.partitions);
  b.owned = decodeAssignment(d.sync(b.memberId, b.generationId).assignment).flatMap((t) => t.partitions);
  assert.deepEqual([a.owned, b.owned], [[0, 1, 2], [3, 4, 5]]);
  assert.equal(d.core.inspectGroup('g')?.state, 'Stable');
  return [a, b];
}

