// KIP-848 consumer groups in the IO-free group coordinator core: joins, epochs, revoke-before-assign,
// fencing, session expiry, broker-side regex, replay of the records, and a seeded churn simulation
// (STYLE.md 2: one seed decides everything; replay with CONSUMER_SIM_SEED=<seed>) whose invariant — no
// partition owned by two members — is checked after every step, and which must settle balanced.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ManualClock } from '../../src/common/clock.js';
import { Prng } from '../../src/common/prng.js';
import { ErrorCode, GroupCoordinatorCore, type CoordinatorRecord, type DelayedResponse } from '../../src/group/index.js';
import type { ConsumerGroupHeartbeatRequest, ConsumerGroupHeartbeatResponse, TopicInfo, TopicsSnapshot } from '../../src/group/consumer-coordinator.js';
import { assign } from '../../src/group/assignors.js';

const T1 = '00000000-0000-0000-0000-0000000000a1';
const T2 = '00000000-0000-0000-0000-0000000000a2';

class Driver {
  readonly clock = new ManualClock(1_000_000);
  readonly core: GroupCoordinatorCore;
  readonly log: CoordinatorRecord[] = [];
  readonly topicList = new Map<string, TopicInfo>();
  private nextToken = 1;

  constructor(seed = 1, config: Record<string, unknown> = {}) {
    this.core = new GroupCoordinatorCore({
      clock: this.clock, prng: new Prng(seed),
      config: { offsetsTopicNumPartitions: 1, consumerSessionTimeoutMs: 45_000, ...config },
      topics: () => this.snapshot(),
    });
    this.core.load(0, []);
  }

  addTopic(topicId: string, name: string, partitions: number): void {
    this.topicList.set(topicId, { topicId, name, partitions });
  }

  snapshot(): TopicsSnapshot {
    return { byName: new Map([...this.topicList.values()].map((t) => [t.name, t])), byId: new Map(this.topicList) };
  }

  /** One heartbeat, its appends made durable at once. */
  heartbeat(req: Partial<ConsumerGroupHeartbeatRequest> & { memberId: string; memberEpoch: number }): ConsumerGroupHeartbeatResponse {
    const token = this.nextToken++;
    this.core.consumerGroupHeartbeat(token, {
      apiVersion: 1, groupId: 'g', instanceId: null, rackId: null, rebalanceTimeoutMs: -1, subscribedTopicNames: null,
      subscribedTopicRegex: null, serverAssignor: null, topicPartitions: null, clientId: 'c', clientHost: '/127.0.0.1', ...req,
    });
    let response: DelayedResponse | undefined;
    this.pump((r) => { if (r.token === token) response = r; });
    assert.ok(response !== undefined && response.api === 'consumerGroupHeartbeat', 'answered');
    return response.body as ConsumerGroupHeartbeatResponse;
  }

  join(memberId: string, topics: string[] | null, regex: string | null = null, assignor: string | null = null): ConsumerGroupHeartbeatResponse {
    return this.heartbeat({ memberId, memberEpoch: 0, rebalanceTimeoutMs: 30_000, subscribedTopicNames: topics, subscribedTopicRegex: regex, serverAssignor: assignor, topicPartitions: [] });
  }

  pump(onResponse: (r: DelayedResponse) => void = () => {}): void {
    for (let round = 0; round < 1_000; round++) {
      const outputs = this.core.drainOutputs();
      if (outputs.length === 0) return;
      for (const o of outputs) {
        if (o.kind === 'response') onResponse(o.response);
        else {
          this.log.push(...o.append.records);
          this.core.completeAppend(o.append.appendId, ErrorCode.NONE);
        }
      }
    }
    assert.fail('outputs did not quiesce');
  }

  advance(ms: number): void {
    this.clock.advance(ms);
    this.core.tick();
    this.pump();
  }
}

const count = (a: ConsumerGroupHeartbeatResponse['assignment']) => (a?.topicPartitions ?? []).reduce((n, t) => n + t.partitions.length, 0);
const owned = (a: ConsumerGroupHeartbeatResponse['assignment']) => (a?.topicPartitions ?? []).map((t) => ({ topicId: t.topicId, partitions: [...t.partitions] }));

