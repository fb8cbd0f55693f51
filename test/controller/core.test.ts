import { test } from 'node:test';
import assert from 'node:assert/strict';
import { resolveConfig } from '../../src/config/config.js';
import { ControllerCore, type ControllerDecision, type ControllerTickResult } from '../../src/controller/core.js';
import type { ControllerOutcomeOf, ControllerRequestOf, ControllerRequestType } from '../../src/controller/requests.js';
import { applyRecords, EMPTY_IMAGE, topicByName, type MetadataImage, type PartitionImage } from '../../src/metadata/image.js';
import { RECOVERED, RECOVERING, type LeaderRecoveryState } from '../../src/metadata/records.js';
import { ErrorCode } from '../../src/protocol/errors.js';

const SESSION_MS = 9000;

type Sent<K extends ControllerRequestType> = ControllerOutcomeOf<K> & { decision: ControllerDecision<K> };

/** The core plus the committed image, the way the shell drives it: decide, commit the batch, answer. */
class Harness {
  image: MetadataImage = EMPTY_IMAGE;
  now = 1000;
  readonly core: ControllerCore;
  readonly epochs = new Map<number, number>();
  private topicIds = 0;

  constructor(overrides: Record<string, string> = {}, options: { imbalanceMs?: number; clusterId?: string } = {}) {
    const config = resolveConfig({ overrides: Object.entries(overrides) }).config;
    this.core = new ControllerCore({
      config, brokerLifecycle: 'heartbeats', clusterId: options.clusterId,
      newTopicId: () => `00000000-0000-4000-8000-${String(++this.topicIds).padStart(12, '0')}`,
      leaderImbalanceCheckIntervalMs: options.imbalanceMs,
    });
    this.core.activate(this.image, this.now);
  }

  commit(records: ControllerDecision['records']): void {
    if (records.length > 0) this.image = applyRecords(this.image, records, this.image.offset + 1).image;
  }

  send<K extends ControllerRequestType>(request: ControllerRequestOf<K>): Sent<K> {
    const decision = this.core.handle(request, this.image, this.now);
    this.commit(decision.records);
    return { ...decision.outcome, decision } as Sent<K>;
  }

  tick(): ControllerTickResult {
    const result = this.core.tick(this.image, this.now);
    this.commit(result.records);
    return result;
  }

  register(brokerId: number, incarnationId = `inc-${brokerId}`, rack: string | null = null, previousIncarnationId?: string): Sent<'registerBroker'> {
    const outcome = this.send<'registerBroker'>({
      type: 'registerBroker', brokerId, incarnationId, clusterId: 'c1', host: 'h', port: 9000 + brokerId, rack,
      ...(previousIncarnationId !== undefined ? { previousIncarnationId } : {}),
    });
    if (outcome.ok) this.epochs.set(brokerId, outcome.value.brokerEpoch);
    return outcome;
  }

  heartbeat(brokerId: number, fields: { offset?: number; wantShutDown?: boolean; wantFence?: boolean; epoch?: number } = {}): Sent<'brokerHeartbeat'> {
    return this.send<'brokerHeartbeat'>({
      type: 'brokerHeartbeat', brokerId, brokerEpoch: fields.epoch ?? this.epochs.get(brokerId) ?? -1,
      currentMetadataOffset: fields.offset ?? this.image.offset, wantFence: fields.wantFence ?? false, wantShutDown: fields.wantShutDown ?? false,
    });
  }

  /** Registers and unfences brokers (each heartbeats once caught up). */
  startBrokers(...ids: number[]): void {
    for (const id of ids) assert.ok(this.register(id).ok);
    for (const id of ids) assert.equal(value(this.heartbeat(id)).isFenced, false);
  }

  createTopic(name: string, numPartitions: number, replicationFactor: number, configs: { name: string; value: string }[] = []): void {
    const outcome = this.send<'createTopic'>({
      type: 'createTopic', validateOnly: false, topic: { name, numPartitions, replicationFactor, assignments: [], configs },
    });
    assert.ok(outcome.ok, JSON.stringify(outcome));
  }

  partition(topic: string, id: number): PartitionImage {
    return topicByName(this.image, topic)!.partitions[id]!;
  }

  /** Everyone but `except` heartbeats at the current time. */
  heartbeatAll(except: readonly number[] = []): void {
    for (const id of this.image.brokers.keys()) if (!except.includes(id) && !this.image.brokers.get(id)!.fenced) this.heartbeat(id);
  }
}

function value<T>(outcome: { ok: true; value: T } | { ok: false; errorCode: number; message: string | null }): T {
  assert.ok(outcome.ok, JSON.stringify(outcome));
  return outcome.value;
}

function code(outcome: { ok: boolean; errorCode?: number }): number {
  return outcome.ok ? ErrorCode.NONE : outcome.errorCode!;
}

function leaderCounts(h: Harness, topic: string): Map<number, number> {
  const counts = new Map<number, number>();
  for (const p of topicByName(h.image, topic)!.partitions) counts.set(p.leader, (counts.get(p.leader) ?? 0) + 1);
  return counts;
}

// ---- placement ----

test('placement: 12 partitions RF 3 on 3 brokers spread leaders 4/4/4, the first replica leads', () => {
  const h = new Harness();
  h.startBrokers(1, 2, 3);
  h.createTopic('t', 12, 3);
  assert.deepEqual([...leaderCounts(h, 't')].sort(), [[1, 4], [2, 4], [3, 4]]);
  for (const p of topicByName(h.image, 't')!.partitions) {
    assert.equal(p.leader, p.replicas[0]);
    assert.equal(new Set(p.replicas).size, 3);
    assert.deepEqual([...p.isr], [...p.replicas]);
  }
});

