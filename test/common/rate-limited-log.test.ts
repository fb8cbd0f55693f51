import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pino } from 'pino';
import { Writable } from 'node:stream';
import { RateLimitedLog } from '../../src/common/rate-limited-log.js';

function capture(): { logger: pino.Logger; lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
      done();
    },
  });
  return { logger: pino({ level: 'info' }, stream), lines };
}

test('at most linesMax lines per interval; the next line written reports how many were held back', async () => {
  const { logger, lines } = capture();
  let now = 0;
  const log = new RateLimitedLog(logger, { linesMax: 3, intervalMs: 1000, nowMs: () => now });
  for (let i = 0; i < 10; i++) log.warn({ i }, 'refused');
  assert.equal(log.suppressedCount, 7);
  now = 1000;
  log.warn({ i: 10 }, 'refused');
  await new Promise((resolve) => setImmediate(resolve));
  assert.deepEqual(lines.map((l) => [l.i, l.suppressed, l.level]), [[0, undefined, 40], [1, undefined, 40], [2, undefined, 40], [10, 7, 40]]);
  assert.equal(log.suppressedCount, 0);
});
