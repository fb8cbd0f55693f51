// Capture proxy: sits between a client and Apache Kafka, forwards every byte untouched both ways, and
// records each REQUEST frame (without its 4-byte size prefix) as
//   <outDir>/<NNNN>-<apiKey decimal, 4 digits>-v<version>.bin      e.g. 0001-0018-v4.bin
// NNNN counts recorded frames across all connections in arrival order. Frames larger than
// maxFrameBytes are skipped; recording stops once maxTotalBytes have been written.
// For the client to stay behind the proxy, the broker must advertise the proxy's port
// (startKafka({ advertisedPorts: [proxyPort] })).
//
// CLI: npx tsx scripts/interop/capture-proxy.ts --listen 29092 --upstream 127.0.0.1:19092 --out DIR
import { createServer, connect, type Server, type Socket } from 'node:net';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { splitHostPort } from './kafka-wire.js';

export interface CaptureProxyOptions {
  listenPort: number;
  upstream: string;
  outDir: string;
  maxFrameBytes?: number;
  maxTotalBytes?: number;
  /** Requests whose header client_id is in this list are forwarded but not recorded (helper clients). */
  skipClientIds?: string[];
}

export interface CaptureProxy {
  port: number;
  frames(): number;
  bytes(): number;
  close(): Promise<void>;
}

export function startCaptureProxy(opts: CaptureProxyOptions): Promise<CaptureProxy> {
  const maxFrame = opts.maxFrameBytes ?? 64 * 1024;
  // 280 KiB per client keeps seven clients under 2 MiB of fixtures in total.
  const maxTotal = opts.maxTotalBytes ?? 280 * 1024;
  mkdirSync(opts.outDir, { recursive: true });
  let seq = 0;
  let total = 0;
  const sockets = new Set<Socket>();
  const [host, port] = splitHostPort(opts.upstream);

  const record = (frame: Buffer): void => {
    if (frame.length > maxFrame || frame.length < 10 || total + frame.length > maxTotal) return;
    const idLen = frame.readInt16BE(8);
    const clientId = idLen > 0 && 10 + idLen <= frame.length ? frame.subarray(10, 10 + idLen).toString() : '';
    if (opts.skipClientIds?.includes(clientId)) return;
    const apiKey = frame.readInt16BE(0);
    const version = frame.readInt16BE(2);
    seq += 1;
    total += frame.length;
    const name = `${String(seq).padStart(4, '0')}-${String(apiKey).padStart(4, '0')}-v${version}.bin`;
    writeFileSync(join(opts.outDir, name), frame);
  };

  const server: Server = createServer((client) => {
    const upstream = connect({ host, port: Number(port) });
    sockets.add(client);
    sockets.add(upstream);
    let pending = Buffer.alloc(0);
    client.on('data', (d) => {
      upstream.write(d);
      pending = pending.length === 0 ? d : Buffer.concat([pending, d]);
      // Frames are bounded by the broker's own limits; the loop ends when no full frame is buffered.
      while (pending.length >= 4) {
        const size = pending.readInt32BE(0);
        if (size < 0 || pending.length < 4 + size) break;
        record(pending.subarray(4, 4 + size));
        pending = pending.subarray(4 + size);
      }
    });
    upstream.on('data', (d) => client.write(d));
    const end = (): void => { client.destroy(); upstream.destroy(); sockets.delete(client); sockets.delete(upstream); };
    client.on('close', end);
    upstream.on('close', end);
    client.on('error', end);
    upstream.on('error', end);
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.listenPort, '127.0.0.1', () => {
      const addr = server.address();
      const boundPort = typeof addr === 'object' && addr ? addr.port : opts.listenPort;
      resolve({
        port: boundPort,
        frames: () => seq,
        bytes: () => total,
        close: () => new Promise<void>((r) => {
          for (const s of sockets) s.destroy();
          server.close(() => r());
        }),
      });
    });
  });
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const get = (n: string): string | undefined => { const i = process.argv.indexOf(n); return i >= 0 ? process.argv[i + 1] : undefined; };
  const listen = Number(get('--listen') ?? '29092');
  const upstream = get('--upstream') ?? '127.0.0.1:19092';
  const out = get('--out') ?? 'captured';
  const p = await startCaptureProxy({ listenPort: listen, upstream, outDir: out });
  console.log(`capturing 127.0.0.1:${p.port} → ${upstream} into ${out}`);
  process.on('SIGINT', () => { void p.close().then(() => { console.log(`${p.frames()} frames, ${p.bytes()} bytes`); process.exit(0); }); });
}
