import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ErrorCode, KAFKA_ERRORS, errorName, isRetriable, kafkaError } from '../../src/protocol/errors.js';

describe('Kafka error table', () => {
  it('has unique codes and Errors.java names', () => {
    const codes = new Set(KAFKA_ERRORS.map((e) => e.code));
    assert.equal(codes.size, KAFKA_ERRORS.length);
    assert.equal(ErrorCode.NONE, 0);
    assert.equal(ErrorCode.UNKNOWN_SERVER_ERROR, -1);
    assert.equal(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, 3);
    assert.equal(ErrorCode.NOT_LEADER_OR_FOLLOWER, 6);
    assert.equal(ErrorCode.UNSUPPORTED_VERSION, 35);
    assert.equal(ErrorCode.FENCED_LEADER_EPOCH, 74);
    assert.equal(ErrorCode.UNKNOWN_TOPIC_ID, 100);
    assert.equal(ErrorCode.TRANSACTION_ABORTABLE, 120);
  });

  it('covers every code from -1 to the highest without gaps', () => {
    const max = Math.max(...KAFKA_ERRORS.map((e) => e.code));
    for (let code = -1; code <= max; code++) assert.ok(kafkaError(code), `code ${code}`);
  });

  it('names codes and never throws on unknown ones', () => {
    assert.equal(errorName(3), 'UNKNOWN_TOPIC_OR_PARTITION');
    assert.equal(errorName(0), 'NONE');
    assert.equal(errorName(-2), 'UNKNOWN_ERROR_CODE(-2)');
  });

  it('marks retriable errors as the protocol guide does', () => {
    for (const code of [ErrorCode.NOT_LEADER_OR_FOLLOWER, ErrorCode.LEADER_NOT_AVAILABLE, ErrorCode.REQUEST_TIMED_OUT,
      ErrorCode.NOT_COORDINATOR, ErrorCode.NOT_ENOUGH_REPLICAS, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION]) {
      assert.equal(isRetriable(code), true, errorName(code));
    }
    for (const code of [ErrorCode.NONE, ErrorCode.OFFSET_OUT_OF_RANGE, ErrorCode.MESSAGE_TOO_LARGE,
      ErrorCode.TOPIC_AUTHORIZATION_FAILED, ErrorCode.UNSUPPORTED_VERSION, ErrorCode.INVALID_REQUEST]) {
      assert.equal(isRetriable(code), false, errorName(code));
    }
  });
});
