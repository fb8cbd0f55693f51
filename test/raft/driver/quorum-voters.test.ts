import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseQuorumVoters } from '../../../src/raft/driver/quorum-voters.js';

test('controller.quorum.voters parses ids and addresses, IPv6 included', () => {
  const voters = parseQuorumVoters('1@localhost:9093, 2@10.0.0.2:9094,3@[::1]:9095');
  assert.deepEqual([...voters], [[1, { host: 'localhost', port: 9093 }], [2, { host: '10.0.0.2', port: 9094 }], [3, { host: '::1', port: 9095 }]]);
});

test('malformed, duplicate or empty voter lists are refused', () => {
  for (const bad of ['', '1@host', 'x@host:1', '1@host:1,1@other:2', '0@host:1', '1@host:70000']) {
    assert.throws(() => parseQuorumVoters(bad), RangeError, bad);
  }
});