test('placement: successive single-partition topics lead on the least loaded broker', () => {
  const h = new Harness();
  h.startBrokers(1, 2, 3);
  for (const name of ['a', 'b', 'c', 'd', 'e', 'f']) h.createTopic(name, 1, 2);
  const leaders = ['a', 'b', 'c', 'd', 'e', 'f'].map((t) => h.partition(t, 0).leader);
  assert.deepEqual([1, 2, 3].map((b) => leaders.filter((l) => l === b).length), [2, 2, 2]);
});

test('placement: rack-aware, every partition spans as many racks as it can, leaders and replicas balanced', () => {
  const h = new Harness();
  const racks = ['r1', 'r1', 'r2', 'r2', 'r3', 'r3'];
  racks.forEach((rack, i) => assert.ok(h.register(i + 1, `inc-${i + 1}`, rack).ok));
  for (let id = 1; id <= 6; id++) h.heartbeat(id);
  h.createTopic('t', 12, 3);
  const replicaCounts = new Map<number, number>();
  for (const p of topicByName(h.image, 't')!.partitions) {
    assert.equal(new Set(p.replicas.map((r) => racks[r - 1])).size, 3, `partition ${p.partitionId} ${p.replicas}`);
    for (const r of p.replicas) replicaCounts.set(r, (replicaCounts.get(r) ?? 0) + 1);
  }
  assert.deepEqual([...leaderCounts(h, 't').values()], [2, 2, 2, 2, 2, 2]);
  assert.deepEqual([...replicaCounts.values()], [6, 6, 6, 6, 6, 6]);
});

test('placement: fenced and shutting-down brokers get no new replicas; RF above the usable brokers is INVALID_REPLICATION_FACTOR', () => {
  const h = new Harness();
  h.startBrokers(1, 2, 3);
  assert.ok(h.register(4).ok); // registered, still fenced
  const outcome = h.send<'createTopic'>({
    type: 'createTopic', validateOnly: false, topic: { name: 'x', numPartitions: 1, replicationFactor: 4, assignments: [], configs: [] },
  });
  assert.equal(code(outcome), ErrorCode.INVALID_REPLICATION_FACTOR);
  h.createTopic('t', 6, 3);
  for (const p of topicByName(h.image, 't')!.partitions) assert.ok(!p.replicas.includes(4));
});

test('createPartitions continues the rotation: leaders stay balanced', () => {
  const h = new Harness();
  h.startBrokers(1, 2, 3);
  h.createTopic('t', 3, 2);
  const outcome = h.send<'createPartitions'>({ type: 'createPartitions', validateOnly: false, input: { name: 't', count: 9, assignments: null } });
  assert.ok(outcome.ok);
  assert.deepEqual([...leaderCounts(h, 't')].sort(), [[1, 3], [2, 3], [3, 3]]);
});

// ---- registration ----

test('registerBroker: a new broker is fenced at epoch 0; a retry of the same incarnation keeps the epoch', () => {
  const h = new Harness();
  assert.equal(value(h.register(1)).brokerEpoch, 0);
  assert.equal(h.image.brokers.get(1)!.fenced, true);
  assert.equal(h.image.brokers.get(1)!.incarnationId, 'inc-1');
  const retry = h.register(1);
  assert.equal(value(retry).brokerEpoch, 0);
  assert.equal(h.image.brokers.get(1)!.brokerEpoch, 0);
  // The retry amends the registration without unfencing it.
  assert.equal(h.image.brokers.get(1)!.fenced, true);
  h.heartbeat(1);
  assert.equal(h.image.brokers.get(1)!.fenced, false);
  assert.equal(value(h.register(1)).brokerEpoch, 0);
  assert.equal(h.image.brokers.get(1)!.fenced, false, 'a retry keeps the unfenced state');
});

test('registerBroker: a new incarnation while the old session lives is DUPLICATE_BROKER_REGISTRATION, after it a new epoch, fenced', () => {
  const h = new Harness();
  h.startBrokers(1, 2);
  h.createTopic('t', 2, 2);
  assert.equal(code(h.register(1, 'inc-1b')), ErrorCode.DUPLICATE_BROKER_REGISTRATION);
  h.now += SESSION_MS + 1;
  h.heartbeat(2);
  h.tick(); // broker 1's session expired: fenced
  assert.equal(h.image.brokers.get(1)!.fenced, true);
  const restarted = h.register(1, 'inc-1b');
  assert.equal(value(restarted).brokerEpoch, 1);
  assert.equal(h.image.brokers.get(1)!.fenced, true);
  assert.ok(restarted.decision.events.some((e) => e.event === 'broker-registered' && e.restarted));
});

test('registerBroker: a restart right after a controlled shutdown (fenced) is accepted at once and leaves every ISR', () => {
  const h = new Harness();
  h.startBrokers(1, 2, 3);
  h.createTopic('t', 3, 3);
  // Broker 1 shuts down cleanly: leaderships move, then it is told to stop and is fenced.
  h.heartbeat(1, { wantShutDown: true });
  h.heartbeatAll([1]);
  assert.equal(value(h.heartbeat(1, { wantShutDown: true })).shouldShutDown, true);
  assert.equal(h.image.brokers.get(1)!.fenced, true);
  assert.equal(value(h.register(1, 'inc-1b')).brokerEpoch, 1);
  for (const p of topicByName(h.image, 't')!.partitions) assert.ok(!p.isr.includes(1) && p.leader !== 1);
});

