/**
 * Group churn: 20 KafkaJS consumers in one group over a 100-partition topic; for GROUP_CHURN_SECONDS
 * (default 20; the figure is 60) one random member leaves and a new one joins every
 * GROUP_CHURN_STEP_MS (default 1000). Then the churn stops and the group must settle: Stable, 20
 * members, every partition assigned exactly once (DescribeGroups, assignments decoded). Bounded: the
 * churn loop by its duration, the settle wait by SETTLE_MS. Prints the figures as diagnostics.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Kafka, logLevel, type Consumer } from 'kafkajs';
import { startBroker } from '../../src/index.js';
import { decodeAssignment } from '../../src/group/consumer-protocol.js';
import { Prng } from '../../src/common/prng.js';

const TOPIC = 'churn';
const PARTITIONS = 100;
const MEMBERS = 20;
const CHURN_MS = Number(process.env.GROUP_CHURN_SECONDS ?? '20') * 1000;
const STEP_MS = Number(process.env.GROUP_CHURN_STEP_MS ?? '1000');
const SETTLE_MS = 90_000;
const SEED = Number(process.env.GROUP_CHURN_SEED ?? Date.now() % 1_000_000);

test(`group churn: ${MEMBERS} members, ${PARTITIONS} partitions, join/leave churn, then stable with every partition once (seed ${SEED})`, { timeout: CHURN_MS + SETTLE_MS + 120_000 }, async (t) => {
  const prng = new Prng(SEED);
  const dataDir = await mkdtemp(join(tmpdir(), 'runnel-group-churn-'));
  const broker = await startBroker({ dataDir, port: 0, 'group.initial.rebalance.delay.ms': 500, 'offsets.topic.num.partitions': 10 });
  const kafka = new Kafka({ brokers: [broker.bootstrapServers], clientId: 'churn', logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  const live: Consumer[] = [];
  let joins = 0;
  let churnOps = 0;
  const newMember = async (): Promise<Consumer> => {
    const consumer = kafka.consumer({
      groupId: 'churners', sessionTimeout: 10_000, rebalanceTimeout: 20_000, heartbeatInterval: 500, maxWaitTimeInMs: 500,
    });
    consumer.on(consumer.events.GROUP_JOIN, () => { joins++; });
    await consumer.connect();
    await consumer.subscribe({ topic: TOPIC, fromBeginning: true });
    await consumer.run({ eachMessage: async () => undefined });
    return consumer;
  };
  try {
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: TOPIC, numPartitions: PARTITIONS }] });
    for (let i = 0; i < MEMBERS; i++) live.push(await newMember());

    const churnStart = Date.now();
    for (let step = 0; Date.now() - churnStart < CHURN_MS && step < 100_000; step++) {
      const victim = live.splice(prng.nextUint32() % live.length, 1)[0] as Consumer;
      await victim.disconnect();
      live.push(await newMember());
      churnOps++;
      await new Promise((r) => setTimeout(r, STEP_MS));
    }

    const settleStart = Date.now();
    let problem = 'not described yet';
    while (Date.now() - settleStart < SETTLE_MS) {
      const group = (await admin.describeGroups(['churners'])).groups[0];
      problem = checkAssignment(group);
      if (problem === '') break;
      await new Promise((r) => setTimeout(r, 250));
    }
    const settleMs = Date.now() - settleStart;
    t.diagnostic(`churn ${CHURN_MS} ms, ${churnOps} leave+join pairs, ${joins} member joins (rebalances seen by members), settled in ${settleMs} ms`);
    assert.equal(problem, '', `group did not settle: ${problem}`);
  } finally {
    await Promise.all(live.map((c) => c.disconnect().catch(() => undefined)));
    await admin.disconnect().catch(() => undefined);
    await broker.close();
    await rm(dataDir, { recursive: true, force: true });
  }
});

/** '' when the group is Stable with MEMBERS members and every partition assigned exactly once. */
function checkAssignment(group: { state: string; members: { memberAssignment: Buffer }[] } | undefined): string {
  if (group === undefined) return 'no group';
  if (group.state !== 'Stable') return `state ${group.state}`;
  if (group.members.length !== MEMBERS) return `${group.members.length} members`;
  const counts = new Array<number>(PARTITIONS).fill(0);
  for (const member of group.members) {
    for (const { topic, partitions } of decodeAssignment(member.memberAssignment)) {
      if (topic !== TOPIC) return `assigned topic ${topic}`;
      for (const p of partitions) counts[p] = (counts[p] ?? 0) + 1;
    }
  }
  const wrong = counts.map((n, p) => [p, n]).filter(([, n]) => n !== 1);
  return wrong.length === 0 ? '' : `partitions not assigned exactly once: ${JSON.stringify(wrong.slice(0, 10))}`;
}
