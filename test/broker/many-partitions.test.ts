/**
 * Issue 26, defect 3: one CreateTopics request of 20,000 partitions stalled the broker (Metadata
 * unanswered for 5 s, SIGTERM ignored for over 20 s). Kafka's per-request limit and max.broker.partitions
 * refuse such requests; partitions that are accepted are opened paced, and a close stops between groups.
 */
import { test } from 'node:test';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import assert from 'node:assert/strict';
import { ApiKey } from '../../src/protocol/generated/index.js';
import { ErrorCode } from '../../src/protocol/errors.js';
import { call } from './kafka-test-client.js';
import { startHarness, type Harness } from './standalone-harness.js';

function topic(name: string, numPartitions: number) {
  return { name, numPartitions, replicationFactor: 1, assignments: [], configs: [] };
}

async function createTopics(h: Harness, topics: ReturnType<typeof topic>[], validateOnly = false) {
  const { body } = await call(h.client, ApiKey.CreateTopics, 7, { topics, timeoutMs: 30_000, validateOnly });
  return body.topics.map((t) => [t.name, t.errorCode, t.errorMessage] as const);
}

test('one CreateTopics request stalls the broker (issue 26 defect 3): more than 10,000 partitions per request is POLICY_VIOLATION', async () => {
  const h = await startHarness();
  try {
    const message = 'Excessively large number of partitions per request.';
    // validate_only: today's code would otherwise spend minutes creating them before failing the test.
    assert.deepEqual(await createTopics(h, [topic('huge', 20_000)], true), [['huge', ErrorCode.POLICY_VIOLATION, message]]);
    assert.deepEqual(await createTopics(h, [topic('a', 6_000), topic('b', 5_000)], true), [
      ['a', ErrorCode.POLICY_VIOLATION, message], ['b', ErrorCode.POLICY_VIOLATION, message],
    ]);
    assert.deepEqual(await createTopics(h, [topic('huge', 20_000)]), [['huge', ErrorCode.POLICY_VIOLATION, message]]);
    assert.equal(h.broker.services.metadataLoader.image.topicIdsByName.size, 0, 'nothing created');
    assert.deepEqual(await createTopics(h, [topic('fits', 10_000)], true), [['fits', ErrorCode.NONE, null]]);
  } finally {
    await h.close();
  }
});

test('max.broker.partitions: CreateTopics, CreatePartitions and auto-creation past it answer POLICY_VIOLATION', async () => {
  const h = await startHarness({ 'max.broker.partitions': '100', 'num.partitions': '50' });
  try {
    assert.deepEqual((await createTopics(h, [topic('sixty', 60)])).map(([, code]) => code), [ErrorCode.NONE]);
    const [[, code, message]] = await createTopics(h, [topic('fifty', 50)]) as [readonly [string, number, string | null]];
    assert.equal(code, ErrorCode.POLICY_VIOLATION);
    assert.match(message ?? '', /Broker 1 would host 110 partitions, more than max\.broker\.partitions=100 \(it hosts 60\)/);
    const grown = await call(h.client, ApiKey.CreatePartitions, 3, {
      topics: [{ name: 'sixty', count: 120, assignments: null }], timeoutMs: 30_000, validateOnly: false,
    });
    assert.equal(grown.body.results[0]?.errorCode, ErrorCode.POLICY_VIOLATION);
    const auto = await h.broker.services.topicCreator.create({ name: 'auto', numPartitions: 50, replicationFactor: 1 });
    assert.equal(auto.errorCode, ErrorCode.POLICY_VIOLATION);
    assert.deepEqual((await createTopics(h, [topic('forty', 40)])).map(([, c]) => c), [ErrorCode.NONE], 'up to the limit is fine');
  } finally {
    await h.close();
  }
});

test('creating thousands of partitions: requests are answered meanwhile, close stops between groups, restart opens the rest', { timeout: 300_000 }, async () => {
  const total = 2_000;
  const h = await startHarness();
  let restarted: Harness | undefined;
  try {
    assert.deepEqual((await createTopics(h, [topic('many', total)])).map(([, code]) => code), [ErrorCode.NONE]);
    // The logs are being created now; the broker keeps answering.
    const begun = performance.now();
    const { body } = await call(h.client, ApiKey.Metadata, 12, {
      topics: [{ topicId: '00000000-0000-0000-0000-000000000000', name: 'many' }], allowAutoTopicCreation: false,
      includeClusterAuthorizedOperations: false, includeTopicAuthorizedOperations: false,
    });
    assert.equal(body.topics[0]?.partitions.length, total);
    assert.ok(performance.now() - begun < 2_000, `Metadata answered after ${Math.round(performance.now() - begun)} ms`);
    const hostedBefore = h.broker.services.replicaManager.partitions().length;
    assert.ok(hostedBefore < total, `still opening (${hostedBefore} open)`);
    // A clean stop does not wait for the remaining partitions to be created.
    h.client.destroy();
    const closing = performance.now();
    await h.broker.close();
    const closeMs = performance.now() - closing;
    const createdAtClose = readdirSync(join(h.dataDir, 'wal', 'many')).length;
    assert.ok(createdAtClose < total, `close stopped opening partitions (${createdAtClose} of ${total} created, close took ${Math.round(closeMs)} ms)`);
    restarted = await startHarness({}, h.dataDir);
    await restarted.broker.services.replicaManager.whenIdle();
    assert.equal(restarted.broker.services.replicaManager.partitions().length, total, 'the restart opened the rest');
  } finally {
    if (restarted !== undefined) await restarted.close();
    else await h.close().catch(() => undefined);
  }
});