// After kill -9 the restarted broker waited the old incarnation's whole session (broker.session.timeout.ms,
// 9 s) on DUPLICATE_BROKER_REGISTRATION. Holding its data directory's lock, it now names the incarnation it
// registered last: provably dead, so that session ends at once.
test('registerBroker after kill -9: naming the registered incarnation as previousIncarnationId restarts at once, with the records of an expired-session restart', () => {
  const setUp = (): Harness => {
    const h = new Harness();
    h.startBrokers(1, 2, 3);
    h.createTopic('t', 3, 3);
    return h;
  };
  // The old path: broker 1 stays silent past its session (not yet fenced by a tick), then registers anew.
  const expired = setUp();
  expired.now += SESSION_MS + 1;
  const afterExpiry = expired.register(1, 'inc-1b');
  assert.equal(value(afterExpiry).brokerEpoch, 1);

  const proved = setUp();
  assert.equal(proved.image.brokers.get(1)!.fenced, false);
  assert.ok([0, 1, 2].some((id) => proved.partition('t', id).leader === 1), 'broker 1 leads something before the kill');
  const restarted = proved.register(1, 'inc-1b', null, 'inc-1');
  assert.equal(value(restarted).brokerEpoch, 1, 'a new broker epoch, with the old session still valid');
  assert.deepEqual(restarted.decision.records, afterExpiry.decision.records);
  assert.deepEqual(restarted.decision.events, afterExpiry.decision.events);
  const broker = proved.image.brokers.get(1)!;
  assert.equal(broker.fenced, true);
  assert.equal(broker.incarnationId, 'inc-1b');
  // The old incarnation leads nothing and left every ISR (handleBrokerUncleanShutdown).
  for (const p of topicByName(proved.image, 't')!.partitions) assert.ok(!p.isr.includes(1) && p.leader !== 1);
  assert.ok(restarted.decision.events.some((e) => e.event === 'broker-registered' && e.restarted));
  // The old incarnation's heartbeats are stale now; the new one is unfenced once caught up.
  assert.equal(code(proved.heartbeat(1, { epoch: 0 })), ErrorCode.STALE_BROKER_EPOCH);
  assert.equal(value(proved.heartbeat(1)).isFenced, false);
});

test('registerBroker: a previousIncarnationId that is not the registered incarnation keeps DUPLICATE_BROKER_REGISTRATION while the session lives', () => {
  const h = new Harness();
  h.startBrokers(1, 2);
  h.createTopic('t', 2, 2);
  // Another, older incarnation (a file from before the last registration): proves nothing about inc-1.
  assert.equal(code(h.register(1, 'inc-1c', null, 'inc-1-older')), ErrorCode.DUPLICATE_BROKER_REGISTRATION);
  // No previous incarnation at all: Kafka's rule.
  assert.equal(code(h.register(1, 'inc-1c')), ErrorCode.DUPLICATE_BROKER_REGISTRATION);
  // The refused attempts changed nothing: broker 1 is still registered, unfenced, at epoch 0.
  const broker = h.image.brokers.get(1)!;
  assert.deepEqual([broker.incarnationId, broker.brokerEpoch, broker.fenced], ['inc-1', 0, false]);
  // A brand-new broker id with a previousIncarnationId registers as any new broker does.
  assert.equal(value(h.register(3, 'inc-3', null, 'inc-3-before')).brokerEpoch, 0);
});

test('registerBroker: another cluster id is INCONSISTENT_CLUSTER_ID', () => {
  const h = new Harness({}, { clusterId: 'other' });
  assert.equal(code(h.register(1)), ErrorCode.INCONSISTENT_CLUSTER_ID);
  assert.equal(h.image.brokers.size, 0);
});

// ---- heartbeats and fencing ----

test('brokerHeartbeat: STALE_BROKER_EPOCH for an old or unknown epoch; unfenced only once caught up with its registration', () => {
  const h = new Harness();
  assert.equal(code(h.heartbeat(1, { epoch: 0 })), ErrorCode.STALE_BROKER_EPOCH);
  h.register(1);
  const registeredAt = h.image.offset;
  assert.equal(code(h.heartbeat(1, { epoch: 7 })), ErrorCode.STALE_BROKER_EPOCH);
  const behind = value(h.heartbeat(1, { offset: registeredAt - 1 }));
  assert.deepEqual(behind, { isCaughtUp: false, isFenced: true, shouldShutDown: false });
  assert.equal(h.image.brokers.get(1)!.fenced, true);
  const caughtUp = h.heartbeat(1, { offset: registeredAt });
  assert.deepEqual(value(caughtUp), { isCaughtUp: true, isFenced: false, shouldShutDown: false });
  assert.equal(h.image.brokers.get(1)!.fenced, false);
  assert.ok(caughtUp.decision.events.some((e) => e.event === 'broker-unfenced' && e.brokerId === 1));
});

test('session timeout: a silent broker is fenced, its leaderships move to the next ISR member with leader epoch + 1', () => {
  const h = new Harness();
  h.startBrokers(1, 2, 3);
  h.createTopic('t', 3, 3);
  const before = topicByName(h.image, 't')!.partitions;
  h.now += SESSION_MS;
  h.heartbeatAll([1]);
  assert.equal(h.tick().records.length, 0, 'not fenced at exactly the session timeout');
  h.now += 1;
  const fenced = h.tick();
  assert.ok(fenced.events.some((e) => e.event === 'broker-fenced' && e.brokerId === 1 && e.reason === 'session-timeout'));
  assert.equal(h.image.brokers.get(1)!.fenced, true);
  for (const p of topicByName(h.image, 't')!.partitions) {
    const old = before[p.partitionId]!;
    assert.ok(!p.isr.includes(1), 'the fenced broker leaves the ISR');
    assert.notEqual(p.leader, 1);
    if (old.leader === 1) {
      assert.equal(p.leader, old.replicas.find((r) => r !== 1), 'first live ISR member in replica order');
      assert.equal(p.leaderEpoch, old.leaderEpoch + 1);
    } else {
      assert.equal(p.leaderEpoch, old.leaderEpoch);
    }
    assert.equal(p.partitionEpoch, old.partitionEpoch + 1);
  }
  const election = fenced.events.find((e) => e.event === 'leader-election');
  assert.ok(election !== undefined && election.event === 'leader-election' && election.oldLeader === 1);
});

