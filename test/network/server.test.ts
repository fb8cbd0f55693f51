import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { NetworkServer, type NetworkServerOptions } from '../../src/network/server.js';
import type { FrameHandler } from '../../src/network/connection.js';
import { RawClient, sizePrefixed } from './raw-client.js';

const echo: FrameHandler = (_connection, frame) => [sizePrefixed(Buffer.from(frame))];

async function withServer(
  options: Partial<NetworkServerOptions> & { handler: FrameHandler },
  body: (server: NetworkServer) => Promise<void>,
): Promise<void> {
  const server = await NetworkServer.listen({ host: '127.0.0.1', port: 0, shutdownTimeoutMs: 2000, ...options });
  try {
    await body(server);
  } finally {
    await server.close();
  }
}

test('port 0 lets the OS pick a port', async () => {
  await withServer({ handler: echo }, async (server) => {
    assert.ok(server.port > 0);
  });
});

test('a frame split across TCP writes is answered once, whole', async () => {
  await withServer({ handler: echo }, async (server) => {
    const client = await RawClient.connect(server.port);
    const bytes = sizePrefixed(Buffer.from('split across chunks'));
    for (let at = 0; at < bytes.length; at += 3) {
      client.write(bytes.subarray(at, at + 3));
      await sleep(2);
    }
    const [response] = await client.waitFrames(1);
    assert.equal(response?.toString(), 'split across chunks');
    client.destroy();
  });
});

test('many frames in one write are all answered in order', async () => {
  await withServer({ handler: echo }, async (server) => {
    const client = await RawClient.connect(server.port);
    const bodies = Array.from({ length: 300 }, (_, i) => `request-${i}`);
    client.write(Buffer.concat(bodies.map((b) => sizePrefixed(Buffer.from(b)))));
    const frames = await client.waitFrames(bodies.length);
    assert.deepEqual(frames.map((f) => f.toString()), bodies);
    client.destroy();
  });
});

test('an oversized frame closes the connection on its size prefix alone', async () => {
  let calls = 0;
  await withServer(
    { handler: (c, f) => { calls++; return echo(c, f); }, socketRequestMaxBytes: 1024 },
    async (server) => {
      const client = await RawClient.connect(server.port);
      const prefix = Buffer.alloc(4);
      prefix.writeInt32BE(0x7fffffff, 0);
      client.write(prefix);
      await client.waitClosed();
      assert.equal(calls, 0);
    },
  );
});

test('a frame exactly at socket.request.max.bytes is accepted', async () => {
  await withServer({ handler: echo, socketRequestMaxBytes: 1024 }, async (server) => {
    const client = await RawClient.connect(server.port);
    const response = await client.roundTrip(Buffer.alloc(1024, 7));
    assert.equal(response.length, 1024);
    client.destroy();
  });
});

test('a negative frame size closes the connection', async () => {
  await withServer({ handler: echo }, async (server) => {
    const client = await RawClient.connect(server.port);
    client.write(Buffer.from([0x80, 0, 0, 0]));
    await client.waitClosed();
  });
});

test('pipelined requests finishing out of order are answered in request order; null responses are skipped', async () => {
  const handler: FrameHandler = async (_connection, frame) => {
    const index = frame.readInt32BE(0);
    await sleep((20 - index) * 3);
    if (index % 5 === 0) return null; // like Produce acks=0
    return [sizePrefixed(Buffer.from(frame))];
  };
  await withServer({ handler }, async (server) => {
    const client = await RawClient.connect(server.port);
    const frames = Array.from({ length: 20 }, (_, i) => {
      const body = Buffer.alloc(4);
      body.writeInt32BE(i, 0);
      return sizePrefixed(body);
    });
    client.write(Buffer.concat(frames));
    const expected = Array.from({ length: 20 }, (_, i) => i).filter((i) => i % 5 !== 0);
    const responses = await client.waitFrames(expected.length);
    assert.deepEqual(responses.map((r) => r.readInt32BE(0)), expected);
    client.destroy();
  });
});

