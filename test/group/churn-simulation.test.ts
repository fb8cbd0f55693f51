/**
 * Seeded simulation (STYLE.md 2): 20 consumers, half of them static (KIP-345), on one topic of 100
 * partitions, run against the group coordinator core for 60 simulated seconds of join / leave / crash /
 * restart churn, lost responses with request timeouts, and coordinator failovers (unload, then a new
 * coordinator loads the log; appends not yet durable are lost), with `__consumer_offsets` appends made
 * durable after random delays. The simulated
 * leader runs Kafka's RangeAssignor. Then the churn stops, every consumer is started, and the group must
 * settle: Stable, all 20 consumers in the current generation, every partition assigned exactly once.
 * Invariants are checked after every step; one seed decides everything and is printed on failure
 * (replay one with GROUP_SIM_SEED=<seed>; soak with GROUP_SIM_SEED_COUNT=<n>).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ManualClock } from '../../src/common/clock.js';
import { Prng } from '../../src/common/prng.js';
import {
  ErrorCode,
  GroupCoordinatorCore,
  decodeAssignment,
  encodeAssignment,
  encodeSubscription,
  subscriptionTopics,
  type AppendRequest,
  type CoordinatorRecord,
  type DelayedResponse,
  type JoinGroupResponse,
  type JoinGroupResponseMember,
  type OffsetCommitResponse,
  type SyncGroupResponse,
} from '../../src/group/index.js';

const GROUP = 'churn-group';
const TOPIC = 'events';
const PARTITIONS = 100;
const CONSUMERS = 20;
const STEP_MS = 100;
const CHURN_MS = 60_000;
const SETTLE_MS_MAX = 180_000;
const STEADY_MS = 10_000;
const HEARTBEAT_INTERVAL_MS = 3_000;
const SESSION_TIMEOUT_MS = 10_000;
const REBALANCE_TIMEOUT_MS = 20_000;
const APPEND_DELAY_MS_MAX = 300;
/** The Java consumer waits rebalance timeout + 5 s for a JoinGroup, request.timeout.ms for the rest. */
const JOIN_REQUEST_TIMEOUT_MS = REBALANCE_TIMEOUT_MS + 5_000;
const SYNC_REQUEST_TIMEOUT_MS = 10_000;
const RESPONSE_LOSS_PROBABILITY = 0.02;
/** Per step of churn: about one coordinator failover per run. */
const FAILOVER_PROBABILITY = 0.0015;

type ClientState = 'down' | 'needJoin' | 'joining' | 'syncing' | 'stable';

interface Client {
  index: number;
  groupInstanceId: string | null;
  state: ClientState;
  /** The one request whose answer the consumer waits for; answers to any other (a crashed incarnation's,
   * or one given up on after a timeout) are dropped. */
  awaitedToken: number | null;
  /** When the awaited request times out and the consumer rejoins (request.timeout.ms). */
  requestDeadlineMs: number;
  memberId: string;
  generationId: number;
  assignment: number[];
  nextHeartbeatMs: number;
}

/** RangeAssignor for one topic: members sorted by id, the first (n % k) get one extra partition. */
export function rangeAssign(members: JoinGroupResponseMember[]): Map<string, number[]> {
  const subscribed = members.filter((m) => subscriptionTopics(m.metadata)?.includes(TOPIC)).map((m) => m.memberId).sort();
  const result = new Map<string, number[]>(members.map((m) => [m.memberId, []]));
  const per = Math.floor(PARTITIONS / subscribed.length);
  const extra = PARTITIONS % subscribed.length;
  let next = 0;
  for (const [i, memberId] of subscribed.entries()) {
    const count = per + (i < extra ? 1 : 0);
    result.set(memberId, Array.from({ length: count }, (_, j) => next + j));
    next += count;
  }
  return result;
}

