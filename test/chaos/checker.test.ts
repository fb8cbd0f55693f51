/**
 * The chaos checker on crafted histories (issue #23): a clean history passes, and each anomaly the suite
 * exists to find — a lost acknowledged write, a duplicate at two offsets, two values at one offset, an
 * out-of-order read, and the rest — must make it fail. A checker that cannot fail proves nothing.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { availability, check, type FinalPartition, type ProducerHistory, type ReaderHistory } from './checker.js';
import { ConsumerRecorder, ProducerRecorder } from './history.js';

/** Producer 1 (idempotent) acknowledged 1.0..1.3 at p0@0..3; the final read holds exactly those. */
function clean(): { producers: ProducerHistory[]; readers: ReaderHistory[]; final: FinalPartition[] } {
  const values = ['1.0', '1.1', '1.2', '1.3'];
  return {
    producers: [{ name: 'idempotent', prefix: 1, idempotent: true, errors: 0, sent: 4, acks: values.map((value, offset) => ({ value, partition: 0, offset, atMs: offset * 100 })) }],
    readers: [{ name: 'group-1', group: 'g', records: values.map((value, offset) => ({ partition: 0, offset, value, atMs: 1000 + offset, session: 1 })), commits: [{ partition: 0, offset: 2, atMs: 1002 }, { partition: 0, offset: 4, atMs: 1004 }] }],
    final: [{ partition: 0, logStartOffset: 0, highWatermark: 4, records: values.map((value, offset) => ({ offset, value })) }],
  };
}

test('a clean history passes', () => {
  const h = clean();
  const r = check(h.producers, h.readers, h.final);
  assert.equal(r.ok, true, JSON.stringify(r.examples));
  assert.equal(r.acked, 4);
  assert.equal(r.finalRecords, 4);
});

test('a lost acknowledged write fails the check', () => {
  const h = clean();
  const final = [{ ...h.final[0]!, highWatermark: 3, records: h.final[0]!.records.slice(0, 3) }];
  const readers = [{ ...h.readers[0]!, records: h.readers[0]!.records.slice(0, 3) }];
  const r = check(h.producers, readers, final);
  assert.equal(r.ok, false);
  assert.equal(r.lost, 1);
  assert.match(r.examples[0]!.detail, /1\.3 acknowledged at p0@3/);
});

test('an acknowledged write overwritten by another value (truncated and rewritten) is lost and inconsistent', () => {
  const h = clean();
  const final = [{ ...h.final[0]!, records: [...h.final[0]!.records.slice(0, 3), { offset: 3, value: '1.9' }] }];
  const producers = [{ ...h.producers[0]!, sent: 10 }];
  const r = check(producers, [], final);
  assert.equal(r.ok, false);
  assert.equal(r.lost, 1);
  assert.equal(r.inconsistent, 1);
});

test('an idempotent duplicate at two offsets fails; a non-idempotent one is counted and allowed', () => {
  const h = clean();
  const final = [{ ...h.final[0]!, highWatermark: 5, records: [...h.final[0]!.records, { offset: 4, value: '1.2' }] }];
  const r = check(h.producers, [], final);
  assert.equal(r.ok, false);
  assert.equal(r.duplicatesIdempotent, 1);
  const plain = check([{ ...h.producers[0]!, idempotent: false }], [], final);
  assert.equal(plain.duplicatesPlain, 1);
  assert.equal(plain.duplicatesIdempotent, 0);
  assert.equal(plain.ok, true, JSON.stringify(plain.examples));
});

test('two values at one offset across readers fails the check', () => {
  const h = clean();
  const other: ReaderHistory = { name: 'group-2', group: 'g', commits: [], records: [{ partition: 0, offset: 2, value: '1.3', atMs: 2000, session: 1 }] };
  const r = check(h.producers, [...h.readers, other], h.final);
  assert.equal(r.ok, false);
  assert.equal(r.inconsistent, 1);
  assert.match(r.examples.find((a) => a.kind === 'inconsistent')!.detail, /p0@2: group-2 saw 1\.3, the final read has 1\.2/);
});

test('two acknowledgements of one offset with different values fail the check', () => {
  const h = clean();
  const second: ProducerHistory = { name: 'plain', prefix: 2, idempotent: false, errors: 0, sent: 1, acks: [{ value: '2.0', partition: 0, offset: 1, atMs: 50 }] };
  const r = check([...h.producers, second], [], h.final);
  assert.equal(r.ok, false);
  assert.equal(r.lost, 1, '2.0 is nowhere in the final read');
});

test('an out-of-order read within one assignment fails; a new assignment may restart lower', () => {
  const h = clean();
  const reread = (session: number): ReaderHistory => ({
    ...h.readers[0]!,
    records: [...h.readers[0]!.records, { partition: 0, offset: 1, value: '1.1', atMs: 1010, session }],
  });
  const r = check(h.producers, [reread(1)], h.final);
  assert.equal(r.ok, false);
  assert.equal(r.outOfOrder, 1);
  assert.equal(check(h.producers, [reread(2)], h.final).ok, true);
});

