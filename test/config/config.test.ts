import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  CONFIG_DEFINITIONS,
  ConfigError,
  envNameToConfigName,
  parseListener,
  resolveConfig,
} from '../../src/config/config.js';
import { parseProperties } from '../../src/config/properties.js';

test('defaults: 127.0.0.1:9092, data in ./data, Kafka defaults', () => {
  const { config, ignored } = resolveConfig({});
  assert.equal(config.listeners, 'PLAINTEXT://127.0.0.1:9092');
  assert.equal(config['log.dirs'], './data');
  assert.equal(config['node.id'], 1);
  assert.equal(config['socket.request.max.bytes'], 104857600);
  assert.equal(config['connections.max.idle.ms'], 600000);
  assert.equal(config['auto.create.topics.enable'], true);
  assert.deepEqual(ignored, []);
});

test('precedence: file < environment < overrides', () => {
  const file = {
    path: 'server.properties',
    properties: new Map([
      ['num.partitions', '2'],
      ['log.segment.bytes', '1000'],
      ['min.insync.replicas', '2'],
    ]),
  };
  const env = { RUNNEL_NUM_PARTITIONS: '3', RUNNEL_LOG_SEGMENT_BYTES: '2000', PATH: '/bin' };
  const { config } = resolveConfig({ file, env, overrides: [['num.partitions', '4']] });
  assert.equal(config['num.partitions'], 4);
  assert.equal(config['log.segment.bytes'], 2000);
  assert.equal(config['min.insync.replicas'], 2);
});

test('RUNNEL_LOG_DIRS maps to log.dirs', () => {
  assert.equal(envNameToConfigName('RUNNEL_LOG_DIRS'), 'log.dirs');
  const { config } = resolveConfig({ env: { RUNNEL_LOG_DIRS: '/var/runnel' } });
  assert.equal(config['log.dirs'], '/var/runnel');
});

test('unknown keys in a file or the environment are reported, not fatal', () => {
  const file = { path: 'f', properties: new Map([['zookeeper.connect', 'x:2181']]) };
  const { ignored } = resolveConfig({ file, env: { RUNNEL_NO_SUCH_THING: '1' } });
  assert.equal(ignored.length, 2);
  assert.match(ignored[0] ?? '', /zookeeper\.connect/);
});

test('unknown keys given as overrides are errors', () => {
  assert.throws(() => resolveConfig({ overrides: [['num.partition', '3']] }), ConfigError);
});

test('validation errors name the property and the source', () => {
  const cases: Array<[string, string, RegExp]> = [
    ['num.partitions', 'abc', /expected an integer/],
    ['num.partitions', '0', /at least 1/],
    ['node.id', '-1', /at least 0/],
    ['socket.request.max.bytes', '99999999999', /outside/],
    ['auto.create.topics.enable', 'yes', /true or false/],
    ['listeners', 'SSL://127.0.0.1:9093', /only PLAINTEXT/],
    ['listeners', 'PLAINTEXT://127.0.0.1', /NAME:\/\/host:port/],
    ['listeners', 'PLAINTEXT://127.0.0.1:70000', /above 65535/],
    ['log.dirs', '/a,/b', /one log directory/],
  ];
  for (const [key, value, message] of cases) {
    assert.throws(
      () => resolveConfig({ file: { path: 'server.properties', properties: new Map([[key, value]]) } }),
      (e: unknown) => e instanceof ConfigError && message.test(e.message) && e.message.includes(key) &&
        e.message.includes('server.properties'),
      `${key}=${value}`,
    );
  }
});

test('every default passes its own validation', () => {
  const overrides = Object.entries(CONFIG_DEFINITIONS).map(([k, d]) => [k, String(d.default)] as const);
  const withoutEmpty = overrides.filter(([, v]) => v !== '');
  assert.doesNotThrow(() => resolveConfig({ overrides: withoutEmpty }));
});