test('three members split six partitions; epochs move with the group; describe shows it', () => {
  const d = new Driver();
  d.addTopic(T1, 't', 6);
  const a = d.join('a', ['t']);
  assert.deepEqual([a.errorCode, a.memberEpoch, count(a.assignment)], [ErrorCode.NONE, 1, 6]);
  const b = d.join('b', ['t']);
  assert.equal(b.memberEpoch, 2);
  assert.equal(count(b.assignment), 0, 'b waits until a releases');
  // a is told to keep 3 and keeps its epoch until it has let the rest go.
  const a2 = d.heartbeat({ memberId: 'a', memberEpoch: 1, topicPartitions: owned(a.assignment) });
  assert.deepEqual([a2.memberEpoch, count(a2.assignment)], [1, 3]);
  const a3 = d.heartbeat({ memberId: 'a', memberEpoch: 1, topicPartitions: owned(a2.assignment) });
  assert.equal(a3.memberEpoch, 2);
  const b2 = d.heartbeat({ memberId: 'b', memberEpoch: 2, topicPartitions: [] });
  assert.equal(count(b2.assignment), 3);
  const [described] = d.core.consumerGroupDescribe(['g']);
  assert.equal(described?.groupState, 'Stable');
  assert.equal(described?.groupEpoch, 2);
  assert.equal(described?.assignorName, 'uniform');
  assert.deepEqual(described?.members.map((m) => [m.memberId, m.memberEpoch, m.assignment[0]?.partitions.length]), [['a', 2, 3], ['b', 2, 3]]);
  assert.deepEqual(d.core.listGroups({ statesFilter: [], typesFilter: ['consumer'] }).groups.map((g) => [g.groupId, g.groupState, g.groupType]), [['g', 'Stable', 'consumer']]);
});

test('fencing and validation answer with Kafka\'s errors', () => {
  const d = new Driver();
  d.addTopic(T1, 't', 2);
  d.join('a', ['t']);
  assert.equal(d.heartbeat({ memberId: 'a', memberEpoch: 5 }).errorCode, ErrorCode.FENCED_MEMBER_EPOCH);
  assert.equal(d.heartbeat({ memberId: 'zz', memberEpoch: 1 }).errorCode, ErrorCode.UNKNOWN_MEMBER_ID);
  assert.equal(d.heartbeat({ memberId: '', memberEpoch: 0, rebalanceTimeoutMs: 1000, subscribedTopicNames: ['t'], topicPartitions: [] }).errorCode, ErrorCode.INVALID_REQUEST);
  assert.equal(d.heartbeat({ memberId: 'b', memberEpoch: 0, subscribedTopicNames: ['t'], topicPartitions: [] }).errorCode, ErrorCode.INVALID_REQUEST, 'no rebalance timeout');
  assert.equal(d.join('c', ['t'], null, 'sticky').errorCode, ErrorCode.UNSUPPORTED_ASSIGNOR);
  assert.equal(d.join('c', null, '(unclosed').errorCode, ErrorCode.INVALID_REGULAR_EXPRESSION);
  assert.equal(d.heartbeat({ memberId: 'a', memberEpoch: -1 }).memberEpoch, -1, 'leave');
  assert.equal(d.core.consumerGroupDescribe(['g'])[0]?.groupState, 'Empty');
});

let commitToken = 5_000;

/** One OffsetCommit through the core; the error of its first partition. */
function commitError(d: Driver, memberId: string, epoch: number, partitions: number[], apiVersion = 10): number {
  const token = commitToken++;
  d.core.offsetCommit(token, {
    groupId: 'g', generationId: epoch, memberId, groupInstanceId: null, retentionTimeMs: -1, apiVersion,
    topics: [{ name: 't', partitions: partitions.map((partitionIndex) => ({ partitionIndex, committedOffset: 1n, committedLeaderEpoch: -1, committedMetadata: '' })) }],
  });
  let response: DelayedResponse | undefined;
  d.pump((r) => { if (r.token === token) response = r; });
  assert.ok(response !== undefined && response.api === 'offsetCommit');
  const codes = new Set(response.body.topics.flatMap((t) => t.partitions.map((x) => x.errorCode)));
  assert.equal(codes.size, 1, 'one answer for the whole commit, as Kafka\'s validator fails it whole');
  return [...codes][0]!;
}

function fetchError(d: Driver, memberId: string | null, memberEpoch: number): number {
  return d.core.offsetFetch({ groups: [{ groupId: 'g', memberId, memberEpoch, topics: [{ name: 't', partitionIndexes: [0] }] }], requireStable: false }).groups[0]!.errorCode;
}