test('the last ISR member fenced: leader -1 with the ISR kept; it leads again when unfenced', () => {
  const h = new Harness();
  h.startBrokers(1, 2);
  h.createTopic('t', 1, 1);
  const owner = h.partition('t', 0).leader;
  const other = owner === 1 ? 2 : 1;
  h.now += SESSION_MS + 1;
  h.heartbeat(other);
  h.tick();
  let p = h.partition('t', 0);
  assert.equal(p.leader, -1);
  assert.deepEqual([...p.isr], [owner]);
  assert.equal(p.leaderEpoch, 1);
  h.heartbeat(owner); // it comes back with the same epoch and is caught up
  p = h.partition('t', 0);
  assert.equal(p.leader, owner);
  assert.equal(p.leaderEpoch, 2);
});

test('no live ISR member: no unclean election by default; with the topic override a live replica leads and the ISR is just it', () => {
  for (const unclean of [false, true]) {
    const h = new Harness();
    h.startBrokers(1, 2);
    h.createTopic('t', 1, 2, unclean ? [{ name: 'unclean.leader.election.enable', value: 'true' }] : []);
    const [first, second] = h.partition('t', 0).replicas as [number, number];
    // The follower falls out of the ISR, then the leader dies.
    const p0 = h.partition('t', 0);
    assert.ok(h.send<'alterPartition'>({
      type: 'alterPartition', brokerId: first, brokerEpoch: h.epochs.get(first)!,
      partitions: [{ topicId: p0.topicId, partitionId: 0, leaderEpoch: p0.leaderEpoch, partitionEpoch: p0.partitionEpoch, newIsr: [first] }],
    }).ok);
    h.now += SESSION_MS + 1;
    h.heartbeat(second);
    h.tick();
    h.tick();
    const p = h.partition('t', 0);
    if (unclean) {
      assert.equal(p.leader, second);
      assert.deepEqual([...p.isr], [second]);
      assert.equal(p.leaderRecoveryState, RECOVERING, 'KIP-704: an unclean election leaves the partition RECOVERING');
    } else {
      assert.equal(p.leader, -1);
      assert.deepEqual([...p.isr], [first]);
      assert.equal(p.leaderRecoveryState, undefined);
    }
  }
});

test('KIP-704: RECOVERING keeps the ISR to the leader until its AlterPartition reports RECOVERED; never back to RECOVERING', () => {
  const h = new Harness();
  h.startBrokers(1, 2, 3);
  h.createTopic('t', 1, 3);
  const start = h.partition('t', 0);
  const [first, second, third] = start.replicas as [number, number, number];
  // Only the leader stays in the ISR; it dies; an unclean ElectLeaders makes a follower lead.
  assert.ok(h.send<'alterPartition'>({
    type: 'alterPartition', brokerId: first, brokerEpoch: h.epochs.get(first)!,
    partitions: [{ topicId: start.topicId, partitionId: 0, leaderEpoch: start.leaderEpoch, partitionEpoch: start.partitionEpoch, newIsr: [first] }],
  }).ok);
  h.now += SESSION_MS + 1;
  h.heartbeat(second);
  h.heartbeat(third);
  h.tick();
  assert.equal(h.partition('t', 0).leader, -1);
  const elected = h.send<'electLeaders'>({ type: 'electLeaders', electionType: 1, partitions: [{ topic: 't', partitionId: 0 }] });
  assert.equal(value(elected).partitions[0]!.errorCode, ErrorCode.NONE);
  assert.ok(elected.decision.records.some((r) => r.type === 'PartitionChange' && r.leaderRecoveryState === RECOVERING));
  const p = h.partition('t', 0);
  assert.equal(p.leader, second);
  assert.deepEqual([...p.isr], [second]);
  assert.equal(p.leaderRecoveryState, RECOVERING);
  const alter = (newIsr: number[], leaderRecoveryState: LeaderRecoveryState | undefined, at = h.partition('t', 0)) => value(h.send<'alterPartition'>({
    type: 'alterPartition', brokerId: second, brokerEpoch: h.epochs.get(second)!,
    partitions: [{ topicId: at.topicId, partitionId: 0, leaderEpoch: at.leaderEpoch, partitionEpoch: at.partitionEpoch, newIsr, leaderRecoveryState }],
  })).partitions[0]!;
  // Still recovering: the ISR cannot grow (ReplicationControlManager.validateAlterPartitionData).
  assert.equal(alter([second, third], RECOVERING).errorCode, ErrorCode.INVALID_REQUEST);
  // Recovering with the ISR unchanged changes nothing.
  const same = alter([second], RECOVERING);
  assert.equal(same.errorCode, ErrorCode.NONE);
  assert.equal(same.partitionEpoch, p.partitionEpoch);
  assert.equal(same.leaderRecoveryState, RECOVERING);
  // The leader's expansion reports RECOVERED: both commit in one record, one partition epoch.
  const expanded = alter([second, third], RECOVERED);
  assert.equal(expanded.errorCode, ErrorCode.NONE);
  assert.equal(expanded.leaderRecoveryState, RECOVERED);
  assert.deepEqual(expanded.isr, [second, third]);
  assert.equal(expanded.partitionEpoch, p.partitionEpoch + 1);
  const recovered = h.partition('t', 0);
  assert.equal(recovered.leaderRecoveryState, undefined);
  assert.deepEqual([...recovered.isr], [second, third]);
  // A recovered partition does not go back to recovering.
  assert.equal(alter([second], RECOVERING).errorCode, ErrorCode.INVALID_REQUEST);
  assert.equal(h.partition('t', 0).partitionEpoch, recovered.partitionEpoch);
});

