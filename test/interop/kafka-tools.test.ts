// Apache Kafka's own command-line tools (kafka-topics.sh, kafka-configs.sh, kafka-console-producer.sh, …
// run as their Java main classes from the Kafka 4.4.0 jars) against a Runnel started in this process:
// what an operator types first must work unchanged. Skipped when Kafka's jars are not assembled
// (scripts/interop/setup.sh; CI runs it first and sets RUNNEL_INTEROP_KAFKA=1, which makes missing jars a failure).
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { kafkaAssembled, kafkaLibs } from '../../scripts/kafka/kafka.js';

interface Running { bootstrapServers: string; close(): Promise<void> }
interface ToolResult { code: number | null; stdout: string; stderr: string }

const TOOL_TIMEOUT_MS = 90_000;
/** As in kafka-reference.test.ts: RUNNEL_INTEROP_KAFKA=1 (CI) requires the jars, so a missing one fails instead of skipping. */
const enabled = process.env.RUNNEL_INTEROP_KAFKA === '1' || (process.env.RUNNEL_INTEROP_KAFKA !== '0' && kafkaAssembled());

/** Runs one Kafka tool to completion (asynchronously: the broker shares this process's event loop). */
function tool(mainClass: string, args: string[], input?: string): Promise<ToolResult> {
  return new Promise((resolve, reject) => {
    const child = spawn('java', ['-Xmx256m', '-Dlog4j2.level=warn', '-cp', `${kafkaLibs()}/*`, mainClass, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => { stdout += d.toString(); });
    child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
    const timer = setTimeout(() => child.kill('SIGKILL'), TOOL_TIMEOUT_MS);
    child.on('error', (err) => { clearTimeout(timer); reject(err); });
    child.on('close', (code) => { clearTimeout(timer); resolve({ code, stdout, stderr }); });
    child.stdin.end(input ?? '');
  });
}

function ok(r: ToolResult, what: string): string {
  assert.equal(r.code, 0, `${what} exited ${r.code}: ${r.stderr.slice(-2000)}${r.stdout.slice(-2000)}`);
  return r.stdout;
}

describe('interop: Apache Kafka command-line tools against Runnel', { skip: enabled ? false : 'Kafka jars not assembled (scripts/interop/setup.sh)' }, () => {
  let broker: Running | undefined;
  const dataDir = mkdtempSync(join(tmpdir(), 'runnel-kafka-tools-'));
  const topic = 'tools-topic';
  let b: string[] = [];

  before(async () => {
    assert.ok(kafkaAssembled(), `Kafka jars missing under ${kafkaLibs()} (scripts/interop/setup.sh)`);
    const mod = (await import('../../src/index.js')) as { startBroker: (o: { dataDir: string; port: number; 'transaction.version': number }) => Promise<Running> };
    // Formed at transaction.version 0 whatever the default: the features tests upgrade it from there.
    broker = await mod.startBroker({ dataDir, port: 0, 'transaction.version': 0 });
    b = ['--bootstrap-server', broker.bootstrapServers];
  });

  after(async () => {
    await broker?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('kafka-broker-api-versions lists the served versions', { timeout: TOOL_TIMEOUT_MS }, async () => {
    const out = ok(await tool('org.apache.kafka.tools.BrokerApiVersionsCommand', b), 'BrokerApiVersionsCommand');
    assert.match(out, /Produce\(0\): 3 to 13 \[usable: 13\]/);
    assert.match(out, /DescribeLogDirs\(35\): 0 to 5 \[usable: 5\]/);
    assert.match(out, /ConsumerGroupHeartbeat\(68\): 0 to 1 \[usable: 1\]/);
    assert.match(out, /DescribeProducers\(61\): 0 \[usable: 0\]/);
    assert.match(out, /Metadata\(3\): 0 to 13 \[usable: 13\]/);
    assert.match(out, /DescribeCluster\(60\): 0 to 2 \[usable: 2\]/);
  });

  it('kafka-cluster list-endpoints --include-fenced-brokers (DescribeCluster v2) lists the broker unfenced', { timeout: TOOL_TIMEOUT_MS }, async () => {
    const out = ok(await tool('org.apache.kafka.tools.ClusterTool', ['list-endpoints', ...b, '--include-fenced-brokers']), 'ClusterTool');
    const port = b[1]!.split(':')[1];
    assert.match(out, new RegExp(`^1\\s+127\\.0\\.0\\.1\\s+${port}\\s+null\\s+unfenced\\s+broker`, 'm'));
  });

  it('kafka-topics creates, lists, alters and describes a topic', { timeout: 4 * TOOL_TIMEOUT_MS }, async () => {
    const topics = 'org.apache.kafka.tools.TopicCommand';
    assert.match(ok(await tool(topics, [...b, '--create', '--topic', topic, '--partitions', '3', '--config', 'retention.ms=3600000']), 'create'), /Created topic tools-topic/);
    assert.match(ok(await tool(topics, [...b, '--list']), 'list'), /^tools-topic$/m);
    ok(await tool(topics, [...b, '--alter', '--topic', topic, '--partitions', '4']), 'alter');
    const described = ok(await tool(topics, [...b, '--describe', '--topic', topic]), 'describe');
    assert.match(described, /PartitionCount: 4\tReplicationFactor: 1\tConfigs: retention.ms=3600000/);
    assert.equal(described.match(/Leader: 1\tReplicas: 1\tIsr: 1/g)?.length, 4, described);
  });

  it('kafka-configs alters, describes and deletes a topic config', { timeout: 3 * TOOL_TIMEOUT_MS }, async () => {
    const configs = 'org.apache.kafka.tools.ConfigCommand';
    const entity = ['--entity-type', 'topics', '--entity-name', topic];
    ok(await tool(configs, [...b, ...entity, '--alter', '--add-config', 'retention.ms=7200000,max.message.bytes=500000']), 'alter');
    const described = ok(await tool(configs, [...b, ...entity, '--describe']), 'describe');
    assert.match(described, /retention.ms=7200000 sensitive=false synonyms=\{DYNAMIC_TOPIC_CONFIG:retention.ms=7200000/);
    assert.match(described, /max.message.bytes=500000 sensitive=false synonyms=\{DYNAMIC_TOPIC_CONFIG:max.message.bytes=500000, DEFAULT_CONFIG:message.max.bytes=1048588\}/);
    ok(await tool(configs, [...b, ...entity, '--alter', '--delete-config', 'max.message.bytes']), 'delete');
    assert.doesNotMatch(ok(await tool(configs, [...b, ...entity, '--describe']), 'describe'), /max.message.bytes/);
  });

  it('kafka-features describe prints the finalized features (metadata.version 4.4-IV2, group.version 1)', { timeout: TOOL_TIMEOUT_MS }, async () => {
    const out = ok(await tool('org.apache.kafka.tools.FeatureCommand', [...b, 'describe']), 'FeatureCommand describe');
    assert.match(out, /Feature: metadata\.version\s+SupportedMinVersion: 4\.4-IV2\s+SupportedMaxVersion: 4\.4-IV2\s+FinalizedVersionLevel: 4\.4-IV2/);
    assert.match(out, /Feature: group\.version\s+SupportedMinVersion: 1\s+SupportedMaxVersion: 1\s+FinalizedVersionLevel: 1/);
    assert.match(out, /Feature: transaction\.version\s+SupportedMinVersion: 0\s+SupportedMaxVersion: 2\s+FinalizedVersionLevel: 0/);
  });

  it('kafka-features upgrade / downgrade / disable of transaction.version go through the controller; describe follows; refusals exit 1 with Kafka\'s message', { timeout: 8 * TOOL_TIMEOUT_MS }, async () => {
    const features = (args: string[]) => tool('org.apache.kafka.tools.FeatureCommand', [...b, ...args]);
    const level = async () => /Feature: transaction\.version\s+SupportedMinVersion: 0\s+SupportedMaxVersion: 2\s+FinalizedVersionLevel: (\d)/.exec(ok(await features(['describe']), 'describe'))?.[1];
    assert.match(ok(await features(['upgrade', '--feature', 'transaction.version=2', '--dry-run']), 'dry run'), /transaction\.version can be upgraded to 2\./);
    assert.equal(await level(), '0', 'a dry run changes nothing');
    assert.match(ok(await features(['upgrade', '--feature', 'transaction.version=2']), 'upgrade'), /transaction\.version was upgraded to 2\./);
    assert.equal(await level(), '2');
    const tooHigh = await features(['downgrade', '--feature', 'transaction.version=3']);
    assert.equal(tooHigh.code, 1);
    assert.match(tooHigh.stdout + tooHigh.stderr, /Could not downgrade transaction\.version to 3\. The update failed for all features since the following feature had an error: Invalid update version 3 for feature transaction\.version\. Local controller 1 only supports versions 0-2/);
    assert.match(ok(await features(['downgrade', '--feature', 'transaction.version=1']), 'downgrade'), /transaction\.version was downgraded to 1\./);
    assert.equal(await level(), '1');
    assert.match(ok(await features(['disable', '--feature', 'transaction.version']), 'disable'), /transaction\.version was disabled\./);
    assert.equal(await level(), '0');
  });

  it('kafka-configs --entity-type brokers --entity-default alters a dynamic property; groups take consumer.* configs', { timeout: 3 * TOOL_TIMEOUT_MS }, async () => {
    const configs = 'org.apache.kafka.tools.ConfigCommand';
    ok(await tool(configs, [...b, '--entity-type', 'brokers', '--entity-default', '--alter', '--add-config', 'num.io.threads=12']), 'alter broker default');
    assert.match(ok(await tool(configs, [...b, '--entity-type', 'brokers', '--entity-default', '--describe']), 'describe broker default'), /num\.io\.threads=12/);
    ok(await tool(configs, [...b, '--entity-type', 'groups', '--entity-name', 'tools-group', '--alter', '--add-config', 'consumer.session.timeout.ms=50000']), 'alter group');
    assert.match(ok(await tool(configs, [...b, '--entity-type', 'groups', '--entity-name', 'tools-group', '--describe']), 'describe group'), /consumer\.session\.timeout\.ms=50000/);
  });

  it('console producer and consumer, get-offsets, consumer-groups, delete-records, log-dirs, describe-producers', { timeout: 8 * TOOL_TIMEOUT_MS }, async () => {
    const lines = Array.from({ length: 200 }, (_, i) => `k${i % 4}\tvalue-${i}`).join('\n') + '\n';
    ok(await tool('org.apache.kafka.tools.ConsoleProducer', [...b, '--topic', topic, '--property', 'parse.key=true'], lines), 'ConsoleProducer');
    const consumed = await tool('org.apache.kafka.tools.consumer.ConsoleConsumer', [...b, '--topic', topic, '--from-beginning', '--max-messages', '200', '--group', 'tools-group', '--property', 'print.key=true']);
    ok(consumed, 'ConsoleConsumer');
    assert.match(consumed.stderr + consumed.stdout, /Processed a total of 200 messages/);
    const values = consumed.stdout.split('\n').filter((l) => l.includes('\tvalue-'));
    assert.equal(new Set(values).size, 200);

    const latest = new Map<number, number>();
    for (const line of ok(await tool('org.apache.kafka.tools.GetOffsetShell', [...b, '--topic', topic]), 'GetOffsetShell').trim().split('\n')) {
      const [name, partition, offset] = line.split(':');
      assert.equal(name, topic);
      latest.set(Number(partition), Number(offset));
    }
    assert.equal([...latest.values()].reduce((a, n) => a + n, 0), 200);
    const [busy, busyEnd] = [...latest].sort((x, y) => y[1] - x[1])[0] as [number, number];

    const groups = ok(await tool('org.apache.kafka.tools.consumer.group.ConsumerGroupCommand', [...b, '--describe', '--group', 'tools-group']), 'ConsumerGroupCommand');
    for (const [partition, end] of latest) assert.match(groups, new RegExp(`tools-group\\s+${topic}\\s+${partition}\\s+${end}\\s+${end}\\s+0\\s`));

    const deleteFile = join(dataDir, 'delete-records.json');
    writeFileSync(deleteFile, JSON.stringify({ partitions: [{ topic, partition: busy, offset: 10 }], version: 1 }));
    assert.match(ok(await tool('org.apache.kafka.tools.DeleteRecordsCommand', [...b, '--offset-json-file', deleteFile]), 'DeleteRecordsCommand'), new RegExp(`partition: ${topic}-${busy}\\s+low_watermark: 10`));
    assert.match(ok(await tool('org.apache.kafka.tools.GetOffsetShell', [...b, '--topic', topic, '--partitions', String(busy), '--time', '-2']), 'earliest'), new RegExp(`^${topic}:${busy}:10$`, 'm'));

    const dirs = ok(await tool('org.apache.kafka.tools.LogDirsCommand', [...b, '--describe', '--topic-list', topic]), 'LogDirsCommand');
    const json = JSON.parse(dirs.trim().split('\n').at(-1) as string) as { brokers: Array<{ logDirs: Array<{ error: string | null; partitions: Array<{ partition: string; size: number; offsetLag: number }> }> }> };
    const logDir = json.brokers[0]?.logDirs[0];
    assert.equal(logDir?.error, null);
    assert.deepEqual(logDir?.partitions.map((p) => p.partition).sort(), [0, 1, 2, 3].map((p) => `${topic}-${p}`));
    assert.ok((logDir?.partitions.find((p) => p.partition === `${topic}-${busy}`)?.size ?? 0) > 0, dirs);

    const producers = ok(await tool('org.apache.kafka.tools.TransactionsCommand', [...b, 'describe-producers', '--topic', topic, '--partition', String(busy)]), 'describe-producers');
    const rows = producers.trim().split('\n').slice(1).map((l) => l.trim().split(/\s+/));
    assert.equal(rows.length, 1, producers);
    // ProducerId ProducerEpoch LatestCoordinatorEpoch LastSequence LastTimestamp CurrentTransactionStartOffset
    assert.equal(rows[0]?.[3], String(busyEnd - 1), producers);
    assert.equal(rows[0]?.[5], 'None');
  });
});