class Simulation {
  readonly clock = new ManualClock(1_700_000_000_000);
  readonly prng: Prng;
  core: GroupCoordinatorCore;
  readonly clients: Client[] = [];
  readonly log: CoordinatorRecord[] = [];
  private readonly appends: { append: AppendRequest; readyMs: number }[] = [];
  private readonly tokens = new Map<number, Client>();
  private nextToken = 1;
  private churning = true;
  readonly stats = { joins: 0, leaves: 0, crashes: 0, restarts: 0, staticRejoins: 0, failovers: 0, generations: 0, commitsAcked: 0 };
  private readonly commits = new Map<number, bigint>();
  private readonly acked = new Map<number, bigint>();
  private nextOffset = 0n;
  /** Generations handed out, per coordinator incarnation. */
  private readonly generationsSeen = new Set<string>();

  constructor(readonly seed: number) {
    this.prng = new Prng(seed);
    this.core = new GroupCoordinatorCore({ clock: this.clock, prng: new Prng(seed ^ 0x5bd1e995), config: { offsetsTopicNumPartitions: 50 } });
    this.core.load(this.core.partitionFor(GROUP), []);
    for (let i = 0; i < CONSUMERS; i++) {
      this.clients.push({ index: i, groupInstanceId: i % 2 === 0 ? `instance-${i}` : null, state: 'down', awaitedToken: null, requestDeadlineMs: 0, memberId: '', generationId: -1, assignment: [], nextHeartbeatMs: 0 });
    }
  }

  run(): void {
    for (const c of this.clients) this.start(c);
    const churnSteps = CHURN_MS / STEP_MS;
    for (let step = 0; step < churnSteps; step++) {
      this.churn();
      this.step();
    }
    this.churning = false;
    for (const c of this.clients) if (c.state === 'down') this.start(c);
    const settleSteps = SETTLE_MS_MAX / STEP_MS;
    for (let step = 0; step < settleSteps; step++) {
      this.step();
      if (this.settled()) return this.runSteady();
    }
    assert.fail(`did not settle within ${SETTLE_MS_MAX} ms: ${JSON.stringify(this.describe())}`);
  }

  /** Once settled, the group stays so: heartbeats and commits go on without another rebalance. */
  private runSteady(): void {
    const group = this.core.inspectGroup(GROUP);
    for (let step = 0; step < STEADY_MS / STEP_MS; step++) {
      this.step();
      assert.ok(this.settled(), `the group left its settled state: ${JSON.stringify(this.describe())}`);
    }
    assert.equal(this.core.inspectGroup(GROUP)?.generationId, group?.generationId);
  }

  private churn(): void {
    if (this.prng.chance(FAILOVER_PROBABILITY)) return this.failover();
    if (!this.prng.chance(0.05)) return;
    const client = this.prng.pick(this.clients);
    if (client.state === 'down') return this.start(client);
    const roll = this.prng.next();
    if (roll < 0.4 && client.groupInstanceId === null && client.memberId !== '') return this.leave(client);
    if (roll < 0.7 && client.groupInstanceId !== null) return this.restartStatic(client);
    this.crash(client);
  }

  private start(client: Client): void {
    client.state = 'needJoin';
    client.memberId = '';
    client.generationId = -1;
    client.assignment = [];
    this.stats.restarts++;
  }

  /**
   * The `__consumer_offsets` leader moves: the old coordinator unloads (its waiting requests get
   * NOT_COORDINATOR), appends not yet durable are lost, and a new coordinator loads the log.
   */
  private failover(): void {
    this.stats.failovers++;
    const partition = this.core.partitionFor(GROUP);
    this.core.unload(partition);
    this.deliver();
    this.appends.length = 0;
    this.core = new GroupCoordinatorCore({ clock: this.clock, prng: new Prng(this.prng.nextUint32()), config: { offsetsTopicNumPartitions: 50 } });
    this.core.load(partition, this.log);
    this.checkOffsets();
  }

