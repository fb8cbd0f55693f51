import { test } from 'node:test';
import assert from 'node:assert/strict';
import { resolveConfig } from '../../src/config/config.js';
import { ErrorCode } from '../../src/protocol/errors.js';
import {
  ConfigSource,
  ConfigTypeId,
  describeTopicConfigs,
  effectiveTopicConfig,
  logConfigFor,
  topicConfigNames,
  validateTopicConfig,
  validateTopicConfigs,
  type BrokerConfigLayers,
} from '../../src/metadata/topic-configs.js';

const defaults = resolveConfig({}).config;
const none = new Map<string, string>();

function layers(overrides: [string, string][] = [], dynamicBroker: [string, string][] = [], dynamicDefault: [string, string][] = []): BrokerConfigLayers {
  return {
    static: resolveConfig({ overrides }).config,
    dynamicBroker: new Map(dynamicBroker),
    dynamicDefault: new Map(dynamicDefault),
  };
}

test('Kafka 4.x defaults, as Kafka prints them', () => {
  const byName = new Map(describeTopicConfigs(defaults, none).map((e) => [e.name, e]));
  assert.equal(byName.get('retention.ms')?.value, '604800000');
  assert.equal(byName.get('segment.bytes')?.value, '1073741824');
  assert.equal(byName.get('segment.ms')?.value, '604800000');
  assert.equal(byName.get('max.message.bytes')?.value, '1048588');
  assert.equal(byName.get('cleanup.policy')?.value, 'delete');
  assert.equal(byName.get('message.timestamp.after.max.ms')?.value, '3600000');
  assert.equal(byName.get('message.timestamp.before.max.ms')?.value, '9223372036854775807');
  assert.equal(byName.get('min.cleanable.dirty.ratio')?.value, '0.5');
  assert.equal(byName.get('compression.type')?.value, 'producer');
  assert.equal(byName.get('unclean.leader.election.enable')?.value, 'false');
  assert.equal(byName.get('cleanup.policy')?.configType, ConfigTypeId.LIST);
  assert.equal(byName.get('retention.ms')?.configType, ConfigTypeId.LONG);
  assert.ok(!byName.has('internal.segment.bytes'), 'internal configs are not described');
  for (const entry of byName.values()) {
    assert.equal(entry.source, ConfigSource.DEFAULT_CONFIG, entry.name);
    assert.equal(entry.readOnly, false);
    assert.equal(entry.documentation, null);
  }
});

test('synonyms: a value from log.retention.hours default reports none, log.segment.bytes reports its default', () => {
  const entries = describeTopicConfigs(defaults, none, ['retention.ms', 'segment.bytes'], true);
  const retention = entries.find((e) => e.name === 'retention.ms')!;
  assert.deepEqual(retention.synonyms, []);
  const segment = entries.find((e) => e.name === 'segment.bytes')!;
  assert.deepEqual(segment.synonyms, [{ name: 'log.segment.bytes', value: '1073741824', source: ConfigSource.DEFAULT_CONFIG }]);
});

test('synonym precedence: topic > dynamic broker > dynamic default > static > default; ms > minutes > hours', () => {
  assert.equal(effectiveTopicConfig(layers([['log.retention.hours', '1']]), none, 'retention.ms'), '3600000');
  assert.equal(effectiveTopicConfig(layers([['log.retention.hours', '1'], ['log.retention.minutes', '2']]), none, 'retention.ms'), '120000');
  assert.equal(
    effectiveTopicConfig(layers([['log.retention.hours', '1'], ['log.retention.minutes', '2'], ['log.retention.ms', '5']]), none, 'retention.ms'),
    '5',
  );
  const stack = layers([['log.retention.ms', '10']], [['log.retention.ms', '30']], [['log.retention.ms', '20']]);
  assert.equal(effectiveTopicConfig(stack, none, 'retention.ms'), '30');
  assert.equal(effectiveTopicConfig(stack, new Map([['retention.ms', '40']]), 'retention.ms'), '40');
  const [entry] = describeTopicConfigs(stack, new Map([['retention.ms', '40']]), ['retention.ms'], true);
  assert.equal(entry!.source, ConfigSource.DYNAMIC_TOPIC_CONFIG);
  assert.deepEqual(entry!.synonyms.map((s) => [s.name, s.value, s.source]), [
    ['retention.ms', '40', ConfigSource.DYNAMIC_TOPIC_CONFIG],
    ['log.retention.ms', '30', ConfigSource.DYNAMIC_BROKER_CONFIG],
    ['log.retention.ms', '20', ConfigSource.DYNAMIC_DEFAULT_BROKER_CONFIG],
    ['log.retention.ms', '10', ConfigSource.STATIC_BROKER_CONFIG],
    ['log.retention.hours', '168', ConfigSource.DEFAULT_CONFIG],
  ]);
  const [withoutSynonyms] = describeTopicConfigs(stack, none, ['retention.ms'], false);
  assert.equal(withoutSynonyms!.source, ConfigSource.DYNAMIC_BROKER_CONFIG);
  assert.deepEqual(withoutSynonyms!.synonyms, []);
});

test('static broker config is STATIC_BROKER_CONFIG only when set', () => {
  const [set] = describeTopicConfigs(layers([['message.max.bytes', '2000000']]), none, ['max.message.bytes']);
  assert.equal(set!.value, '2000000');
  assert.equal(set!.source, ConfigSource.STATIC_BROKER_CONFIG);
  const [unset] = describeTopicConfigs(defaults, none, ['max.message.bytes']);
  assert.equal(unset!.source, ConfigSource.DEFAULT_CONFIG);
});

