/**
 * Seeded fuzz of the coordinator with arbitrary, mostly wrong, client requests (STYLE.md 9: a bad client
 * gets an error code, never an assertion): random groups, member ids (real and made up), instance ids,
 * generations and protocols; random clock steps; appends completed in order, some failing; partitions
 * unloaded and reloaded from their log. After every step the groups' structure is checked; at the end,
 * with the clock run far past every timeout, every JoinGroup and SyncGroup must have been answered.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Prng } from '../../src/common/prng.js';
import { ErrorCode, encodeSubscription, type GroupView, type JoinGroupResponse } from '../../src/group/index.js';
import { Harness } from './harness.js';

const GROUPS = ['g-a', 'g-b', 'g-c'];
const INSTANCES = [null, null, 'i-1', 'i-2'];
const PROTOCOLS = [
  [{ name: 'range', metadata: encodeSubscription(['t']) }],
  [{ name: 'range', metadata: encodeSubscription(['t', 'u']) }],
  [{ name: 'roundrobin', metadata: encodeSubscription(['t']) }, { name: 'range', metadata: encodeSubscription(['t']) }],
  [{ name: 'other', metadata: Buffer.alloc(0) }],
];
const STEPS = 400;
const APPEND_ERRORS = [ErrorCode.NOT_LEADER_OR_FOLLOWER, ErrorCode.NOT_ENOUGH_REPLICAS, ErrorCode.REQUEST_TIMED_OUT, ErrorCode.MESSAGE_TOO_LARGE];

class Fuzzer {
  readonly h = new Harness({ groupInitialRebalanceDelayMs: 1_000, groupMaxSize: 6 });
  readonly prng: Prng;
  readonly memberIds: string[] = ['', 'made-up'];
  readonly generations = [-1, 0, 1, 2, 3];
  /** Requests awaiting an answer: token → group id. */
  readonly outstanding = new Map<number, string>();
  /** What the fuzzer's "clients" learned from JoinGroup responses, per group: member id → identity. */
  readonly known = new Map<string, Map<string, { memberId: string; groupInstanceId: string | null; generationId: number }>>();

  constructor(readonly seed: number) {
    this.prng = new Prng(seed);
    this.h.ownAll();
    this.h.autoComplete = false;
  }

  run(): void {
    for (let step = 0; step < STEPS; step++) {
      this.act();
      this.collect();
      for (const groupId of GROUPS) checkStructure(this.h.core.inspectGroup(groupId));
    }
    // Quiesce: no more requests; appends complete; time runs past every timeout.
    for (let i = 0; i < 40; i++) {
      this.h.releaseHeld();
      this.h.advance(30_000);
      this.collect();
    }
    assert.deepEqual([...this.outstanding], [], 'every JoinGroup/SyncGroup answered');
  }

  private act(): void {
    const p = this.prng;
    const roll = p.next();
    if (roll < 0.3) return this.join();
    if (roll < 0.45) return this.sync();
    if (roll < 0.6) return this.heartbeat();
    if (roll < 0.65) return this.leave();
    if (roll < 0.72) return this.commit();
    if (roll < 0.8) return this.h.advance(p.int(0, 12_000));
    if (roll < 0.9) return this.completeSome();
    if (roll < 0.93) return this.reload();
    if (roll < 0.96) return this.admin();
    this.h.core.offsetFetch({ groups: [{ groupId: p.pick(GROUPS), topics: null }], requireStable: p.chance(0.5) });
  }

  /** Mostly what a real client would send (a new member, or a known one with its own ids); some garbage. */
  private identity(groupId: string): { memberId: string; groupInstanceId: string | null; generationId: number } {
    const p = this.prng;
    const known = [...(this.known.get(groupId) ?? new Map()).values()];
    const roll = p.next();
    if (roll < 0.6 && known.length > 0) return p.pick(known);
    if (roll < 0.85) return { memberId: '', groupInstanceId: p.pick(INSTANCES), generationId: -1 };
    return { memberId: p.pick(this.memberIds), groupInstanceId: p.pick(INSTANCES), generationId: p.pick(this.generations) };
  }

  private join(): void {
    const p = this.prng;
    const groupId = p.pick(GROUPS);
    const { memberId, groupInstanceId } = this.identity(groupId);
    const token = this.h.join({
      groupId,
      memberId,
      groupInstanceId,
      protocolType: p.chance(0.95) ? 'consumer' : 'connect',
      protocols: p.chance(0.8) ? (PROTOCOLS[0] as (typeof PROTOCOLS)[number]) : p.pick(PROTOCOLS),
      sessionTimeoutMs: p.chance(0.9) ? 10_000 : p.pick([6_000, 5_000]),
      rebalanceTimeoutMs: p.pick([-1, 8_000, 20_000]),
      requireKnownMemberId: p.chance(0.8),
      supportSkippingAssignment: p.chance(0.5),
    });
    this.outstanding.set(token, groupId);
  }

  private sync(): void {
    const p = this.prng;
    const groupId = p.pick(GROUPS);
    const { memberId, groupInstanceId, generationId } = this.identity(groupId);
    const members = [...(this.known.get(groupId)?.keys() ?? [])];
    const assignments = members.filter(() => p.chance(0.8)).map((id) => ({ memberId: id, assignment: Buffer.from([p.int(0, 255)]) }));
    const token = this.h.sync(groupId, memberId, generationId, assignments, groupInstanceId);
    this.outstanding.set(token, groupId);
  }

  private heartbeat(): void {
    const groupId = this.prng.pick(GROUPS);
    const { memberId, groupInstanceId, generationId } = this.identity(groupId);
    this.h.heartbeat(groupId, memberId, generationId, groupInstanceId);
  }

  private leave(): void {
    const p = this.prng;
    const members = [0, 1].map(() => ({ memberId: p.pick(this.memberIds), groupInstanceId: p.pick(INSTANCES), reason: null }));
    this.h.core.leaveGroup({ groupId: p.pick(GROUPS), members });
    this.h.pump();
  }

  private commit(): void {
    const p = this.prng;
    const token = this.h.token();
    this.h.core.offsetCommit(token, {
      groupId: p.pick(GROUPS),
      generationId: p.pick(this.generations),
      memberId: p.pick(this.memberIds),
      groupInstanceId: p.pick(INSTANCES),
      retentionTimeMs: p.pick([-1, 1_000]),
      topics: [{ name: p.pick(['t', 'u']), partitions: [{ partitionIndex: p.int(0, 3), committedOffset: BigInt(p.int(0, 100)), committedLeaderEpoch: -1, committedMetadata: p.pick([null, 'm']) }] }],
    });
    this.h.pump();
    this.outstanding.set(token, '');
  }

  private admin(): void {
    const p = this.prng;
    const token = this.h.token();
    if (p.chance(0.5)) this.h.core.deleteGroups(token, [p.pick(GROUPS), p.pick(GROUPS)]);
    else this.h.core.offsetDelete(token, { groupId: p.pick(GROUPS), topics: [{ name: 't', partitions: [{ partitionIndex: p.int(0, 3) }] }] });
    this.h.pump();
    this.outstanding.set(token, '');
    this.h.core.describeGroups(GROUPS);
    this.h.core.listGroups({ statesFilter: p.chance(0.5) ? [] : ['Stable', 'empty'], typesFilter: [] });
  }

  /** Completes the oldest held appends in order; some fail (and then so does everything after). */
  private completeSome(): void {
    const p = this.prng;
    const count = p.int(0, this.h.heldAppends.length);
    const held = this.h.heldAppends.splice(0, count);
    const failAt = p.chance(0.2) ? p.int(0, held.length) : held.length;
    for (const [i, append] of held.entries()) this.h.completeAppend(append, i < failAt ? ErrorCode.NONE : p.pick(APPEND_ERRORS));
    this.h.pump();
  }

  /** Leadership moves away and back: waiting requests get NOT_COORDINATOR, the log is replayed. */
  private reload(): void {
    const partition = this.h.core.partitionFor(this.prng.pick(GROUPS));
    const kept = this.h.heldAppends.filter((a) => a.partition !== partition);
    this.h.heldAppends.splice(0, this.h.heldAppends.length, ...kept);
    this.h.core.unload(partition);
    this.h.pump();
    this.h.core.load(partition, this.h.log.get(partition) ?? []);
  }

  private collect(): void {
    for (const [token, response] of [...this.h.responses]) {
      this.h.responses.delete(token);
      const groupId = this.outstanding.get(token) ?? '';
      this.outstanding.delete(token);
      if (response.api === 'joinGroup') this.learn(groupId, response.body, this.h.lastJoinInstance.get(token) ?? null);
    }
  }

  private learn(groupId: string, body: JoinGroupResponse, groupInstanceId: string | null): void {
    if (body.memberId !== '' && !this.memberIds.includes(body.memberId)) this.memberIds.push(body.memberId);
    if (body.generationId >= 0 && !this.generations.includes(body.generationId)) this.generations.push(body.generationId);
    if (body.memberId === '') return;
    let known = this.known.get(groupId);
    if (known === undefined) this.known.set(groupId, (known = new Map()));
    if (known.size > 12) known.delete(known.keys().next().value as string);
    known.set(body.memberId, { memberId: body.memberId, groupInstanceId, generationId: body.generationId });
  }
}