  /** A dynamic consumer closing: LeaveGroup, then down. */
  private leave(client: Client): void {
    const response = this.core.leaveGroup({ groupId: GROUP, members: [{ memberId: client.memberId, groupInstanceId: null, reason: 'closing' }] });
    assert.equal(response.errorCode, ErrorCode.NONE);
    this.stats.leaves++;
    this.stop(client);
  }

  /** A static consumer bouncing: no LeaveGroup (KIP-345), back at once with a fresh member id. */
  private restartStatic(client: Client): void {
    this.stop(client);
    this.start(client);
    this.stats.staticRejoins++;
  }

  private crash(client: Client): void {
    this.stats.crashes++;
    this.stop(client);
  }

  private stop(client: Client): void {
    client.awaitedToken = null;
    client.state = 'down';
    client.assignment = [];
  }

  private step(): void {
    this.clock.advance(STEP_MS);
    this.core.tick();
    this.deliver();
    this.completeDueAppends();
    for (const client of this.prng.shuffle([...this.clients])) this.act(client);
    this.checkInvariants();
  }

  private act(client: Client): void {
    const waiting = client.state === 'joining' || client.state === 'syncing';
    if (waiting && this.clock.monotonicMs() >= client.requestDeadlineMs) return this.rejoin(client, client.memberId);
    if (client.state === 'needJoin') return this.sendJoin(client);
    if (client.state === 'stable' && this.clock.monotonicMs() >= client.nextHeartbeatMs) this.sendHeartbeat(client);
  }

  private sendJoin(client: Client): void {
    const token = this.register(client, 'join');
    client.state = 'joining';
    this.stats.joins++;
    this.core.joinGroup(token, {
      groupId: GROUP,
      sessionTimeoutMs: SESSION_TIMEOUT_MS,
      rebalanceTimeoutMs: REBALANCE_TIMEOUT_MS,
      memberId: client.memberId,
      groupInstanceId: client.groupInstanceId,
      protocolType: 'consumer',
      protocols: [{ name: 'range', metadata: encodeSubscription([TOPIC]) }],
      reason: null,
      requireKnownMemberId: true,
      supportSkippingAssignment: true,
      clientId: `consumer-${client.index}`,
      clientHost: `/10.0.0.${client.index}`,
    });
    this.deliver();
  }

  private sendSync(client: Client, assignments: { memberId: string; assignment: Buffer }[]): void {
    const token = this.register(client, 'sync');
    client.state = 'syncing';
    this.core.syncGroup(token, {
      groupId: GROUP,
      generationId: client.generationId,
      memberId: client.memberId,
      groupInstanceId: client.groupInstanceId,
      protocolType: 'consumer',
      protocolName: 'range',
      assignments,
    });
    this.deliver();
  }

  private sendHeartbeat(client: Client): void {
    const { errorCode } = this.core.heartbeat({ groupId: GROUP, generationId: client.generationId, memberId: client.memberId, groupInstanceId: client.groupInstanceId });
    client.nextHeartbeatMs = this.clock.monotonicMs() + HEARTBEAT_INTERVAL_MS;
    this.deliver();
    this.onHeartbeat(client, errorCode);
    if (client.state === 'stable' && client.assignment.length > 0) this.sendCommit(client);
  }

  /**
   * The consumer commits its position for every partition it owns (auto-commit). Offsets come from
   * one counter, so of two commits to a partition the later one carries the larger offset.
   */
  private sendCommit(client: Client): void {
    const token = this.nextToken++;
    const offset = this.nextOffset++;
    this.commits.set(token, offset);
    this.core.offsetCommit(token, {
      groupId: GROUP,
      generationId: client.generationId,
      memberId: client.memberId,
      groupInstanceId: client.groupInstanceId,
      retentionTimeMs: -1,
      topics: [{ name: TOPIC, partitions: client.assignment.map((partitionIndex) => ({ partitionIndex, committedOffset: offset, committedLeaderEpoch: -1, committedMetadata: `by-${client.index}` })) }],
    });
    this.deliver();
  }

