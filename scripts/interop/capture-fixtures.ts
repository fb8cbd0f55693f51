// Captures golden REQUEST frames from real clients talking to Apache Kafka, for the protocol codec tests:
//   test/protocol/fixtures/<client>/<NNNN>-<apiKey4>-v<version>.bin
// Starts a single Kafka node that advertises the capture proxy's port (so every connection of the
// client goes through the proxy), then runs a few small scenarios per client.
// Usage: npx tsx scripts/interop/capture-fixtures.ts [client ...]     (default: kafkajs kcat java)
// The reference broker is scripts/kafka/kafka.ts's (Apache Kafka 4.4.0); RUNNEL_INTEROP_CACHE picks the client builds.
import { rmSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { startKafka } from '../kafka/kafka.js';
import { startCaptureProxy } from './capture-proxy.js';
import { freePort } from './kafka-wire.js';
import { CLIENTS, REPO, runScenario } from '../../test/interop/clients.js';

const wanted = process.argv.slice(2).length > 0 ? process.argv.slice(2) : ['kafkajs', 'kcat', 'java'];
// Every scenario of the matrix, so the frames cover what clients send Kafka 4.4 (KIP-848 heartbeats,
// transactions, describe calls) and not only the classic paths.
const scenarios = ['metadata', 'produce-consume', 'list-offsets', 'configs', 'delete-records', 'group', 'describe-state', 'transactions', 'consumer-848'];

const kafkaPort = await freePort();
const proxyPort = await freePort();
const kafka = await startKafka({ nodes: 1, basePort: kafkaPort, advertisedPorts: [proxyPort] });
console.error(`kafka on 127.0.0.1:${kafkaPort}, advertised through the proxy at 127.0.0.1:${proxyPort}`);
try {
  for (const name of wanted) {
    const client = CLIENTS.find((c) => c.name === name);
    if (!client) throw new Error(`unknown client ${name}`);
    if (client.missing()) { console.error(`skip ${name}: ${client.missing()}`); continue; }
    const outDir = join(REPO, 'test', 'protocol', 'fixtures', name);
    rmSync(outDir, { recursive: true, force: true });
    // Helper admin clients (kcat's topic creation through KafkaJS) are forwarded but not recorded.
    const proxy = await startCaptureProxy({ listenPort: proxyPort, upstream: `127.0.0.1:${kafkaPort}`, outDir, skipClientIds: ['runnel-interop-kcat-setup'] });
    for (const s of scenarios) {
      const r = await runScenario(client, `127.0.0.1:${proxyPort}`, s, 120_000, { INTEROP_RECORDS: '150' });
      console.error(`${name} ${s}: ${r.skipped ? 'skip' : r.ok ? 'ok' : 'FAIL'} ${r.detail}`);
    }
    await proxy.close();
    const files = readdirSync(outDir);
    const bytes = files.reduce((a, f) => a + statSync(join(outDir, f)).size, 0);
    const keys = [...new Set(files.map((f) => Number(f.split('-')[1])))].sort((a, b) => a - b);
    console.error(`${name}: ${files.length} frames, ${bytes} bytes, api keys ${keys.join(',')}`);
  }
} finally {
  await kafka.stop();
}