test('KIP-704: a RECOVERED report alone (ISR unchanged) is a change of its own; an AlterPartition without the field means RECOVERED', () => {
  const h = new Harness({ 'unclean.leader.election.enable': 'true' });
  h.startBrokers(1, 2);
  h.createTopic('t', 1, 2);
  const start = h.partition('t', 0);
  const [first, second] = start.replicas as [number, number];
  assert.ok(h.send<'alterPartition'>({
    type: 'alterPartition', brokerId: first, brokerEpoch: h.epochs.get(first)!,
    partitions: [{ topicId: start.topicId, partitionId: 0, leaderEpoch: start.leaderEpoch, partitionEpoch: start.partitionEpoch, newIsr: [first] }],
  }).ok);
  h.now += SESSION_MS + 1;
  h.heartbeat(second);
  h.tick();
  const p = h.partition('t', 0);
  assert.equal(p.leader, second);
  assert.equal(p.leaderRecoveryState, RECOVERING, 'the unclean election when the leader is fenced (static default) marks it too');
  const item = value(h.send<'alterPartition'>({
    type: 'alterPartition', brokerId: second, brokerEpoch: h.epochs.get(second)!,
    partitions: [{ topicId: p.topicId, partitionId: 0, leaderEpoch: p.leaderEpoch, partitionEpoch: p.partitionEpoch, newIsr: [second] }],
  })).partitions[0]!;
  assert.equal(item.errorCode, ErrorCode.NONE);
  assert.equal(item.leaderRecoveryState, RECOVERED);
  assert.equal(item.partitionEpoch, p.partitionEpoch + 1);
  assert.equal(h.partition('t', 0).leaderRecoveryState, undefined);
  assert.equal(h.partition('t', 0).leaderEpoch, p.leaderEpoch);
});

test('unclean.leader.election.enable as a static broker default applies to every topic', () => {
  const h = new Harness({ 'unclean.leader.election.enable': 'true' });
  h.startBrokers(1, 2);
  h.createTopic('t', 1, 2);
  const p0 = h.partition('t', 0);
  const [first, second] = p0.replicas as [number, number];
  h.send<'alterPartition'>({
    type: 'alterPartition', brokerId: first, brokerEpoch: h.epochs.get(first)!,
    partitions: [{ topicId: p0.topicId, partitionId: 0, leaderEpoch: p0.leaderEpoch, partitionEpoch: p0.partitionEpoch, newIsr: [first] }],
  });
  h.now += SESSION_MS + 1;
  h.heartbeat(second);
  h.tick();
  assert.equal(h.partition('t', 0).leader, second);
});

// ---- controlled shutdown ----

test('controlled shutdown: leaderships move from the ISR minus the broker, then shouldShutDown once the others have seen it', () => {
  const h = new Harness();
  h.startBrokers(1, 2, 3);
  h.createTopic('t', 6, 3);
  const first = value(h.heartbeat(1, { wantShutDown: true }));
  assert.deepEqual(first, { isCaughtUp: true, isFenced: false, shouldShutDown: false });
  assert.equal(h.image.brokers.get(1)!.inControlledShutdown, true);
  for (const p of topicByName(h.image, 't')!.partitions) {
    assert.notEqual(p.leader, 1);
    assert.ok(!p.isr.includes(1));
  }
  // Brokers 2 and 3 have not reported the shutdown's offset yet: not yet.
  assert.equal(value(h.heartbeat(1, { wantShutDown: true })).shouldShutDown, false);
  h.heartbeatAll([1]);
  const done = value(h.heartbeat(1, { wantShutDown: true }));
  assert.deepEqual(done, { isCaughtUp: true, isFenced: true, shouldShutDown: true });
  assert.equal(h.image.brokers.get(1)!.fenced, true);
  // A broker in controlled shutdown may not rejoin an ISR.
  const p = h.partition('t', 0);
  const add = h.send<'alterPartition'>({
    type: 'alterPartition', brokerId: p.leader, brokerEpoch: h.epochs.get(p.leader)!,
    partitions: [{ topicId: p.topicId, partitionId: 0, leaderEpoch: p.leaderEpoch, partitionEpoch: p.partitionEpoch, newIsr: [...p.isr, 1] }],
  });
  assert.equal(value(add).partitions[0]!.errorCode, ErrorCode.INELIGIBLE_REPLICA);
});

test('controlled shutdown of a broker leading nothing: shouldShutDown at once', () => {
  const h = new Harness();
  h.startBrokers(1, 2);
  assert.deepEqual(value(h.heartbeat(2, { wantShutDown: true })), { isCaughtUp: true, isFenced: true, shouldShutDown: true });
});

// ---- AlterPartition ----

