import { test } from 'node:test';
import assert from 'node:assert/strict';
import { resolveConfig } from '../../src/config/config.js';
import { brokerLogDefaults } from '../../src/replication/log-config.js';
import { applyLogConfigOverrides, defaultLogConfig } from '../../src/storage/config.js';

test('startup log defaults follow the broker synonyms (log.retention.hours → retention.ms)', () => {
  const { config } = resolveConfig({ overrides: [['log.retention.hours', '1'], ['log.segment.bytes', '2097152']] });
  const defaults = brokerLogDefaults(config);
  assert.equal(defaults['retention.ms'], '3600000');
  assert.equal(defaults['segment.bytes'], '2097152');
  const storage = applyLogConfigOverrides(defaultLogConfig, defaults);
  assert.equal(storage.retentionMs, 3_600_000);
  assert.equal(storage.segmentBytes, 2_097_152);
});