  private onCommit(token: number, body: OffsetCommitResponse): void {
    const offset = this.commits.get(token) as bigint;
    this.commits.delete(token);
    for (const p of body.topics[0]?.partitions ?? []) {
      if (p.errorCode !== ErrorCode.NONE) continue;
      this.stats.commitsAcked++;
      if ((this.acked.get(p.partitionIndex) ?? -1n) < offset) this.acked.set(p.partitionIndex, offset);
    }
  }

  /** Acknowledged commits are durable: the coordinator never answers with an older offset. */
  checkOffsets(): void {
    const fetched = this.core.offsetFetch({ groups: [{ groupId: GROUP, topics: [{ name: TOPIC, partitionIndexes: Array.from({ length: PARTITIONS }, (_, i) => i) }] }], requireStable: false });
    for (const p of fetched.groups[0]?.topics[0]?.partitions ?? []) {
      const acked = this.acked.get(p.partitionIndex) ?? -1n;
      assert.ok(p.committedOffset >= acked, `partition ${p.partitionIndex}: committed ${p.committedOffset} < acknowledged ${acked}`);
    }
  }

  private onHeartbeat(client: Client, errorCode: number): void {
    switch (errorCode) {
      case ErrorCode.NONE:
        return;
      case ErrorCode.REBALANCE_IN_PROGRESS:
      case ErrorCode.ILLEGAL_GENERATION:
      case ErrorCode.NOT_COORDINATOR:
        return this.rejoin(client, client.memberId);
      case ErrorCode.UNKNOWN_MEMBER_ID:
        return this.rejoin(client, '');
      case ErrorCode.FENCED_INSTANCE_ID:
        return this.stop(client);
      default:
        assert.fail(`unexpected heartbeat error ${errorCode}`);
    }
  }

  /** Eager protocol: give up every partition before rejoining. */
  private rejoin(client: Client, memberId: string): void {
    client.awaitedToken = null;
    client.assignment = [];
    client.memberId = memberId;
    client.state = 'needJoin';
  }

  private register(client: Client, api: 'join' | 'sync'): number {
    const token = this.nextToken++;
    this.tokens.set(token, client);
    client.awaitedToken = token;
    client.requestDeadlineMs = this.clock.monotonicMs() + (api === 'join' ? JOIN_REQUEST_TIMEOUT_MS : SYNC_REQUEST_TIMEOUT_MS);
    return token;
  }

  private deliver(): void {
    for (let round = 0; round < 1_000; round++) {
      const outputs = this.core.drainOutputs();
      if (outputs.length === 0) return;
      for (const output of outputs) {
        if (output.kind === 'append') this.appends.push({ append: output.append, readyMs: this.clock.monotonicMs() + this.prng.int(0, APPEND_DELAY_MS_MAX) });
        else this.onResponse(output.response);
      }
    }
    assert.fail('outputs did not quiesce');
  }

  /** Appends become durable in order, each after its random delay (the log is FIFO). */
  private completeDueAppends(): void {
    for (let i = 0; i < 10_000; i++) {
      const head = this.appends[0];
      if (head === undefined || head.readyMs > this.clock.monotonicMs()) return;
      this.appends.shift();
      this.log.push(...head.append.records);
      this.core.completeAppend(head.append.appendId, ErrorCode.NONE);
      this.deliver();
    }
  }