test('reading pauses at queued.max.requests and resumes as responses leave', async () => {
  const pending: Array<() => void> = [];
  let calls = 0;
  const handler: FrameHandler = (_connection, frame) => {
    calls++;
    return new Promise((resolve) => pending.push(() => resolve([sizePrefixed(Buffer.from(frame))])));
  };
  await withServer({ handler, queuedMaxRequests: 4 }, async (server) => {
    const client = await RawClient.connect(server.port);
    const total = 50;
    client.write(Buffer.concat(Array.from({ length: total }, () => sizePrefixed(Buffer.from('x')))));
    await sleep(100);
    assert.equal(calls, 4, 'only queued.max.requests requests are read while none is answered');
    for (let round = 0; round < 1000 && client.frames.length < total; round++) {
      for (const release of pending.splice(0)) release();
      await sleep(5);
    }
    assert.equal(client.frames.length, total);
    assert.equal(calls, total);
    client.destroy();
  });
});

test('reading pauses when queued bytes exceed the bound', async () => {
  const pending: Array<() => void> = [];
  let calls = 0;
  const handler: FrameHandler = (_connection, frame) => {
    calls++;
    return new Promise((resolve) => pending.push(() => resolve([sizePrefixed(Buffer.from(frame))])));
  };
  await withServer({ handler, queuedMaxBytes: 10_000 }, async (server) => {
    const client = await RawClient.connect(server.port);
    client.write(Buffer.concat(Array.from({ length: 20 }, () => sizePrefixed(Buffer.alloc(4000)))));
    await sleep(100);
    assert.equal(calls, 3, 'reading stops once 10,000 bytes are queued');
    for (let round = 0; round < 1000 && client.frames.length < 20; round++) {
      for (const release of pending.splice(0)) release();
      await sleep(5);
    }
    assert.equal(client.frames.length, 20);
    client.destroy();
  });
});

test('an idle connection is closed after connections.max.idle.ms', async () => {
  await withServer({ handler: echo, connectionsMaxIdleMs: 100 }, async (server) => {
    const client = await RawClient.connect(server.port);
    await client.roundTrip(Buffer.from('ping'));
    await client.waitClosed(3000);
    assert.equal(server.connectionCount, 0);
  });
});

test('a connection with a request in flight is not idle', async () => {
  const handler: FrameHandler = async (_c, frame) => {
    await sleep(300);
    return [sizePrefixed(Buffer.from(frame))];
  };
  await withServer({ handler, connectionsMaxIdleMs: 100 }, async (server) => {
    const client = await RawClient.connect(server.port);
    const response = await client.roundTrip(Buffer.from('slow'));
    assert.equal(response.toString(), 'slow');
    client.destroy();
  });
});

test('a throwing handler closes only its own connection', async () => {
  const handler: FrameHandler = (c, frame) => {
    if (frame.toString() === 'boom') throw new Error('handler failure');
    return echo(c, frame);
  };
  await withServer({ handler }, async (server) => {
    const bad = await RawClient.connect(server.port);
    const good = await RawClient.connect(server.port);
    bad.write(sizePrefixed(Buffer.from('boom')));
    await bad.waitClosed();
    assert.equal((await good.roundTrip(Buffer.from('still here'))).toString(), 'still here');
    good.destroy();
  });
});

test('a rejecting handler closes the connection', async () => {
  await withServer({ handler: () => Promise.reject(new Error('async failure')) }, async (server) => {
    const client = await RawClient.connect(server.port);
    client.write(sizePrefixed(Buffer.from('x')));
    await client.waitClosed();
  });
});

test('connections above max.connections are closed on accept', async () => {
  await withServer({ handler: echo, maxConnections: 2 }, async (server) => {
    const a = await RawClient.connect(server.port);
    const b = await RawClient.connect(server.port);
    await a.roundTrip(Buffer.from('a'));
    await b.roundTrip(Buffer.from('b'));
    const c = await RawClient.connect(server.port);
    await c.waitClosed();
    a.destroy();
    b.destroy();
  });
});

test('graceful close answers in-flight requests, then closes', async () => {
  const handler: FrameHandler = async (_c, frame) => {
    await sleep(200);
    return [sizePrefixed(Buffer.from(frame))];
  };
  const server = await NetworkServer.listen({ host: '127.0.0.1', port: 0, handler, shutdownTimeoutMs: 5000 });
  const client = await RawClient.connect(server.port);
  client.socket.on('end', () => client.socket.end());
  client.write(sizePrefixed(Buffer.from('in flight')));
  await sleep(50);
  const closing = server.close();
  const [response] = await client.waitFrames(1);
  assert.equal(response?.toString(), 'in flight');
  await client.waitClosed();
  await closing;
  assert.equal(server.connectionCount, 0);
});