test('OffsetCommit v9+ member epochs as Kafka 4.4: own epoch, newer is STALE_MEMBER_EPOCH, older only for partitions held since (KIP-1251)', () => {
  const d = new Driver();
  d.addTopic(T1, 't', 6);
  const a = d.join('a', ['t']);
  d.join('b', ['t']);
  const a2 = d.heartbeat({ memberId: 'a', memberEpoch: 1, topicPartitions: owned(a.assignment) });
  const kept = owned(a2.assignment)[0]!.partitions;
  const a3 = d.heartbeat({ memberId: 'a', memberEpoch: 1, topicPartitions: owned(a2.assignment) });
  assert.equal(a3.memberEpoch, 2);
  const b2 = d.heartbeat({ memberId: 'b', memberEpoch: 2, topicPartitions: [] });
  const bs = owned(b2.assignment)[0]!.partitions;
  assert.equal(commitError(d, 'a', 2, kept), ErrorCode.NONE, 'the current epoch');
  assert.equal(commitError(d, 'a', 1, kept), ErrorCode.NONE, 'an older epoch, for partitions a has held since epoch 1');
  assert.equal(commitError(d, 'a', 1, [...kept, bs[0]!]), ErrorCode.STALE_MEMBER_EPOCH, 'a partition a gave away fails the whole commit');
  assert.equal(commitError(d, 'b', 1, bs), ErrorCode.STALE_MEMBER_EPOCH, 'b got its partitions at epoch 2');
  assert.equal(commitError(d, 'a', 3, kept), ErrorCode.STALE_MEMBER_EPOCH, 'a newer epoch than the member\'s');
  assert.equal(commitError(d, 'zz', 2, kept), ErrorCode.UNKNOWN_MEMBER_ID);
  assert.equal(commitError(d, '', -1, kept), ErrorCode.UNKNOWN_MEMBER_ID, 'epoch -1 only while the group has no members');
  assert.equal(commitError(d, 'a', 2, kept, 8), ErrorCode.UNSUPPORTED_VERSION, 'consumer-protocol members commit with v9+');
  d.heartbeat({ memberId: 'a', memberEpoch: -1 });
  d.heartbeat({ memberId: 'b', memberEpoch: -1 });
  assert.equal(commitError(d, '', -1, [0]), ErrorCode.NONE, 'an empty consumer group takes admin commits');
});

test('OffsetFetch v9+ member epochs as Kafka 4.4: UNKNOWN_MEMBER_ID, STALE_MEMBER_EPOCH; null and -1 always fetch', () => {
  const d = new Driver();
  d.addTopic(T1, 't', 2);
  const a = d.join('a', ['t']);
  assert.equal(fetchError(d, 'a', a.memberEpoch), ErrorCode.NONE);
  assert.equal(fetchError(d, 'a', a.memberEpoch + 1), ErrorCode.STALE_MEMBER_EPOCH);
  assert.equal(fetchError(d, 'a', a.memberEpoch - 1), ErrorCode.STALE_MEMBER_EPOCH, 'exact epoch: no KIP-1251 leeway on fetch');
  assert.equal(fetchError(d, 'zz', 1), ErrorCode.UNKNOWN_MEMBER_ID);
  assert.equal(fetchError(d, '', -1), ErrorCode.UNKNOWN_MEMBER_ID, 'an empty member id is not the null of an admin client');
  assert.equal(fetchError(d, null, -1), ErrorCode.NONE, 'admin clients and older versions');
});

/** A client's view: its epoch and what it owns (an answer without an assignment changes nothing). */
class Client {
  epoch = 0;
  assignment: ConsumerGroupHeartbeatResponse['assignment'] = null;
  constructor(private readonly d: Driver, readonly id: string, topics: string[]) {
    this.take(d.join(id, topics));
  }
  beat(): void {
    this.take(this.d.heartbeat({ memberId: this.id, memberEpoch: this.epoch, topicPartitions: owned(this.assignment) }));
  }
  private take(r: ConsumerGroupHeartbeatResponse): void {
    assert.equal(r.errorCode, ErrorCode.NONE);
    this.epoch = r.memberEpoch;
    if (r.assignment !== null) this.assignment = r.assignment;
  }
}

