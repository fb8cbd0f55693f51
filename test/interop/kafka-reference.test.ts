// Proves the harness: every client × scenario passes against Apache Kafka 4.4.0 (the reference).
// Runs when the Kafka assembly is cached (~/.cache/runnel/kafka-4.4.0, scripts/interop/setup.sh)
// or RUNNEL_INTEROP_KAFKA=1 (then it assembles Kafka from Maven Central first); skipped otherwise.
// Size: 2000 records in produce-consume, so the whole file stays within a few minutes.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { CLIENTS, SCENARIOS, runScenario } from './clients.js';
import { kafkaAssembled, startKafka, type KafkaCluster } from '../../scripts/kafka/kafka.js';

const enabled = process.env.RUNNEL_INTEROP_KAFKA === '1' || (process.env.RUNNEL_INTEROP_KAFKA !== '0' && kafkaAssembled());

describe('interop: harness against Apache Kafka (reference broker)', { skip: enabled ? false : 'Kafka assembly not cached and RUNNEL_INTEROP_KAFKA!=1' }, () => {
  let kafka: KafkaCluster | undefined;
  // Kafka is the reference, not the product: a start that fails (ports, a loaded machine) is tried
  // once more, and a scenario that fails against it once more, so that a flake of Kafka and a client
  // does not hide the Runnel results. The first failure is printed either way.
  before(async () => {
    try {
      kafka = await startKafka({ nodes: 1 });
    } catch (e) {
      console.error(`Kafka start failed, trying again: ${(e as Error).message}`);
      kafka = await startKafka({ nodes: 1 });
    }
  });
  after(async () => { await kafka?.stop(); });

  for (const client of CLIENTS) {
    for (const scenario of SCENARIOS) {
      it(`${client.name} ${scenario}`, { timeout: 200_000 }, async (t) => {
        assert.ok(kafka, 'Kafka did not start');
        const missing = client.missing();
        if (missing) { t.skip(missing); return; }
        let r = await runScenario(client, kafka.bootstrapServers, scenario, 90_000, { INTEROP_RECORDS: '2000' });
        if (r.skipped) { t.skip(r.detail); return; }
        if (!r.ok) {
          t.diagnostic(`first attempt failed, trying again: ${r.detail}`);
          r = await runScenario(client, kafka.bootstrapServers, scenario, 90_000, { INTEROP_RECORDS: '2000' });
        }
        assert.ok(r.ok, `${client.name} ${scenario}: ${r.detail}`);
      });
    }
  }
});