  private onResponse(response: DelayedResponse): void {
    if (response.api === 'offsetCommit') return this.onCommit(response.token, response.body);
    const owner = this.tokens.get(response.token);
    assert.ok(owner, `response for unknown token ${response.token}`);
    this.tokens.delete(response.token);
    const client = owner;
    if (client.awaitedToken !== response.token) return;
    // A lost response (churn phase only): the consumer keeps waiting until its request times out,
    // then rejoins. The settling phase has a healthy network.
    if (this.churning && this.prng.chance(RESPONSE_LOSS_PROBABILITY)) return;
    client.awaitedToken = null;
    if (response.api === 'joinGroup') return this.onJoin(client, response.body);
    if (response.api === 'syncGroup') return this.onSync(client, response.body);
    assert.fail(`unexpected ${response.api} response`);
  }

  private onJoin(client: Client, r: JoinGroupResponse): void {
    assert.equal(client.state, 'joining');
    switch (r.errorCode) {
      case ErrorCode.NONE:
        break;
      case ErrorCode.MEMBER_ID_REQUIRED:
        return this.rejoin(client, r.memberId);
      case ErrorCode.UNKNOWN_MEMBER_ID:
        return this.rejoin(client, '');
      case ErrorCode.REBALANCE_IN_PROGRESS:
      case ErrorCode.NOT_COORDINATOR:
        return this.rejoin(client, client.memberId);
      case ErrorCode.FENCED_INSTANCE_ID:
        return this.stop(client);
      default:
        assert.fail(`unexpected join error ${r.errorCode}`);
    }
    client.memberId = r.memberId;
    client.generationId = r.generationId;
    this.generationsSeen.add(`${this.stats.failovers}:${r.generationId}`);
    this.stats.generations = this.generationsSeen.size;
    const leads = r.leader === r.memberId && !r.skipAssignment;
    if (!leads) return this.sendSync(client, []);
    const plan = rangeAssign(r.members);
    const assignments = [...plan].map(([memberId, partitions]) => ({ memberId, assignment: encodeAssignment([{ topic: TOPIC, partitions }]) }));
    this.sendSync(client, assignments);
  }

  private onSync(client: Client, r: SyncGroupResponse): void {
    assert.equal(client.state, 'syncing');
    switch (r.errorCode) {
      case ErrorCode.NONE:
        client.assignment = decodeAssignment(r.assignment).flatMap((tp) => tp.partitions);
        client.state = 'stable';
        client.nextHeartbeatMs = this.clock.monotonicMs() + HEARTBEAT_INTERVAL_MS;
        return;
      case ErrorCode.REBALANCE_IN_PROGRESS:
      case ErrorCode.ILLEGAL_GENERATION:
      case ErrorCode.NOT_COORDINATOR:
        return this.rejoin(client, client.memberId);
      case ErrorCode.UNKNOWN_MEMBER_ID:
        return this.rejoin(client, '');
      case ErrorCode.FENCED_INSTANCE_ID:
        return this.stop(client);
      default:
        assert.fail(`unexpected sync error ${r.errorCode}`);
    }
  }

  /** No partition is owned twice within one generation, by the clients or in the group's assignments. */
  private checkInvariants(): void {
    const group = this.core.inspectGroup(GROUP);
    if (group === undefined) return;
    const owners = new Map<number, number>();
    for (const c of this.clients) {
      if (c.state !== 'stable' || c.generationId !== group.generationId) continue;
      for (const p of c.assignment) {
        assert.equal(owners.has(p), false, `partition ${p} owned by consumers ${owners.get(p)} and ${c.index} in generation ${group.generationId}`);
        owners.set(p, c.index);
      }
    }
    if (group.state !== 'Stable') return;
    const assigned = new Set<number>();
    for (const m of group.members) {
      for (const p of decodeAssignment(m.assignment).flatMap((tp) => tp.partitions)) {
        assert.equal(assigned.has(p), false, `group assigns partition ${p} twice`);
        assigned.add(p);
      }
    }
  }

  private settled(): boolean {
    const group = this.core.inspectGroup(GROUP);
    if (group === undefined || group.state !== 'Stable') return false;
    if (this.clients.some((c) => c.state !== 'stable' || c.generationId !== group.generationId)) return false;
    const memberIds = new Set(group.members.map((m) => m.memberId));
    return memberIds.size === CONSUMERS && this.clients.every((c) => memberIds.has(c.memberId));
  }