test('alterPartition: broker epoch, leader, leader epoch, partition epoch, ISR checks; success bumps only the partition epoch', () => {
  const h = new Harness();
  h.startBrokers(1, 2, 3);
  h.createTopic('t', 1, 3);
  const p = h.partition('t', 0);
  const leader = p.leader;
  const follower = p.replicas.find((r) => r !== leader)!;
  const item = (fields: Partial<{ leaderEpoch: number; partitionEpoch: number; newIsr: number[] }>) => ({
    topicId: p.topicId, partitionId: 0, leaderEpoch: p.leaderEpoch, partitionEpoch: p.partitionEpoch, newIsr: [leader, follower], ...fields,
  });
  const alter = (brokerId: number, fields: Parameters<typeof item>[0], brokerEpoch = h.epochs.get(brokerId)!) =>
    h.send<'alterPartition'>({ type: 'alterPartition', brokerId, brokerEpoch, partitions: [item(fields)] });
  assert.equal(code(alter(leader, {}, 99)), ErrorCode.STALE_BROKER_EPOCH);
  const itemCode = (o: ControllerOutcomeOf<'alterPartition'>) => value(o).partitions[0]!.errorCode;
  assert.equal(itemCode(alter(follower, {})), ErrorCode.INVALID_REQUEST, 'only the leader alters the ISR');
  assert.equal(itemCode(alter(leader, { leaderEpoch: p.leaderEpoch + 1 })), ErrorCode.NOT_CONTROLLER);
  assert.equal(itemCode(alter(leader, { newIsr: [leader, 9] })), ErrorCode.INVALID_REQUEST, 'ISR outside the replicas');
  assert.equal(itemCode(alter(leader, { newIsr: [follower] })), ErrorCode.INVALID_REQUEST, 'ISR without the leader');
  assert.equal(itemCode(alter(leader, { newIsr: [leader, leader] })), ErrorCode.INVALID_REQUEST);
  const shrunk = value(alter(leader, {})).partitions[0]!;
  assert.equal(shrunk.errorCode, ErrorCode.NONE);
  assert.deepEqual(shrunk.isr, [leader, follower]);
  assert.equal(shrunk.leaderEpoch, p.leaderEpoch);
  assert.equal(shrunk.partitionEpoch, p.partitionEpoch + 1);
  assert.equal(h.partition('t', 0).partitionEpoch, p.partitionEpoch + 1);
  assert.equal(h.partition('t', 0).leaderEpoch, p.leaderEpoch);
  assert.equal(itemCode(alter(leader, {})), ErrorCode.INVALID_UPDATE_VERSION, 'a stale partition epoch');
  // A fenced broker cannot join the ISR.
  const third = p.replicas.find((r) => r !== leader && r !== follower)!;
  h.send<'brokerHeartbeat'>({ type: 'brokerHeartbeat', brokerId: third, brokerEpoch: h.epochs.get(third)!, currentMetadataOffset: h.image.offset, wantFence: true, wantShutDown: false });
  assert.equal(h.image.brokers.get(third)!.fenced, true);
  assert.equal(itemCode(alter(leader, { partitionEpoch: p.partitionEpoch + 1, newIsr: [leader, follower, third] })), ErrorCode.INELIGIBLE_REPLICA);
  // A leader epoch from before an election is FENCED_LEADER_EPOCH.
  h.now += SESSION_MS + 1;
  h.heartbeatAll([leader]);
  h.tick();
  const after = h.partition('t', 0);
  assert.notEqual(after.leader, leader);
  assert.equal(itemCode(alter(after.leader, { leaderEpoch: p.leaderEpoch, partitionEpoch: after.partitionEpoch, newIsr: [after.leader] })), ErrorCode.FENCED_LEADER_EPOCH);
});

// Controller simulation seed 146807: a second copy of an AlterPartition refused INELIGIBLE_REPLICA (its new
// member fenced) reached the controller after the member was unfenced, named the still-current partition
// epoch and was accepted, after the leader had dropped the proposal and acknowledged records without it.
test('alterPartition: unfencing a broker bumps the partition epoch where it is a replica outside the ISR, so a copy of a proposal refused INELIGIBLE_REPLICA is never accepted after (seed 146807)', () => {
  const h = new Harness();
  h.startBrokers(1, 2, 3);
  h.createTopic('t', 3, 3);
  const p = h.partition('t', 0);
  const leader = p.leader;
  const [a, b] = p.replicas.filter((r) => r !== leader) as [number, number];
  const alter = (isr: number[], at: PartitionImage) => value(h.send<'alterPartition'>({
    type: 'alterPartition', brokerId: leader, brokerEpoch: h.epochs.get(leader)!,
    partitions: [{ topicId: at.topicId, partitionId: 0, leaderEpoch: at.leaderEpoch, partitionEpoch: at.partitionEpoch, newIsr: isr }],
  })).partitions[0]!;
  // b leaves the ISR (the leader's shrink), then is fenced: it is a replica outside the ISR.
  assert.equal(alter([leader, a], p).errorCode, ErrorCode.NONE);
  h.heartbeat(b, { wantFence: true });
  assert.equal(h.image.brokers.get(b)!.fenced, true);
  const shrunk = h.partition('t', 0);
  assert.deepEqual(shrunk.isr, [leader, a]);
  // The leader proposes b back; refused while b is fenced, nothing committed.
  assert.equal(alter([leader, a, b], shrunk).errorCode, ErrorCode.INELIGIBLE_REPLICA);
  assert.equal(h.partition('t', 0).partitionEpoch, shrunk.partitionEpoch);
  // b is unfenced with the same broker epoch: the partition epoch moves, leader, leader epoch and ISR do not.
  const unfence = h.heartbeat(b);
  assert.equal(value(unfence).isFenced, false);
  const after = h.partition('t', 0);
  assert.equal(after.partitionEpoch, shrunk.partitionEpoch + 1);
  assert.equal(after.leaderEpoch, shrunk.leaderEpoch);
  assert.equal(after.leader, leader);
  assert.deepEqual(after.isr, [leader, a]);
  assert.ok(unfence.decision.records.some((r) => r.type === 'PartitionChange' && r.topicId === p.topicId && r.partitionId === 0 && r.isr === undefined && r.leader === undefined));
  // The late copy of the refused proposal is stale; a fresh proposal at the new epoch is accepted.
  assert.equal(alter([leader, a, b], shrunk).errorCode, ErrorCode.INVALID_UPDATE_VERSION);
  assert.deepEqual(h.partition('t', 0).isr, [leader, a]);
  assert.equal(alter([leader, a, b], after).errorCode, ErrorCode.NONE);
});