function checkStructure(view: GroupView | undefined): void {
  if (view === undefined) return;
  const ids = view.members.map((m) => m.memberId);
  assert.equal(new Set(ids).size, ids.length, 'member ids unique');
  const instances = view.members.map((m) => m.groupInstanceId).filter((i) => i !== null);
  assert.equal(new Set(instances).size, instances.length, 'one member per instance id');
  if (view.state === 'Empty') assert.equal(view.members.length, 0, 'Empty has no members');
  if (view.state === 'Stable' || view.state === 'CompletingRebalance') {
    assert.ok(view.leaderId !== null && ids.includes(view.leaderId), `${view.state}: the leader is a member`);
  }
  if (view.state === 'CompletingRebalance') assert.ok(view.members.every((m) => !m.awaitingJoin), 'no join waits in CompletingRebalance');
  if (view.state !== 'CompletingRebalance') assert.ok(view.members.every((m) => !m.awaitingSync), 'sync waits only in CompletingRebalance');
}

const SEEDS = process.env.GROUP_FUZZ_SEED !== undefined ? [Number(process.env.GROUP_FUZZ_SEED)] : Array.from({ length: Number(process.env.GROUP_FUZZ_SEED_COUNT ?? 25) }, (_, i) => 777 + i);

for (const seed of SEEDS) {
  test(`fuzz seed ${seed}: arbitrary requests give error codes, never assertions; every wait is answered`, () => {
    try {
      new Fuzzer(seed).run();
    } catch (error) {
      const message = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
      throw new Error(`group fuzz failed with seed ${seed} (replay: GROUP_FUZZ_SEED=${seed}): ${message}`, { cause: error });
    }
  });
}