test('validateTopicConfig: unknown names and bad values are INVALID_CONFIG with Kafka messages', () => {
  assert.deepEqual(validateTopicConfig('no.such.config', '1'), {
    errorCode: ErrorCode.INVALID_CONFIG, message: 'Unknown topic config name: no.such.config',
  });
  assert.deepEqual(validateTopicConfig('retention.ms', '-5'), {
    errorCode: ErrorCode.INVALID_CONFIG, message: 'Invalid value -5 for configuration retention.ms: Value must be at least -1',
  });
  assert.equal(validateTopicConfig('retention.ms', 'abc')?.message, 'Invalid value abc for configuration retention.ms: Not a number of type LONG');
  assert.equal(validateTopicConfig('segment.bytes', '1000')?.errorCode, ErrorCode.INVALID_CONFIG);
  assert.equal(validateTopicConfig('segment.bytes', '3000000000')?.errorCode, ErrorCode.INVALID_CONFIG);
  assert.equal(validateTopicConfig('cleanup.policy', 'compact,delete'), null);
  assert.equal(validateTopicConfig('cleanup.policy', 'compact, delete'), null);
  assert.equal(validateTopicConfig('cleanup.policy', 'shred')?.errorCode, ErrorCode.INVALID_CONFIG);
  assert.equal(validateTopicConfig('cleanup.policy', 'delete,delete')?.errorCode, ErrorCode.INVALID_CONFIG);
  assert.equal(validateTopicConfig('compression.type', 'brotli')?.message,
    'Invalid value brotli for configuration compression.type: String must be one of: uncompressed, zstd, lz4, snappy, gzip, producer');
  assert.equal(validateTopicConfig('min.cleanable.dirty.ratio', '1.5')?.errorCode, ErrorCode.INVALID_CONFIG);
  assert.equal(validateTopicConfig('min.cleanable.dirty.ratio', '0.25'), null);
  assert.equal(validateTopicConfig('preallocate', 'yes')?.errorCode, ErrorCode.INVALID_CONFIG);
  assert.equal(validateTopicConfig('preallocate', 'TRUE'), null);
  assert.equal(validateTopicConfig('compression.gzip.level', '0')?.errorCode, ErrorCode.INVALID_CONFIG);
  assert.equal(validateTopicConfig('compression.gzip.level', '-1'), null);
  assert.equal(validateTopicConfig('leader.replication.throttled.replicas', '0:1,1:2'), null);
  assert.equal(validateTopicConfig('leader.replication.throttled.replicas', 'x')?.errorCode, ErrorCode.INVALID_CONFIG);
  assert.equal(validateTopicConfig('retention.ms', null)?.errorCode, ErrorCode.INVALID_CONFIG);
  assert.equal(validateTopicConfig('retention.ms', '9223372036854775807'), null);
  assert.equal(validateTopicConfig('retention.ms', '9223372036854775808')?.errorCode, ErrorCode.INVALID_CONFIG);
});

test('validateTopicConfigs: cross-entry checks', () => {
  assert.match(
    validateTopicConfigs(new Map([['min.compaction.lag.ms', '10'], ['max.compaction.lag.ms', '5']]))?.message ?? '',
    /conflict topic config setting min.compaction.lag.ms \(10\) > max.compaction.lag.ms \(5\)/,
  );
  assert.equal(validateTopicConfigs(new Map([['remote.storage.enable', 'true']]))?.errorCode, ErrorCode.INVALID_CONFIG);
  assert.equal(validateTopicConfigs(new Map([['retention.ms', null]]))?.errorCode, ErrorCode.INVALID_CONFIG);
  assert.equal(validateTopicConfigs(new Map([['retention.ms', '1000'], ['cleanup.policy', 'compact']])), null);
});

test('topicConfigNames is sorted and has the core Kafka names', () => {
  const names = topicConfigNames();
  assert.deepEqual(names, [...names].sort());
  for (const n of ['retention.ms', 'retention.bytes', 'segment.bytes', 'segment.ms', 'cleanup.policy', 'min.insync.replicas',
    'message.timestamp.type', 'max.message.bytes', 'segment.jitter.ms', 'file.delete.delay.ms', 'flush.ms', 'flush.messages']) {
    assert.ok(names.includes(n), n);
  }
});

test('logConfigFor: overrides over broker config over defaults, incl. durability', () => {
  const base = logConfigFor(defaults, none);
  assert.equal(base.retentionMs, 604800000);
  assert.equal(base.segmentBytes, 1073741824);
  assert.equal(base.messageTimestampAfterMaxMs, 3600000);
  assert.equal(base.messageTimestampBeforeMaxMs, Number.MAX_SAFE_INTEGER);
  assert.equal(base.durabilityMode, 'fsync');
  const broker = layers([['log.retention.hours', '2'], ['log.durability.mode', 'none'], ['log.flush.window.ms', '7'], ['log.roll.hours', '1']]);
  const config = logConfigFor(broker, new Map([['segment.bytes', '2097152'], ['message.timestamp.type', 'LogAppendTime']]));
  assert.equal(config.retentionMs, 7200000);
  assert.equal(config.segmentMs, 3600000);
  assert.equal(config.segmentBytes, 2097152);
  assert.equal(config.durabilityMode, 'none');
  assert.equal(config.flushWindowMs, 7);
  assert.equal(config.messageTimestampType, 'LogAppendTime');
  assert.equal(logConfigFor(defaults, new Map([['internal.segment.bytes', '1000']])).segmentBytes, 1000);
  assert.equal(logConfigFor(defaults, new Map([['durability.mode', 'none']])).durabilityMode, 'none');
});
