/**
 * After kill -9 a Runnel node took ~10 s to serve again (txn-kill.test.ts's broker log: `"startupMs":9784`):
 * its broker's registration was refused DUPLICATE_BROKER_REGISTRATION until the dead incarnation's session
 * expired (`broker.session.timeout.ms`), because the controller keeps that session alive (Kafka's rule).
 * The restarted process holds the data directory's lock, which proves the previous one dead, and names its
 * incarnation (`{log.dirs}/broker-incarnation`), so the controller ends the old session at once.
 *
 * The standalone CLI child runs with `broker.session.timeout.ms` = 30 s: waiting out the old session cannot
 * answer within startBrokerChild's 30 s, so every restart that serves proves the wait is gone. The bound
 * asserted on each restart is far below the session and far above a start under load; the measured times
 * are printed.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { freePort, kill9, startBrokerChild, stopClean, type BrokerChild } from './standalone-broker.js';

const SESSION_TIMEOUT_MS = 30_000;
/** Far below the session; a quiet start takes ~1-2 s (tsx compiling the CLI included). */
const RESTART_MS_MAX = 20_000;
const KILLS = 3;
const ENV = { RUNNEL_BROKER_SESSION_TIMEOUT_MS: String(SESSION_TIMEOUT_MS) };

async function produceOne(bootstrap: string, value: string): Promise<void> {
  const kafka = new Kafka({ brokers: [bootstrap], clientId: 'kill9-restart', logLevel: logLevel.NOTHING, retry: { retries: 20 } });
  const producer = kafka.producer({ allowAutoTopicCreation: true });
  await producer.connect();
  try {
    await producer.send({ topic: 'restarts', acks: -1, messages: [{ value }] });
  } finally {
    await producer.disconnect();
  }
}

async function incarnationFile(dataDir: string): Promise<string> {
  return (await readFile(join(dataDir, 'broker-incarnation'), 'utf8')).trim();
}

test('after kill -9 a standalone broker serves again without waiting out its dead incarnation\'s session', { timeout: 240_000 }, async () => {
  const dataDir = await mkdtemp(join(tmpdir(), 'runnel-kill9-restart-'));
  const port = await freePort();
  let broker: BrokerChild | undefined;
  const restartsMs: number[] = [];
  try {
    const firstStarted = Date.now();
    broker = await startBrokerChild(dataDir, port, ENV);
    const firstStartMs = Date.now() - firstStarted;
    await produceOne(broker.bootstrap, 'first');
    let recorded = await incarnationFile(dataDir);
    for (let kill = 0; kill < KILLS; kill++) {
      await kill9(broker);
      const restarted = Date.now();
      broker = await startBrokerChild(dataDir, port, ENV);
      const restartMs = Date.now() - restarted;
      restartsMs.push(restartMs);
      assert.ok(restartMs < RESTART_MS_MAX, `restart ${kill + 1} took ${restartMs} ms (session ${SESSION_TIMEOUT_MS} ms): ${broker.log()}`);
      // The new incarnation is recorded, so the next kill is proved too; and the broker leads its partition again.
      const now = await incarnationFile(dataDir);
      assert.notEqual(now, recorded, 'each registration records its own incarnation');
      recorded = now;
      await produceOne(broker.bootstrap, `after kill ${kill + 1}`);
    }
    console.log(`# kill -9 restart: first start ${firstStartMs} ms, restarts ${restartsMs.join(', ')} ms (ApiVersions answered; session ${SESSION_TIMEOUT_MS} ms)`);
    await stopClean(broker);
  } finally {
    if (broker !== undefined) await kill9(broker);
    await rm(dataDir, { recursive: true, force: true });
  }
});