test('unfencing bumps only partitions that list the broker outside their ISR, once each, not those it is no replica of', () => {
  const h = new Harness();
  h.startBrokers(1, 2, 3);
  h.createTopic('t', 3, 3);
  h.createTopic('one', 3, 1);
  h.heartbeat(3, { wantFence: true });
  const before = h.image;
  const expected = [...before.topicsById.values()].flatMap((t) => t.partitions)
    .filter((p) => p.replicas.includes(3) && !p.isr.includes(3))
    .map((p) => `${p.topicId}/${p.partitionId}`).sort();
  const changed = h.heartbeat(3).decision.records.filter((r) => r.type === 'PartitionChange').map((r) => `${r.topicId}/${r.partitionId}`).sort();
  // Every partition of 't' (3 left their ISRs when fenced) and none of 'one' it does not replicate; the
  // single-replica partitions it leads alone kept it in the ISR (leaderless) and are elected, not bumped twice.
  assert.deepEqual(changed.filter((k) => expected.includes(k)), expected);
  assert.equal(new Set(changed).size, changed.length);
  for (const p of topicByName(before, 'one')!.partitions) {
    if (!p.replicas.includes(3)) assert.equal(h.partition('one', p.partitionId).partitionEpoch, p.partitionEpoch);
  }
});

test('alterPartition: unknown topic id is UNKNOWN_TOPIC_ID, unknown partition UNKNOWN_TOPIC_OR_PARTITION', () => {
  const h = new Harness();
  h.startBrokers(1);
  h.createTopic('t', 1, 1);
  const p = h.partition('t', 0);
  const outcome = h.send<'alterPartition'>({
    type: 'alterPartition', brokerId: 1, brokerEpoch: 0, partitions: [
      { topicId: 'nope', partitionId: 0, leaderEpoch: 0, partitionEpoch: 0, newIsr: [1] },
      { topicId: p.topicId, partitionId: 5, leaderEpoch: 0, partitionEpoch: 0, newIsr: [1] },
    ],
  });
  assert.deepEqual(value(outcome).partitions.map((r) => r.errorCode), [ErrorCode.UNKNOWN_TOPIC_ID, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION]);
});

// ---- ElectLeaders and rebalance ----

test('electLeaders preferred: ELECTION_NOT_NEEDED, PREFERRED_LEADER_NOT_AVAILABLE, and a move back to the preferred replica', () => {
  const h = new Harness();
  h.startBrokers(1, 2, 3);
  h.createTopic('t', 3, 3);
  const elect = (partitions: { topic: string; partitionId: number }[] | null) =>
    value(h.send<'electLeaders'>({ type: 'electLeaders', electionType: 0, partitions })).partitions;
  assert.deepEqual(elect([{ topic: 't', partitionId: 0 }]).map((r) => r.errorCode), [ErrorCode.ELECTION_NOT_NEEDED]);
  assert.deepEqual(elect(null), [], 'all partitions: those not needing an election are left out');
  assert.deepEqual(elect([{ topic: 'nope', partitionId: 0 }]).map((r) => r.errorCode), [ErrorCode.UNKNOWN_TOPIC_OR_PARTITION]);
  // Broker 1 restarts: its preferred partitions are led elsewhere.
  h.heartbeat(1, { wantShutDown: true });
  h.heartbeatAll([1]);
  h.heartbeat(1, { wantShutDown: true });
  const preferredOf1 = topicByName(h.image, 't')!.partitions.filter((p) => p.replicas[0] === 1).map((p) => p.partitionId);
  assert.equal(elect(preferredOf1.map((partitionId) => ({ topic: 't', partitionId })))[0]!.errorCode, ErrorCode.PREFERRED_LEADER_NOT_AVAILABLE);
  h.register(1, 'inc-1b');
  h.heartbeat(1);
  // Back in the ISR through its leader's AlterPartition, then elected.
  for (const id of preferredOf1) {
    const p = h.partition('t', id);
    h.send<'alterPartition'>({
      type: 'alterPartition', brokerId: p.leader, brokerEpoch: h.epochs.get(p.leader)!,
      partitions: [{ topicId: p.topicId, partitionId: id, leaderEpoch: p.leaderEpoch, partitionEpoch: p.partitionEpoch, newIsr: [...p.isr, 1] }],
    });
  }
  const results = elect(null);
  assert.deepEqual(results.map((r) => [r.partitionId, r.errorCode]), preferredOf1.map((id) => [id, ErrorCode.NONE]));
  for (const id of preferredOf1) assert.equal(h.partition('t', id).leader, 1);
});