  describe(): unknown {
    const group = this.core.inspectGroup(GROUP);
    return {
      group: group && { state: group.state, generationId: group.generationId, members: group.members.length, pending: group.pendingMemberIds.length },
      clients: this.clients.map((c) => `${c.index}:${c.state}:g${c.generationId}:t${c.awaitedToken}:d${c.requestDeadlineMs - this.clock.monotonicMs()}`),
      stats: this.stats,
    };
  }
}

function runSeed(seed: number): Simulation {
  const sim = new Simulation(seed);
  try {
    sim.run();
    const owned = sim.clients.flatMap((c) => c.assignment).sort((a, b) => a - b);
    assert.deepEqual(owned, Array.from({ length: PARTITIONS }, (_, i) => i), 'every partition assigned exactly once');
    assert.ok(sim.stats.leaves + sim.stats.crashes + sim.stats.staticRejoins >= 5, `too little churn: ${JSON.stringify(sim.stats)}`);
    sim.checkOffsets();
    assert.ok(sim.stats.commitsAcked > 0, `commits were acknowledged: ${JSON.stringify(sim.stats)}`);
    checkReplay(sim);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    throw new Error(`group churn simulation failed with seed ${seed} (replay: GROUP_SIM_SEED=${seed}): ${message}`, { cause: error });
  }
  return sim;
}

/** The log the simulation wrote rebuilds the same group on a new coordinator. */
function checkReplay(sim: Simulation): void {
  const clock = new ManualClock(sim.clock.nowMs());
  const fresh = new GroupCoordinatorCore({ clock, prng: new Prng(1) });
  fresh.load(fresh.partitionFor(GROUP), sim.log);
  const a = sim.core.inspectGroup(GROUP);
  const b = fresh.inspectGroup(GROUP);
  assert.ok(a && b);
  assert.equal(b.state, 'Stable');
  assert.equal(b.generationId, a.generationId);
  assert.deepEqual(
    b.members.map((m) => [m.memberId, m.groupInstanceId, m.assignment.toString('hex')]).sort(),
    a.members.map((m) => [m.memberId, m.groupInstanceId, m.assignment.toString('hex')]).sort(),
  );
}

// Each seed takes tens of milliseconds; twenty of them cover far more interleavings than one.
// GROUP_SIM_SEED replays one seed; GROUP_SIM_SEED_COUNT soaks more.
const SEED_COUNT = Number(process.env.GROUP_SIM_SEED_COUNT ?? 20);
const SEEDS = process.env.GROUP_SIM_SEED !== undefined ? [Number(process.env.GROUP_SIM_SEED)] : Array.from({ length: SEED_COUNT }, (_, i) => 20261126 + i);

for (const seed of SEEDS) {
  test(`churn simulation, seed ${seed}: 20 consumers, 100 partitions, 60 s of churn, then stable with each partition once`, () => {
    const sim = runSeed(seed);
    assert.ok(sim.stats.generations >= 2, `the churn caused rebalances: ${JSON.stringify(sim.stats)}`);
  });
}

test('rangeAssign splits 100 partitions over 20 members, 5 each, contiguous', () => {
  const members = Array.from({ length: 20 }, (_, i) => ({ memberId: `m${String(i).padStart(2, '0')}`, groupInstanceId: null, metadata: encodeSubscription([TOPIC]) }));
  const plan = rangeAssign(members);
  assert.deepEqual(plan.get('m00'), [0, 1, 2, 3, 4]);
  assert.deepEqual(plan.get('m19'), [95, 96, 97, 98, 99]);
  const three = rangeAssign(members.slice(0, 3));
  assert.deepEqual([...three.values()].map((p) => p.length), [34, 33, 33]);
});
