// KIP-848 over the socket: ConsumerGroupHeartbeat / ConsumerGroupDescribe, group configs through
// IncrementalAlterConfigs GROUP resources (read by the coordinator at the next heartbeat), DescribeConfigs
// of a GROUP, ListGroups' type filter, and the group surviving a restart (its records replayed).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ApiKey } from '../../src/protocol/generated/index.js';
import { ErrorCode } from '../../src/protocol/errors.js';
import { call } from './kafka-test-client.js';
import { createTopic, startHarness, type Harness } from './standalone-harness.js';

const GROUP = 32;
const GROUP_CONFIG_SOURCE = 8;

async function untilCoordinator(h: Harness, groupId: string): Promise<void> {
  for (let i = 0; i < 100; i++) {
    const found = (await call(h.client, ApiKey.FindCoordinator, 4, { key: '', keyType: 0, coordinatorKeys: [groupId] })).body.coordinators[0];
    if (found?.errorCode === ErrorCode.NONE) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  assert.fail('no coordinator');
}

async function heartbeat(h: Harness, fields: Record<string, unknown>) {
  const base = {
    groupId: 'cg', memberId: 'member-1', memberEpoch: 0, instanceId: null, rackId: null, rebalanceTimeoutMs: -1,
    subscribedTopicNames: null, subscribedTopicRegex: null, serverAssignor: null, topicPartitions: null,
  };
  for (let i = 0; i < 100; i++) {
    const { body } = await call(h.client, ApiKey.ConsumerGroupHeartbeat, 1, { ...base, ...fields });
    if (body.errorCode !== ErrorCode.COORDINATOR_LOAD_IN_PROGRESS) return body;
    await new Promise((r) => setTimeout(r, 20));
  }
  assert.fail('coordinator never loaded');
}

test('consumer group over the socket: join, describe, group configs, list, restart', async () => {
  let h = await startHarness({ 'offsets.topic.num.partitions': '3' });
  try {
    const topicId = await createTopic(h, 'orders', 4);
    await untilCoordinator(h, 'cg');
    const joined = await heartbeat(h, { rebalanceTimeoutMs: 30000, subscribedTopicNames: ['orders'], topicPartitions: [] });
    assert.deepEqual([joined.errorCode, joined.memberId, joined.memberEpoch, joined.heartbeatIntervalMs], [ErrorCode.NONE, 'member-1', 1, 5000]);
    assert.deepEqual(joined.assignment?.topicPartitions, [{ topicId, partitions: [0, 1, 2, 3] }]);

    const set = async (value: string) => (await call(h.client, ApiKey.IncrementalAlterConfigs, 1, {
      resources: [{ resourceType: GROUP, resourceName: 'cg', configs: [{ name: 'consumer.heartbeat.interval.ms', configOperation: 0, value }] }],
      validateOnly: false,
    })).body.responses[0]!;
    assert.equal((await set('6000')).errorCode, ErrorCode.NONE);
    const tooLow = await set('10');
    assert.equal(tooLow.errorCode, ErrorCode.INVALID_CONFIG);
    assert.match(tooLow.errorMessage ?? '', /consumer\.heartbeat\.interval\.ms must be greater than or equal to 5000/);
    const next = await heartbeat(h, { memberEpoch: 1, topicPartitions: joined.assignment?.topicPartitions });
    assert.equal(next.heartbeatIntervalMs, 6000, 'the group config is in force at the next heartbeat');
    const described = (await call(h.client, ApiKey.DescribeConfigs, 4, {
      resources: [{ resourceType: GROUP, resourceName: 'cg', configurationKeys: null }], includeSynonyms: false, includeDocumentation: false,
    })).body.results[0]!;
    assert.deepEqual(described.configs.map((c) => [c.name, c.value, c.configSource]), [
      ['consumer.heartbeat.interval.ms', '6000', GROUP_CONFIG_SOURCE], ['consumer.session.timeout.ms', '45000', 5],
    ]);

    const check = async () => {
      const group = (await call(h.client, ApiKey.ConsumerGroupDescribe, 1, { groupIds: ['cg', 'nope'], includeAuthorizedOperations: false })).body.groups;
      assert.deepEqual(group.map((g) => [g.groupId, g.errorCode, g.groupState]), [['cg', ErrorCode.NONE, 'Stable'], ['nope', ErrorCode.GROUP_ID_NOT_FOUND, 'Dead']]);
      assert.deepEqual(group[0]?.members.map((m) => [m.memberId, m.memberEpoch, m.memberType, m.assignment.topicPartitions[0]?.topicName]), [['member-1', 1, 1, 'orders']]);
      const listed = (await call(h.client, ApiKey.ListGroups, 5, { statesFilter: [], typesFilter: ['consumer'] })).body.groups;
      assert.deepEqual(listed.map((g) => [g.groupId, g.groupType]), [['cg', 'consumer']]);
    };
    await check();
    h = await h.restart();
    await untilCoordinator(h, 'cg');
    for (let i = 0; i < 100; i++) {
      const g = (await call(h.client, ApiKey.ConsumerGroupDescribe, 1, { groupIds: ['cg'], includeAuthorizedOperations: false })).body.groups[0];
      if (g?.errorCode !== ErrorCode.COORDINATOR_LOAD_IN_PROGRESS) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    await check();
    // The member comes back at its epoch and carries on.
    const after = await heartbeat(h, { memberEpoch: 1, topicPartitions: joined.assignment?.topicPartitions });
    assert.deepEqual([after.errorCode, after.memberEpoch], [ErrorCode.NONE, 1]);
    const left = await heartbeat(h, { memberEpoch: -1 });
    assert.equal(left.memberEpoch, -1);
  } finally {
    await h.close();
  }
});
