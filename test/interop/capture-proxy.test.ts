// The capture proxy forwards bytes untouched both ways and records each request frame (without the
// size prefix) as <NNNN>-<apiKey4>-v<version>.bin, skipping oversized frames and helper client ids.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, connect, type Server } from 'node:net';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startCaptureProxy } from '../../scripts/interop/capture-proxy.js';

function frame(apiKey: number, version: number, clientId: string, extra = 0): Buffer {
  const id = Buffer.from(clientId);
  const body = Buffer.alloc(10 + id.length + extra, 7);
  body.writeInt16BE(apiKey, 0);
  body.writeInt16BE(version, 2);
  body.writeInt32BE(1, 4);
  body.writeInt16BE(id.length, 8);
  id.copy(body, 10);
  const size = Buffer.alloc(4);
  size.writeInt32BE(body.length);
  return Buffer.concat([size, body]);
}

describe('capture proxy', () => {
  it('forwards untouched and records request frames by api key and version', { timeout: 10_000 }, async () => {
    const out = mkdtempSync(join(tmpdir(), 'capture-test-'));
    let received = Buffer.alloc(0);
    const upstream: Server = createServer((s) => {
      s.on('data', (d) => { received = Buffer.concat([received, d]); s.write(Buffer.from('pong')); });
    });
    await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', () => r()));
    const upstreamPort = (upstream.address() as { port: number }).port;
    const proxy = await startCaptureProxy({ listenPort: 0, upstream: `127.0.0.1:${upstreamPort}`, outDir: out, maxFrameBytes: 1024, skipClientIds: ['helper'] });
    const sent = Buffer.concat([frame(18, 4, 'c'), frame(3, 12, 'c'), frame(0, 9, 'helper'), frame(1, 17, 'c', 2000), frame(0, 11, 'c')]);
    const sock = connect({ host: '127.0.0.1', port: proxy.port });
    const reply = await new Promise<Buffer>((resolve, reject) => {
      let acc = Buffer.alloc(0);
      sock.on('error', reject);
      // Split the write in odd chunks: framing must not depend on packet boundaries.
      sock.on('connect', () => { sock.write(sent.subarray(0, 7)); setTimeout(() => sock.write(sent.subarray(7)), 20); });
      sock.on('data', (d) => { acc = Buffer.concat([acc, d]); if (acc.length >= 4) resolve(acc); });
    });
    const deadline = Date.now() + 5000;
    while (received.length < sent.length && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    sock.destroy();
    await proxy.close();
    await new Promise<void>((r) => upstream.close(() => r()));
    assert.equal(reply.subarray(0, 4).toString(), 'pong');
    assert.deepEqual(received, sent, 'upstream must see the exact bytes');
    const files = readdirSync(out).sort();
    assert.deepEqual(files, ['0001-0018-v4.bin', '0002-0003-v12.bin', '0003-0000-v11.bin']);
    assert.deepEqual(readFileSync(join(out, '0001-0018-v4.bin')), sent.subarray(4, 4 + sent.readInt32BE(0)));
    rmSync(out, { recursive: true, force: true });
  });
});