test('electLeaders unclean: only leaderless partitions, any live replica', () => {
  const h = new Harness();
  h.startBrokers(1, 2);
  h.createTopic('t', 1, 2);
  const p0 = h.partition('t', 0);
  const [first, second] = p0.replicas as [number, number];
  const unclean = () => value(h.send<'electLeaders'>({ type: 'electLeaders', electionType: 1, partitions: [{ topic: 't', partitionId: 0 }] })).partitions[0]!.errorCode;
  assert.equal(unclean(), ErrorCode.ELECTION_NOT_NEEDED);
  h.send<'alterPartition'>({
    type: 'alterPartition', brokerId: first, brokerEpoch: h.epochs.get(first)!,
    partitions: [{ topicId: p0.topicId, partitionId: 0, leaderEpoch: p0.leaderEpoch, partitionEpoch: p0.partitionEpoch, newIsr: [first] }],
  });
  h.now += SESSION_MS + 1;
  h.heartbeat(second);
  h.tick();
  assert.equal(h.partition('t', 0).leader, -1);
  assert.equal(unclean(), ErrorCode.NONE);
  assert.equal(h.partition('t', 0).leader, second);
  assert.deepEqual([...h.partition('t', 0).isr], [second]);
});

test('auto rebalance: after the check interval, preferred leaders back in the ISR take their leaderships back', () => {
  const h = new Harness({}, { imbalanceMs: 5000 });
  h.startBrokers(1, 2, 3);
  h.createTopic('t', 12, 3);
  h.heartbeat(1, { wantShutDown: true });
  h.heartbeatAll([1]);
  h.heartbeat(1, { wantShutDown: true });
  h.register(1, 'inc-1b');
  h.heartbeat(1);
  for (const p of topicByName(h.image, 't')!.partitions) {
    h.send<'alterPartition'>({
      type: 'alterPartition', brokerId: p.leader, brokerEpoch: h.epochs.get(p.leader)!,
      partitions: [{ topicId: p.topicId, partitionId: p.partitionId, leaderEpoch: p.leaderEpoch, partitionEpoch: p.partitionEpoch, newIsr: [...p.isr, 1] }],
    });
  }
  assert.equal(leaderCounts(h, 't').get(1), undefined);
  assert.equal(h.tick().records.length, 0, 'not before the interval');
  h.now += 5000;
  h.heartbeatAll();
  const result = h.tick();
  assert.equal(result.events.filter((e) => e.event === 'leader-election').length, 4);
  assert.deepEqual([...leaderCounts(h, 't')].sort(), [[1, 4], [2, 4], [3, 4]]);
});

test('auto rebalance off: auto.leader.rebalance.enable=false leaves leaders where they are', () => {
  const h = new Harness({ 'auto.leader.rebalance.enable': 'false' }, { imbalanceMs: 10 });
  h.startBrokers(1, 2);
  h.createTopic('t', 2, 2);
  h.heartbeat(1, { wantShutDown: true });
  h.heartbeatAll([1]);
  h.heartbeat(1, { wantShutDown: true });
  h.register(1, 'inc-1b');
  h.heartbeat(1);
  h.now += 1000;
  h.heartbeatAll();
  assert.equal(h.tick().records.length, 0);
});

// ---- producer ids ----

test('allocateProducerIds: STALE_BROKER_EPOCH for an old epoch; blocks never overlap', () => {
  const h = new Harness();
  h.startBrokers(1, 2);
  assert.equal(code(h.send<'allocateProducerIds'>({ type: 'allocateProducerIds', brokerId: 1, brokerEpoch: 5 })), ErrorCode.STALE_BROKER_EPOCH);
  const a = value(h.send<'allocateProducerIds'>({ type: 'allocateProducerIds', brokerId: 1, brokerEpoch: 0 }));
  const b = value(h.send<'allocateProducerIds'>({ type: 'allocateProducerIds', brokerId: 2, brokerEpoch: 0 }));
  assert.equal(b.producerIdStart, a.producerIdStart + a.producerIdLen);
});

test('a newly active controller restarts every session at activation (no fencing for time it did not watch)', () => {
  const h = new Harness();
  h.startBrokers(1, 2);
  h.now += 60_000;
  h.core.activate(h.image, h.now);
  h.now += SESSION_MS;
  assert.equal(h.tick().records.length, 0);
  h.now += 1;
  assert.equal(h.tick().events[0]?.event, 'broker-fenced');
});

test('a broker in controlled shutdown stays out: its own delayed heartbeat without wantShutDown does not unfence it', () => {
  const h = new Harness();
  h.startBrokers(1, 2);
  h.createTopic('t', 2, 2);
  h.heartbeat(1, { wantShutDown: true });
  h.heartbeatAll([1]);
  assert.equal(value(h.heartbeat(1, { wantShutDown: true })).shouldShutDown, true);
  const late = value(h.heartbeat(1, { offset: 0 }));
  assert.equal(late.isFenced, true);
  assert.equal(h.image.brokers.get(1)!.fenced, true);
  for (const p of topicByName(h.image, 't')!.partitions) assert.notEqual(p.leader, 1);
  // Only a new incarnation comes back.
  h.register(1, 'inc-1b');
  assert.equal(h.image.brokers.get(1)!.inControlledShutdown, false);
  assert.equal(value(h.heartbeat(1)).isFenced, false);
});

test('an expired heartbeat only keeps the session: it does not unfence a broker fenced since', () => {
  const h = new Harness();
  h.startBrokers(1, 2);
  h.now += SESSION_MS + 1;
  h.heartbeat(2);
  h.tick();
  assert.equal(h.image.brokers.get(1)!.fenced, true);
  const late = { type: 'brokerHeartbeat' as const, brokerId: 1, brokerEpoch: 0, currentMetadataOffset: h.image.offset, wantFence: false, wantShutDown: false };
  const decision = h.core.expiredHeartbeat(late, h.image, h.now);
  assert.deepEqual([decision.records.length, code(decision.outcome)], [0, ErrorCode.REQUEST_TIMED_OUT]);
  assert.equal(code(h.core.expiredHeartbeat({ ...late, brokerEpoch: 3 }, h.image, h.now).outcome), ErrorCode.STALE_BROKER_EPOCH);
});