test('a member that stops heartbeating is removed after the session timeout; the others take over', () => {
  const d = new Driver();
  d.addTopic(T1, 't', 4);
  const a = new Client(d, 'a', ['t']);
  a.beat();
  const b = new Client(d, 'b', ['t']);
  for (let i = 0; i < 3; i++) {
    a.beat();
    b.beat();
  }
  assert.deepEqual([count(a.assignment), count(b.assignment)], [2, 2]);
  // b goes quiet; a keeps heartbeating every 5 s.
  for (let t = 0; t < 50_000; t += 5_000) {
    d.advance(5_000);
    a.beat();
  }
  assert.equal(count(a.assignment), 4);
  assert.deepEqual(d.core.consumerGroupDescribe(['g'])[0]?.members.map((m) => m.memberId), ['a']);
});

test('a regular-expression subscription picks up a topic created later', () => {
  const d = new Driver();
  d.addTopic(T1, 'orders-eu', 1);
  let a = d.join('a', null, 'orders-.*');
  assert.equal(count(a.assignment), 1);
  d.addTopic(T2, 'orders-us', 2);
  a = d.heartbeat({ memberId: 'a', memberEpoch: a.memberEpoch, topicPartitions: owned(a.assignment) });
  assert.equal(count(a.assignment), 3);
  assert.equal(a.memberEpoch, 2, 'the topic change bumped the group epoch');
});

test('the records replay into the same group on another coordinator (failover)', () => {
  const d = new Driver();
  d.addTopic(T1, 't', 6);
  let a = d.join('a', ['t']);
  a = d.heartbeat({ memberId: 'a', memberEpoch: a.memberEpoch, topicPartitions: owned(a.assignment) });
  d.join('b', ['t']);
  d.core.offsetCommit(999, { groupId: 'g', generationId: a.memberEpoch, memberId: 'a', groupInstanceId: null, retentionTimeMs: -1, topics: [{ name: 't', partitions: [{ partitionIndex: 0, committedOffset: 5n, committedLeaderEpoch: -1, committedMetadata: '' }] }] });
  d.pump();
  const before = d.core.consumerGroupDescribe(['g']);
  const other = new Driver();
  other.addTopic(T1, 't', 6);
  other.core.unload(0);
  other.core.load(0, d.log);
  assert.deepEqual(other.core.consumerGroupDescribe(['g']), before);
  const fetched = other.core.offsetFetch({ groups: [{ groupId: 'g', topics: [{ name: 't', partitionIndexes: [0] }] }], requireStable: false });
  assert.equal(fetched.groups[0]?.topics[0]?.partitions[0]?.committedOffset, 5n);
  // Stale member epochs are refused for commits.
  other.core.offsetCommit(1000, { groupId: 'g', generationId: 99, memberId: 'a', groupInstanceId: null, retentionTimeMs: -1, topics: [{ name: 't', partitions: [{ partitionIndex: 0, committedOffset: 6n, committedLeaderEpoch: -1, committedMetadata: '' }] }] });
  let commit: DelayedResponse | undefined;
  other.pump((r) => { commit = r; });
  assert.equal(commit?.api === 'offsetCommit' ? commit.body.topics[0]?.partitions[0]?.errorCode : -1, ErrorCode.STALE_MEMBER_EPOCH);
});

test('assignors: range gives contiguous ranges per topic; uniform is balanced and sticky', () => {
  const members = ['m1', 'm2', 'm3'].map((memberId) => ({ memberId, topicIds: new Set([T1]), current: new Map<string, number[]>() }));
  const range = assign('range', members, [{ topicId: T1, partitions: 7 }]);
  assert.deepEqual([...range].map(([m, a]) => [m, a.get(T1)]), [['m1', [0, 1, 2]], ['m2', [3, 4]], ['m3', [5, 6]]]);
  const first = assign('uniform', members.slice(0, 2), [{ topicId: T1, partitions: 7 }]);
  const withCurrent = members.map((m) => ({ ...m, current: first.get(m.memberId) ?? new Map() }));
  const second = assign('uniform', withCurrent, [{ topicId: T1, partitions: 7 }]);
  const sizes = [...second.values()].map((a) => a.get(T1)?.length ?? 0).sort();
  assert.deepEqual(sizes, [2, 2, 3]);
  let moved = 0;
  for (const m of ['m1', 'm2']) for (const p of second.get(m)?.get(T1) ?? []) if (!(first.get(m)?.get(T1) ?? []).includes(p)) moved++;
  assert.equal(moved, 0, 'the two old members only gave partitions up');
});