test('an acknowledged value found at another offset than acknowledged fails (moved)', () => {
  const h = clean();
  const final = [{ ...h.final[0]!, records: [{ offset: 0, value: '1.0' }, { offset: 1, value: '1.2' }, { offset: 2, value: '1.1' }, { offset: 3, value: '1.3' }] }];
  const r = check(h.producers, [], final);
  assert.equal(r.ok, false);
  assert.equal(r.moved, 2);
});

test('a record no producer sent fails the check (unsent)', () => {
  const h = clean();
  const final = [{ ...h.final[0]!, highWatermark: 5, records: [...h.final[0]!.records, { offset: 4, value: '1.7' }] }];
  const r = check(h.producers, [], final);
  assert.equal(r.ok, false);
  assert.equal(r.unsent, 1);
});

test('a gap in the final read below the high watermark fails the check', () => {
  const h = clean();
  const final = [{ ...h.final[0]!, highWatermark: 6 }];
  const r = check(h.producers, h.readers, final);
  assert.equal(r.ok, false);
  assert.equal(r.finalGaps, 1);
});

test('a record a reader consumed at an offset the final log no longer has fails (inconsistent over time)', () => {
  const h = clean();
  const ghost: ReaderHistory = { name: 'group-2', group: 'g', commits: [], records: [{ partition: 0, offset: 4, value: '1.3', atMs: 3000, session: 1 }] };
  const r = check(h.producers, [ghost], h.final);
  assert.equal(r.ok, false);
  assert.equal(r.inconsistent, 1);
});

test('a group committed offset that goes back fails the check', () => {
  const h = clean();
  const readers = [h.readers[0]!, { name: 'group-2', group: 'g', records: [], commits: [{ partition: 0, offset: 3, atMs: 5000 }] }];
  const r = check(h.producers, readers, h.final);
  assert.equal(r.ok, false);
  assert.equal(r.commitRegressions, 1);
});

test('the recorders read VerifiableProducer / VerifiableConsumer JSON lines', () => {
  const start = 1_796_576_232_000;
  const p = new ProducerRecorder('idempotent', 1, true, start);
  p.line('{"timestamp":1796576232702,"name":"startup_complete"}');
  p.line('{"timestamp":1796576237211,"name":"producer_send_success","key":"7","value":"1.0","offset":0,"topic":"chaos","partition":2}');
  p.line('{"timestamp":1796576237300,"name":"producer_send_error","key":"8","value":"1.1","exception":"class org.apache.kafka.common.errors.TimeoutException","message":"x","topic":"chaos"}');
  p.line('[2026-12-06 17:00:00,000] WARN a log line, not an event');
  p.line('{"timestamp":1796576237441,"name":"tool_data","sent":2,"acked":1,"target_throughput":10,"avg_throughput":4.1}');
  assert.deepEqual(p.history(), { name: 'idempotent', prefix: 1, idempotent: true, errors: 1, sent: 2, acks: [{ value: '1.0', partition: 2, offset: 0, atMs: 5211 }] });
  const c = new ConsumerRecorder('group-1', 'g', start);
  c.line('{"timestamp":1796576241955,"name":"partitions_assigned","partitions":[{"topic":"chaos","partition":2}]}');
  c.line('{"timestamp":1796576242294,"name":"record_data","key":"7","value":"1.0","topic":"chaos","partition":2,"offset":0}');
  c.line('{"timestamp":1796576242460,"name":"offsets_committed","offsets":[{"topic":"chaos","partition":2,"offset":1}],"success":true}');
  c.line('{"timestamp":1796576242461,"name":"offsets_committed","offsets":[{"topic":"chaos","partition":2,"offset":0}],"success":false,"error":"x"}');
  assert.deepEqual(c.history(), {
    name: 'group-1', group: 'g',
    records: [{ partition: 2, offset: 0, value: '1.0', atMs: 10294, session: 1 }],
    commits: [{ partition: 2, offset: 1, atMs: 10460 }],
    assignments: [],
  });
  assert.equal(c.next.get(2), 1);
});

