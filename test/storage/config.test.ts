import { test } from 'node:test';
import assert from 'node:assert/strict';
import { applyLogConfigOverrides, defaultLogConfig } from '../../src/storage/config.js';
import { StorageError } from '../../src/storage/errors.js';

test('Kafka-named overrides apply; unknown names are ignored; bad values are INVALID_CONFIG', () => {
  const config = applyLogConfigOverrides(defaultLogConfig, {
    'segment.bytes': '1048576', 'retention.ms': -1, 'message.timestamp.type': 'LogAppendTime', 'durability.mode': 'none', 'cleanup.policy': 'delete',
  });
  assert.equal(config.segmentBytes, 1048576);
  assert.equal(config.retentionMs, -1);
  assert.equal(config.messageTimestampType, 'LogAppendTime');
  assert.equal(config.durabilityMode, 'none');
  assert.equal(defaultLogConfig.segmentBytes, 1024 * 1024 * 1024);
  const bads: Array<Record<string, string>> = [{ 'segment.bytes': '12' }, { 'retention.ms': '1.5' }, { 'message.timestamp.type': 'Now' }, { 'durability.mode': 'sometimes' }, { 'flush.window.ms': 'x' }];
  for (const bad of bads) {
    assert.throws(() => applyLogConfigOverrides(defaultLogConfig, bad), (e: unknown) => e instanceof StorageError && e.errorCode === 40);
  }
});
