import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ErrorCode, findGroupCoordinators, groupAppendError, offsetAppendError, partitionForGroup } from '../../src/group/index.js';

test('the group coordinator answers with Kafka’s exact error codes', () => {
  const expected: Record<string, number> = {
    UNKNOWN_MEMBER_ID: 25,
    ILLEGAL_GENERATION: 22,
    REBALANCE_IN_PROGRESS: 27,
    MEMBER_ID_REQUIRED: 79,
    FENCED_INSTANCE_ID: 82,
    COORDINATOR_LOAD_IN_PROGRESS: 14,
    NOT_COORDINATOR: 16,
    INCONSISTENT_GROUP_PROTOCOL: 23,
    INVALID_SESSION_TIMEOUT: 26,
    GROUP_MAX_SIZE_REACHED: 81,
    UNKNOWN_TOPIC_OR_PARTITION: 3,
    GROUP_ID_NOT_FOUND: 69,
    NON_EMPTY_GROUP: 68,
    GROUP_SUBSCRIBED_TO_TOPIC: 86,
    INVALID_GROUP_ID: 24,
    OFFSET_METADATA_TOO_LARGE: 12,
    UNSTABLE_OFFSET_COMMIT: 88,
    COORDINATOR_NOT_AVAILABLE: 15,
    INVALID_COMMIT_OFFSET_SIZE: 28,
  };
  for (const [name, code] of Object.entries(expected)) assert.equal((ErrorCode as Record<string, number>)[name], code, name);
});

test('append failures map as Kafka’s storeGroup and offset commit callbacks do', () => {
  assert.equal(groupAppendError(ErrorCode.NOT_ENOUGH_REPLICAS), ErrorCode.COORDINATOR_NOT_AVAILABLE);
  assert.equal(groupAppendError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION), ErrorCode.COORDINATOR_NOT_AVAILABLE);
  assert.equal(groupAppendError(ErrorCode.NOT_LEADER_OR_FOLLOWER), ErrorCode.NOT_COORDINATOR);
  assert.equal(groupAppendError(ErrorCode.KAFKA_STORAGE_ERROR), ErrorCode.NOT_COORDINATOR);
  assert.equal(groupAppendError(ErrorCode.REQUEST_TIMED_OUT), ErrorCode.REBALANCE_IN_PROGRESS);
  assert.equal(groupAppendError(ErrorCode.MESSAGE_TOO_LARGE), ErrorCode.UNKNOWN_SERVER_ERROR);
  assert.equal(offsetAppendError(ErrorCode.MESSAGE_TOO_LARGE), ErrorCode.INVALID_COMMIT_OFFSET_SIZE);
  assert.equal(offsetAppendError(ErrorCode.NOT_LEADER_OR_FOLLOWER), ErrorCode.NOT_COORDINATOR);
  assert.equal(offsetAppendError(ErrorCode.CORRUPT_MESSAGE), ErrorCode.CORRUPT_MESSAGE);
});

test('FindCoordinator (batched keys): the leader of the group’s partition, or COORDINATOR_NOT_AVAILABLE', () => {
  const leaders = new Map([[partitionForGroup('a', 50), { nodeId: 3, host: 'b3', port: 9092 }]]);
  const results = findGroupCoordinators(['a', 'b'], 50, (p) => leaders.get(p) ?? null);
  assert.deepEqual(results[0], { key: 'a', nodeId: 3, host: 'b3', port: 9092, errorCode: 0, errorMessage: null });
  assert.equal(results[1]?.errorCode, partitionForGroup('b', 50) === partitionForGroup('a', 50) ? 0 : ErrorCode.COORDINATOR_NOT_AVAILABLE);
  assert.equal(results[1]?.nodeId, results[1]?.errorCode === 0 ? 3 : -1);
});
