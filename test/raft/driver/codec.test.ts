import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Message } from '../../../src/raft/core/types.js';
import { CodecError, decodeMessage, encodeMessage } from '../../../src/raft/driver/codec.js';
import { FrameDecoder, frame } from '../../../src/raft/driver/transport.js';

const entry = { index: 7, term: 3, type: 'conf-change' as const, data: new Uint8Array([1, 2, 3]) };
const messages: Message[] = [
  { type: 'pre-vote', from: 1, to: 2, term: 4, lastIndex: 9, lastTerm: 3 },
  { type: 'vote', from: 1, to: 2, term: 4, lastIndex: 9, lastTerm: 3, transfer: true },
  { type: 'vote-response', from: 2, to: 1, term: 4, reject: false },
  { type: 'pre-vote-response', from: 2, to: 1, term: 4, reject: true },
  { type: 'append', from: 1, to: 2, term: 4, prevIndex: 6, prevTerm: 3, commitIndex: 5, entries: [entry] },
  { type: 'append-response', from: 2, to: 1, term: 4, index: 6, reject: true, hintIndex: 4, hintTerm: 2 },
  { type: 'heartbeat', from: 1, to: 2, term: 4, commitIndex: 5, context: 'r-1' },
  { type: 'heartbeat-response', from: 2, to: 1, term: 4, context: '' },
  { type: 'snapshot', from: 1, to: 2, term: 4, snapshot: { metadata: { index: 2 ** 40, term: 4, confState: { voters: [1, 2, 3], learners: [9] } }, data: new Uint8Array([5]) } },
  { type: 'timeout-now', from: 1, to: 2, term: 4 },
  { type: 'read-index', from: 2, to: 1, term: 4, context: 'x' },
  { type: 'read-index-response', from: 1, to: 2, term: 4, context: 'x', index: 12 },
];

test('every message type round-trips through the codec', () => {
  for (const message of messages) assert.deepEqual(decodeMessage(encodeMessage(message)), message);
});

test('malformed input raises CodecError, never a partial message', () => {
  const bytes = encodeMessage(messages[4]!);
  for (let cut = 0; cut < bytes.length; cut++) assert.throws(() => decodeMessage(bytes.subarray(0, cut)), CodecError);
  assert.throws(() => decodeMessage(Buffer.concat([bytes, Buffer.from([0])])), CodecError);
  assert.throws(() => decodeMessage(Buffer.from([200, 0, 0, 0, 1])), CodecError);
});

test('frames are reassembled from arbitrary chunks; an oversized frame is refused', () => {
  const stream = Buffer.concat(messages.map((m) => frame(encodeMessage(m))));
  const decoder = new FrameDecoder(1 << 20);
  const out: Message[] = [];
  for (let offset = 0; offset < stream.length; offset += 7) {
    for (const payload of decoder.push(stream.subarray(offset, offset + 7))) out.push(decodeMessage(payload));
  }
  assert.deepEqual(out, messages);
  assert.throws(() => new FrameDecoder(10).push(frame(Buffer.alloc(11))), CodecError);
});