test('the recorders read the franz-go workloads\' lines: generation and member of each assignment, fetch errors', () => {
  const start = 1_796_576_232_000;
  const c = new ConsumerRecorder('franz-group-1', 'fg', start);
  c.line('{"assigned":[{"topic":"chaos","partition":1}],"generation":3,"member_id":"m-a","name":"partitions_assigned","partitions":[{"topic":"chaos","partition":0},{"topic":"chaos","partition":1}],"timestamp":1796576233000}');
  c.line('{"key":"7","name":"record_data","offset":5,"partition":1,"timestamp":1796576233100,"topic":"chaos","value":"3.7"}');
  c.line('{"generation":3,"member_id":"m-a","name":"offsets_committed","offsets":[{"offset":6,"partition":1,"topic":"chaos"}],"success":true,"timestamp":1796576233200}');
  c.line('{"generation":3,"member_id":"m-a","name":"partitions_lost","owned":[],"partitions":[{"topic":"chaos","partition":0},{"topic":"chaos","partition":1}],"timestamp":1796576233300}');
  c.line('{"error":"NOT_LEADER_OR_FOLLOWER","name":"fetch_error","partition":1,"timestamp":1796576233400,"topic":"chaos"}');
  c.line('{"key":"8","name":"record_data","offset":6,"partition":1,"timestamp":1796576233500,"topic":"chaos","value":"3.8"}');
  assert.deepEqual(c.history(), {
    name: 'franz-group-1', group: 'fg',
    records: [{ partition: 1, offset: 5, value: '3.7', atMs: 1100, session: 1 }, { partition: 1, offset: 6, value: '3.8', atMs: 1500, session: 2 }],
    commits: [{ partition: 1, offset: 6, atMs: 1200 }],
    assignments: [{ generation: 3, memberId: 'm-a', partitions: [0, 1], atMs: 1000 }],
  });
  assert.equal(c.fetchErrors, 1);
  const p = new ProducerRecorder('franz-idempotent-3', 3, true, start);
  p.line('{"key":"0","name":"producer_send_success","offset":12,"partition":2,"timestamp":1796576233000,"value":"3.0"}');
  p.line('{"acked":1,"name":"tool_data","sent":1,"timestamp":1796576234000}');
  assert.deepEqual(p.history(), { name: 'franz-idempotent-3', prefix: 3, idempotent: true, errors: 0, sent: 1, acks: [{ value: '3.0', partition: 2, offset: 12, atMs: 1000 }] });
});

test('a partition assigned to two members of one generation fails the check; across generations it passes', () => {
  const h = clean();
  const member = (name: string, memberId: string, generation: number, partitions: number[]): ReaderHistory =>
    ({ name, group: 'fg', records: [], commits: [], assignments: [{ generation, memberId, partitions, atMs: 100 * generation }] });
  const handedOver = [member('franz-1', 'm-a', 4, [0, 1]), member('franz-2', 'm-b', 5, [0])];
  const ok = check(h.producers, [...h.readers, ...handedOver], h.final);
  assert.equal(ok.ok, true, JSON.stringify(ok.examples));
  assert.equal(ok.generationsChecked, 2);
  const twice = [member('franz-1', 'm-a', 5, [0, 1]), member('franz-2', 'm-b', 5, [1, 2])];
  const r = check(h.producers, [...h.readers, ...twice], h.final);
  assert.equal(r.ok, false);
  assert.equal(r.doubleAssignments, 1);
  assert.match(r.examples.find((a) => a.kind === 'double-assignment')!.detail, /group fg generation 5: p1 assigned to franz-1\/m-a and franz-2\/m-b/);
  // The same partition in two groups' generation 5 is no conflict; nor one member logging a generation twice.
  const otherGroup: ReaderHistory = { ...twice[1]!, group: 'other' };
  const again: ReaderHistory = { ...twice[0]!, assignments: [...twice[0]!.assignments!, { generation: 5, memberId: 'm-a', partitions: [0, 1], atMs: 600 }] };
  assert.equal(check(h.producers, [again, otherGroup], h.final).ok, true);
});

test('a reader by assignment (no group) is held to the same offsets and values: inconsistent and unsent fail', () => {
  const h = clean();
  const direct: ReaderHistory = { name: 'franz-assign', group: null, commits: [], records: [
    { partition: 0, offset: 0, value: '1.0', atMs: 10, session: 1 },
    { partition: 0, offset: 1, value: '1.2', atMs: 11, session: 1 },
  ] };
  const r = check(h.producers, [direct], h.final);
  assert.equal(r.ok, false);
  assert.equal(r.inconsistent, 1);
  assert.match(r.examples.find((a) => a.kind === 'inconsistent')!.detail, /p0@1: franz-assign saw 1\.2, the final read has 1\.1/);
  const franz: ProducerHistory = { name: 'franz-plain-4', prefix: 4, idempotent: false, errors: 0, sent: 2, acks: [] };
  const stray: ReaderHistory = { ...direct, records: [{ partition: 0, offset: 0, value: '1.0', atMs: 10, session: 1 }, { partition: 0, offset: 9, value: '4.2', atMs: 12, session: 1 }] };
  const u = check([...h.producers, franz], [stray], h.final);
  assert.equal(u.ok, false);
  assert.equal(u.unsent, 1, '4.2 is past what franz-plain-4 says it sent (0..1)');
  assert.match(u.examples.find((a) => a.kind === 'unsent')!.detail, /franz-assign read "4\.2"/);
});

test('availability: rate before / during / after a fault and the longest stretch without acks', () => {
  const acks = [...Array.from({ length: 100 }, (_, i) => i * 100), ...Array.from({ length: 100 }, (_, i) => 20_000 + i * 100)]
    .map((atMs) => ({ value: 'x', partition: 0, offset: 0, atMs }));
  const a = availability(acks, [{ kind: 'kill', detail: 'node 1', startMs: 10_000, endMs: 20_000 }], 0, 30_000);
  assert.equal(a.seconds, 30);
  assert.equal(a.zeroAckSeconds, 10);
  assert.equal(a.longestOutageMs, 10_100);
  assert.deepEqual(a.perFault.map((f) => [f.before, f.during, f.after]), [[10, 0, 10]]);
  assert.deepEqual(a.windows, [50, 50, 0, 0, 50, 50]);
});
