import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { test } from 'node:test';
import type { Message } from '../../../src/raft/core/types.js';
import { TcpTransport } from '../../../src/raft/driver/transport.js';
import { freePort } from '../../network/free-port.js';


async function waitFor(what: string, condition: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

const heartbeat = (term: number): Message => ({ type: 'heartbeat', from: 1, to: 2, term, commitIndex: 0, context: '' });

test('messages arrive in order, and again after the receiver restarts (reconnect with backoff)', async () => {
  const ports = { 1: await freePort(), 2: await freePort() };
  const peers = new Map([[2, { host: '127.0.0.1', port: ports[2] }]]);
  const sender = new TcpTransport({ nodeId: 1, listen: { host: '127.0.0.1', port: ports[1] }, peers, reconnectBackoffMinMs: 10 });
  await sender.start();
  const received: number[] = [];
  const startReceiver = async (): Promise<TcpTransport> => {
    const receiver = new TcpTransport({ nodeId: 2, listen: { host: '127.0.0.1', port: ports[2] }, peers: new Map() });
    receiver.onMessage((m) => received.push(m.term));
    await receiver.start();
    return receiver;
  };
  let receiver = await startReceiver();
  try {
    for (let term = 1; term <= 50; term++) sender.send(heartbeat(term));
    await waitFor('50 messages', () => received.length === 50);
    assert.deepEqual(received, Array.from({ length: 50 }, (_, i) => i + 1));
    await receiver.close();
    receiver = await startReceiver();
    for (let round = 0; round < 200 && !received.includes(1000); round++) {
      sender.send(heartbeat(1000));
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    assert.ok(received.includes(1000), 'delivered after reconnecting');
  } finally {
    await sender.close();
    await receiver.close();
  }
});

test('a peer sending a garbage frame is disconnected and the receiver keeps working', async () => {
  const port = await freePort();
  const receiver = new TcpTransport({ nodeId: 2, listen: { host: '127.0.0.1', port }, peers: new Map(), frameBytesMax: 1024 });
  const received: Message[] = [];
  receiver.onMessage((m) => received.push(m));
  await receiver.start();
  try {
    const closed = await new Promise<boolean>((resolve) => {
      const socket = connect(port, '127.0.0.1', () => socket.write(Buffer.from([0, 0, 0x10, 0, 1, 2, 3])));
      socket.on('close', () => resolve(true));
      socket.on('error', () => undefined);
    });
    assert.equal(closed, true);
    assert.deepEqual(received, []);
  } finally {
    await receiver.close();
  }
});