test('listeners parse host and port, IPv6 in brackets, empty host means all interfaces', () => {
  assert.deepEqual(parseListener('PLAINTEXT://localhost:0'), { securityProtocol: 'PLAINTEXT', host: 'localhost', port: 0 });
  assert.equal(parseListener('PLAINTEXT://[::1]:9092').host, '::1');
  assert.equal(parseListener('plaintext://:9092').host, '0.0.0.0');
});

test('properties files: separators, comments, continuations, escapes', () => {
  const text = [
    '# comment',
    '! also a comment',
    'a=1',
    'b : 2',
    'c 3',
    '  d=four \\',
    '     continued',
    'e=tab\\there',
    'f=\\u0041',
    'g=',
    'a=last wins',
  ].join('\n');
  const props = parseProperties(text);
  assert.equal(props.get('a'), 'last wins');
  assert.equal(props.get('b'), '2');
  assert.equal(props.get('c'), '3');
  assert.equal(props.get('d'), 'four continued');
  assert.equal(props.get('e'), 'tab\there');
  assert.equal(props.get('f'), 'A');
  assert.equal(props.get('g'), '');
  assert.equal(props.size, 7);
});

test('security settings ignored silently (issue 26 defect 5): SSL, SASL or an authorizer asked for refuses the start', () => {
  const refused = (properties: Array<[string, string]>, env: NodeJS.ProcessEnv = {}): string => {
    try {
      resolveConfig({ file: { path: 'server.properties', properties: new Map(properties) }, env });
    } catch (error) {
      assert.ok(error instanceof ConfigError);
      return error.message;
    }
    assert.fail(`started with ${JSON.stringify(properties)} ${JSON.stringify(env)}`);
  };
  assert.match(refused([['listener.security.protocol.map', 'PLAINTEXT:SASL_SSL']]), /PLAINTEXT:SASL_SSL \(server\.properties\): listener PLAINTEXT mapped to SASL_SSL/);
  assert.match(refused([['listener.security.protocol.map', 'CLIENT:SSL,PLAINTEXT:PLAINTEXT']]), /listener CLIENT mapped to SSL/);
  assert.match(refused([['sasl.enabled.mechanisms', 'PLAIN,SCRAM-SHA-256']]), /sasl\.enabled\.mechanisms.*SASL is not supported/);
  assert.match(refused([['ssl.keystore.location', '/etc/kafka/broker.jks']]), /ssl\.keystore\.location.*SSL\/TLS is not supported/);
  assert.match(refused([['ssl.client.auth', 'required']]), /SSL\/TLS/);
  assert.match(refused([['authorizer.class.name', 'org.apache.kafka.metadata.authorizer.StandardAuthorizer']]), /authorization/);
  assert.match(refused([['security.inter.broker.protocol', 'SASL_PLAINTEXT']]), /SASL_PLAINTEXT is not supported/);
  assert.match(refused([['listener.name.plaintext.scram-sha-256.sasl.jaas.config', 'x required;']]), /SASL/);
  assert.match(refused([], { RUNNEL_SSL_TRUSTSTORE_LOCATION: '/t.jks' }), /environment RUNNEL_SSL_TRUSTSTORE_LOCATION/);
  // Every problem is named at once, and the message says what Runnel serves.
  const both = refused([['ssl.keystore.location', '/k'], ['sasl.enabled.mechanisms', 'PLAIN']]);
  assert.match(both, /serves PLAINTEXT only/);
  assert.match(both, /ssl\.keystore\.location.*sasl\.enabled\.mechanisms/);

  // Kafka's shipped map (identity entries for listeners not bound here), empty values and PLAINTEXT are fine.
  const { config } = resolveConfig({
    file: {
      path: 'server.properties',
      properties: new Map([
        ['listener.security.protocol.map', 'CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT,SSL:SSL,SASL_PLAINTEXT:SASL_PLAINTEXT,SASL_SSL:SASL_SSL'],
        ['security.inter.broker.protocol', 'PLAINTEXT'],
        ['ssl.endpoint.identification.algorithm', ''],
        ['authorizer.class.name', ''],
      ]),
    },
  });
  assert.equal(config.listeners, 'PLAINTEXT://127.0.0.1:9092');
});
