// The bench's franz-go load generator (bench/macro/franz-perf) against Runnel: what it reports as sent
// is what the broker holds. A bench row is only as honest as its load generator, so this checks the
// record count (end offsets), the summary line bench.ts parses, and that a failed produce makes it
// exit non-zero. Skipped when the binary is not built (scripts/interop/setup.sh --only go).
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { startBroker } from '../../src/index.js';
import { FRANZ_PERF, parseProducerSummary, runProcess } from '../../bench/macro/load-tools.js';

// runProcess is async: the broker runs in this process, a spawnSync would stop it from answering.
describe('franz-perf (bench load generator) against Runnel', { skip: existsSync(FRANZ_PERF) ? false : `${FRANZ_PERF} not built` }, () => {
  let broker: Awaited<ReturnType<typeof startBroker>>;
  const dataDir = mkdtempSync(join(tmpdir(), 'runnel-franz-perf-'));
  let kafka: Kafka;

  before(async () => {
    broker = await startBroker({ dataDir, port: 0 });
    kafka = new Kafka({ brokers: [broker.bootstrapServers], logLevel: logLevel.NOTHING });
  });

  after(async () => {
    await broker?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  for (const acks of ['0', '1', '-1']) {
    it(`acks=${acks}: every record it reports sent is in the log`, { timeout: 120_000 }, async () => {
      const topic = `franz-perf-acks${acks.replace('-', 'm')}`;
      const admin = kafka.admin();
      await admin.connect();
      try {
        await admin.createTopics({ topics: [{ topic, numPartitions: 3 }], waitForLeaders: true });
        const records = 30_000;
        const r = await runProcess(FRANZ_PERF, ['--bootstrap', broker.bootstrapServers, '--topic', topic, '--num-records', String(records),
          '--record-size', '100', '--acks', acks], 100_000);
        assert.equal(r.code, 0, r.out);
        const summary = parseProducerSummary(r.out);
        assert.ok(summary, `no summary line in ${r.out}`);
        assert.equal(summary.records, records);
        assert.ok(summary.msgPerSec > 0);
        // acks=0: franz-go counts a record sent once its request is written, before the broker has
        // read it, so the log end (the high watermark: durable bytes, in fsync mode) can trail by a moment.
        let offsets = await admin.fetchTopicOffsets(topic);
        const held = (): number => offsets.reduce((sum, p) => sum + Number(p.high), 0);
        for (let i = 0; i < 100 && acks === '0' && held() < records; i++) {
          await new Promise((resolve) => setTimeout(resolve, 100));
          offsets = await admin.fetchTopicOffsets(topic);
        }
        assert.equal(held(), records, JSON.stringify(offsets));
      } finally {
        await admin.disconnect();
      }
    });
  }

  it('a produce that fails makes it exit 1 with the first error', { timeout: 60_000 }, async () => {
    // The topic does not exist and franz-go does not ask for auto-creation: every record fails.
    const r = await runProcess(FRANZ_PERF, ['--bootstrap', broker.bootstrapServers, '--topic', 'franz-perf-missing', '--num-records', '10',
      '--acks', '1'], 50_000);
    assert.equal(r.code, 1, r.out);
    assert.match(r.out, /records failed/);
  });
});
