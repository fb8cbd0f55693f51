/**
 * Issue #26, defect 8 (its logging half): connections refused at `max.connections` and connections closed
 * for a malformed request were not logged at all (refused) or only at debug (malformed), so an operator
 * saw nothing of a flood. Both are now warn lines, at most 10 per 10 s each, the rest counted.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { pino } from 'pino';
import { RunnelNode } from '../../src/node/runnel-node.js';
import { resolveConfig } from '../../src/config/config.js';
import { RawClient } from '../network/raw-client.js';

interface LogLine { level: number; msg: string; suppressed?: number }

test('refused connections and malformed frames are logged at warn, rate-limited', async () => {
  const lines: LogLine[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split('\n')) if (line !== '') lines.push(JSON.parse(line) as LogLine);
      done();
    },
  });
  const dataDir = await mkdtemp(join(tmpdir(), 'runnel-connection-logging-'));
  const broker = (await RunnelNode.start({
    config: resolveConfig({
      overrides: [['log.dirs', dataDir], ['listeners', 'PLAINTEXT://127.0.0.1:0'], ['max.connections', '2']],
    }).config,
    logger: pino({ level: 'info' }, stream),
  })).broker!;
  try {
    // 25 clients that each send a frame of an unknown API key: each connection is closed.
    for (let i = 0; i < 25; i++) {
      const client = await RawClient.connect(broker.port);
      const frame = Buffer.alloc(12);
      frame.writeInt32BE(8, 0);
      frame.writeInt16BE(9999, 4);
      client.write(frame);
      await client.waitClosed();
    }
    // Two connections held open, then 25 more: all refused.
    const held = [await RawClient.connect(broker.port), await RawClient.connect(broker.port)];
    await sleep(50);
    for (let i = 0; i < 25; i++) {
      const refused = await RawClient.connect(broker.port);
      await refused.waitClosed();
    }
    for (const client of held) client.destroy();
    await sleep(50);
    const malformed = lines.filter((l) => l.msg === 'malformed request: connection closed');
    const refused = lines.filter((l) => l.msg === 'connection refused: max.connections reached');
    assert.equal(malformed.length, 10, 'the first 10 malformed requests in 10 s are logged');
    assert.ok(malformed.every((l) => l.level === 40), 'at warn');
    assert.equal(refused.length, 10, 'the first 10 refused connections in 10 s are logged');
    assert.ok(refused.every((l) => l.level === 40), 'at warn');
  } finally {
    await broker.close();
    await rm(dataDir, { recursive: true, force: true });
  }
});