test('graceful close gives up after shutdownTimeoutMs', async () => {
  const handler: FrameHandler = () => new Promise(() => {});
  const server = await NetworkServer.listen({ host: '127.0.0.1', port: 0, handler, shutdownTimeoutMs: 100 });
  const client = await RawClient.connect(server.port);
  client.write(sizePrefixed(Buffer.from('never answered')));
  await sleep(20);
  await server.close();
  await client.waitClosed();
});

test('listening on a port in use rejects', async () => {
  await withServer({ handler: echo }, async (server) => {
    await assert.rejects(NetworkServer.listen({ host: '127.0.0.1', port: server.port, handler: echo }));
  });
});

test('a client that half-closes still gets every answer, then the connection ends', async () => {
  const handler: FrameHandler = async (_c, frame) => {
    await sleep(30);
    return [sizePrefixed(Buffer.from(frame))];
  };
  await withServer({ handler }, async (server) => {
    const client = await RawClient.connect(server.port);
    client.socket.end(Buffer.concat(['a', 'b', 'c'].map((b) => sizePrefixed(Buffer.from(b)))));
    await client.waitClosed();
    assert.deepEqual(client.frames.map((f) => f.toString()), ['a', 'b', 'c']);
  });
});

test('requests before a bad frame are answered, then the connection closes', async () => {
  const seen: string[] = [];
  const handler: FrameHandler = async (c, frame) => {
    seen.push(frame.toString());
    if (frame.toString() === 'bad') throw new Error('bad request');
    await sleep(20);
    return echo(c, frame);
  };
  await withServer({ handler }, async (server) => {
    const client = await RawClient.connect(server.port);
    const negativeSize = Buffer.from([0xff, 0xff, 0xff, 0xff]);
    client.write(Buffer.concat([sizePrefixed(Buffer.from('one')), sizePrefixed(Buffer.from('two')), negativeSize]));
    await client.waitClosed();
    assert.deepEqual(client.frames.map((f) => f.toString()), ['one', 'two']);
    const second = await RawClient.connect(server.port);
    second.write(Buffer.concat(['a', 'bad', 'c'].map((b) => sizePrefixed(Buffer.from(b)))));
    await second.waitClosed();
    assert.deepEqual(second.frames.map((f) => f.toString()), ['a']);
  });
});

test('a half-closed client whose requests were held back by backpressure still gets every answer', async () => {
  const handler: FrameHandler = async (c, frame) => {
    await sleep(1);
    return echo(c, frame);
  };
  await withServer({ handler, queuedMaxRequests: 3 }, async (server) => {
    const client = await RawClient.connect(server.port);
    const bodies = Array.from({ length: 40 }, (_, i) => `r${i}`);
    client.socket.end(Buffer.concat(bodies.map((b) => sizePrefixed(Buffer.from(b)))));
    await client.waitClosed();
    assert.deepEqual(client.frames.map((f) => f.toString()), bodies);
  });
});

test('a client that does not read its responses stops being read from, and catches up when it reads', async () => {
  let calls = 0;
  const responseBytes = 1024 * 1024;
  const handler: FrameHandler = () => {
    calls++;
    const response = Buffer.alloc(responseBytes);
    response.writeInt32BE(responseBytes - 4, 0);
    return [response];
  };
  await withServer({ handler, queuedMaxBytes: 4 * responseBytes }, async (server) => {
    const client = await RawClient.connect(server.port);
    client.socket.pause();
    const total = 200;
    client.write(Buffer.concat(Array.from({ length: total }, () => sizePrefixed(Buffer.from('x')))));
    await sleep(300);
    const callsWhileBlocked = calls;
    assert.ok(callsWhileBlocked < total, `reading paused: ${callsWhileBlocked} of ${total} requests read`);
    client.socket.resume();
    await client.waitFrames(total, 20_000);
    assert.equal(calls, total);
    client.destroy();
  });
});

test('a response whose size prefix does not match its bytes closes the connection and is reported', async () => {
  const reasons: Array<Error | undefined> = [];
  await withServer(
    { handler: () => [Buffer.from([0, 0, 0, 9, 1, 2])], onConnectionClosed: (_c, reason) => reasons.push(reason) },
    async (server) => {
      const client = await RawClient.connect(server.port);
      client.write(sizePrefixed(Buffer.from('x')));
      await client.waitClosed();
      assert.equal(client.frames.length, 0);
      assert.equal(reasons[0]?.name, 'InvariantError');
    },
  );
});
