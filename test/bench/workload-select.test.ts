import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseWorkloadNames, selectWorkloads } from '../../bench/macro/workload-select.js';

const rows = [
  { name: 'produce acks=1 (java)' },
  { name: 'produce acks=-1 (java)' },
  { name: 'consume', needs: 'produce acks=1 (java)', missing: (): string | undefined => undefined },
];

test('parseWorkloadNames: comma list, trimmed; absent option means every row', () => {
  assert.equal(parseWorkloadNames(undefined), undefined);
  assert.deepEqual(parseWorkloadNames('produce acks=1 (java), consume,'), ['produce acks=1 (java)', 'consume']);
});

test('selectWorkloads keeps the table order and runs every row without the option', () => {
  assert.deepEqual(selectWorkloads(rows, undefined), rows);
  assert.deepEqual(selectWorkloads(rows, ['produce acks=-1 (java)', 'produce acks=1 (java)']).map((w) => w.name), ['produce acks=1 (java)', 'produce acks=-1 (java)']);
});

test('selectWorkloads refuses an unknown name (a typo must not run an empty bench)', () => {
  assert.throws(() => selectWorkloads(rows, ['produce acks=1 (jav)']), /unknown produce acks=1 \(jav\)/);
});

test('consume without the row whose topic it reads is marked n/a', () => {
  const [consume] = selectWorkloads(rows, ['consume']);
  assert.match(consume?.missing?.() ?? '', /select that row too/);
  const both = selectWorkloads(rows, ['consume', 'produce acks=1 (java)']);
  assert.equal(both.find((w) => w.name === 'consume')?.missing?.(), undefined);
});