/** A simulated KIP-848 client: what it owns is what its last answer assigned, as the Java client reconciles. */
interface SimMember { id: string; epoch: number; owns: { topicId: string; partitions: number[] }[]; alive: boolean; lastHeartbeatMs: number }

test('seeded churn: joins, leaves, crashes, topic growth; never two owners; settles balanced', () => {
  const seeds = process.env.CONSUMER_SIM_SEED !== undefined ? [Number(process.env.CONSUMER_SIM_SEED)] : [1, 2, 3, 4, 5];
  for (const seed of seeds) {
    const prng = new Prng(seed);
    const d = new Driver(seed, { consumerSessionTimeoutMs: 10_000 });
    d.addTopic(T1, 'events', 12);
    const members: SimMember[] = Array.from({ length: 8 }, (_, i) => ({ id: `m${i}`, epoch: -1, owns: [], alive: false, lastHeartbeatMs: 0 }));
    const fail = (what: string): never => assert.fail(`seed ${seed}: ${what}`);
    const checkOwners = () => {
      const [group] = d.core.consumerGroupDescribe(['g']);
      const seen = new Map<string, string>();
      for (const m of group?.members ?? []) {
        for (const t of m.assignment) for (const p of t.partitions) {
          const key = `${t.topicId}:${p}`;
          if (seen.has(key)) fail(`${key} owned by ${seen.get(key)} and ${m.memberId}`);
          seen.set(key, m.memberId);
        }
      }
    };
    const beat = (m: SimMember) => {
      const r = m.epoch < 0
        ? d.join(m.id, ['events'])
        : d.heartbeat({ memberId: m.id, memberEpoch: m.epoch, topicPartitions: m.owns });
      if (r.errorCode === ErrorCode.UNKNOWN_MEMBER_ID || r.errorCode === ErrorCode.FENCED_MEMBER_EPOCH) {
        m.epoch = -1;
        m.owns = [];
        return;
      }
      if (r.errorCode !== ErrorCode.NONE) fail(`${m.id}: error ${r.errorCode}`);
      m.epoch = r.memberEpoch;
      if (r.assignment !== null) m.owns = owned(r.assignment);
      m.lastHeartbeatMs = d.clock.nowMs();
    };
    for (let step = 0; step < 600; step++) {
      const m = members[prng.int(0, members.length - 1)]!;
      const roll = prng.int(0, 99);
      if (roll < 5 && m.alive && m.epoch > 0) {
        d.heartbeat({ memberId: m.id, memberEpoch: -1 });
        m.alive = false; m.epoch = -1; m.owns = [];
      } else if (roll < 8 && m.alive) {
        m.alive = false; // crash: it just stops; the session timeout removes it
      } else if (roll < 20 && !m.alive) {
        m.alive = true; m.epoch = -1; m.owns = [];
      } else if (roll === 20) {
        const t = d.topicList.get(T1)!;
        d.addTopic(T1, 'events', Math.min(t.partitions + 1, 40));
      }
      for (const x of members) if (x.alive && prng.chance(0.5)) beat(x);
      d.advance(prng.int(100, 2_000));
      checkOwners();
    }
    // Everyone comes back and heartbeats until the group settles.
    for (const m of members) if (!m.alive) { m.alive = true; m.epoch = -1; m.owns = []; }
    let settled = false;
    for (let round = 0; round < 200 && !settled; round++) {
      for (const m of members) beat(m);
      d.advance(500);
      checkOwners();
      const [group] = d.core.consumerGroupDescribe(['g']);
      settled = group?.groupState === 'Stable' && group.members.length === members.length;
    }
    if (!settled) fail(`no stable group: ${JSON.stringify(d.core.consumerGroupDescribe(['g'])[0]?.groupState)}`);
    const [group] = d.core.consumerGroupDescribe(['g']);
    const sizes = group!.members.map((m) => m.assignment.reduce((n, t) => n + t.partitions.length, 0));
    const total = sizes.reduce((a, b) => a + b, 0);
    if (total !== d.topicList.get(T1)!.partitions) fail(`assigned ${total} of ${d.topicList.get(T1)!.partitions}`);
    if (Math.max(...sizes) - Math.min(...sizes) > 1) fail(`unbalanced ${sizes.join('/')}`);
  }
});
