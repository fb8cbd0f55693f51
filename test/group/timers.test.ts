import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { TimerQueue } from '../../src/group/timers.js';

test('timers fire by deadline, ties in scheduling order; rescheduling replaces; cancel removes', () => {
  const q = new TimerQueue<string>();
  q.schedule('a', 10, 'a1');
  q.schedule('b', 5, 'b');
  q.schedule('c', 10, 'c');
  q.schedule('a', 20, 'a2');
  q.schedule('d', 1, 'd');
  q.cancel('d');
  assert.equal(q.nextDeadlineMs(), 5);
  assert.equal(q.popDue(4), undefined);
  assert.deepEqual([q.popDue(10), q.popDue(10), q.popDue(10)], ['b', 'c', undefined]);
  assert.equal(q.has('a'), true);
  assert.equal(q.popDue(20), 'a2');
  assert.equal(q.size, 0);
  assert.equal(q.nextDeadlineMs(), undefined);
});

test('popDue yields live tasks in (deadline, schedule order), each once (property)', () => {
  fc.assert(
    fc.property(fc.array(fc.tuple(fc.integer({ min: 0, max: 9 }), fc.integer({ min: 0, max: 100 }), fc.boolean()), { maxLength: 60 }), (ops) => {
      const q = new TimerQueue<number>();
      const model = new Map<string, { deadline: number; seq: number }>();
      ops.forEach(([key, deadline, cancel], seq) => {
        if (cancel) {
          q.cancel(String(key));
          model.delete(String(key));
        } else {
          q.schedule(String(key), deadline, seq);
          model.set(String(key), { deadline, seq });
        }
      });
      const expected = [...model.values()].sort((x, y) => x.deadline - y.deadline || x.seq - y.seq).map((e) => e.seq);
      const fired: number[] = [];
      for (let i = 0; i < 100; i++) {
        const task = q.popDue(100);
        if (task === undefined) break;
        fired.push(task);
      }
      assert.deepEqual(fired, expected);
    }),
    { numRuns: 300 },
  );
});
