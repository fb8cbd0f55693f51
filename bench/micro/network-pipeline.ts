/**
 * Network + pipeline micro-benchmark: `npm run bench:network`.
 * An in-process broker on a loopback port; C connections each keep W requests in flight (pipelined)
 * for a fixed time. Reports requests/s for ApiVersions v3 and Metadata v12 (one broker, no topics),
 * i.e. the cost of framing, header decode, dispatch, encode and corked in-order writes.
 * Client and broker share one process and event loop, so the figure is a lower bound for the broker.
 * Prints the machine (STYLE.md 15). No assertion on timing.
 */
import { connect, type Socket } from 'node:net';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { cpus, platform, release, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { startBroker } from '../../src/index.js';
import { FrameDecoder } from '../../src/network/frame-decoder.js';
import { Writer } from '../../src/protocol/writer.js';
import { encodeRequestHeader } from '../../src/protocol/headers.js';
import { ApiKey, encodeRequest } from '../../src/protocol/generated/index.js';

const measureMs = 2000;
const warmupMs = 300;

function frame(apiKey: 3 | 18, version: number): Buffer {
  const w = new Writer();
  const size = w.reserveInt32();
  encodeRequestHeader(w, { requestApiKey: apiKey, requestApiVersion: version, correlationId: 1, clientId: 'bench' });
  if (apiKey === ApiKey.ApiVersions) {
    encodeRequest(ApiKey.ApiVersions, version, w, { clientSoftwareName: 'bench', clientSoftwareVersion: '1', clusterId: null, nodeId: -1 });
  } else {
    encodeRequest(ApiKey.Metadata, version, w, {
      topics: null, allowAutoTopicCreation: true, includeClusterAuthorizedOperations: false, includeTopicAuthorizedOperations: false,
    });
  }
  w.patchSizePrefix(size);
  return w.finishBuffer();
}

/** Keeps `window` requests in flight on one socket until `deadline`; returns responses received. */
async function drive(port: number, request: Buffer, window: number, deadline: () => boolean): Promise<number> {
  const socket: Socket = connect({ port, host: '127.0.0.1', noDelay: true });
  await once(socket, 'connect');
  const decoder = new FrameDecoder(1 << 20);
  let received = 0;
  let outstanding = 0;
  const done = new Promise<void>((resolve) => {
    const refill = (): void => {
      if (deadline()) {
        if (outstanding === 0) resolve();
        return;
      }
      const batch: Buffer[] = [];
      while (outstanding < window) {
        batch.push(request);
        outstanding++;
      }
      if (batch.length > 0) socket.write(Buffer.concat(batch));
    };
    socket.on('data', (chunk: Buffer) => {
      decoder.push(chunk);
      for (let f = decoder.next(); f !== null; f = decoder.next()) {
        received++;
        outstanding--;
      }
      refill();
    });
    refill();
  });
  await done;
  socket.destroy();
  return received;
}

async function measure(port: number, name: string, request: Buffer, connections: number, window: number): Promise<void> {
  const run = async (ms: number): Promise<number> => {
    const end = performance.now() + ms;
    const counts = await Promise.all(
      Array.from({ length: connections }, () => drive(port, request, window, () => performance.now() >= end)),
    );
    return counts.reduce((a, b) => a + b, 0);
  };
  await run(warmupMs);
  const started = performance.now();
  const responses = await run(measureMs);
  const seconds = (performance.now() - started) / 1000;
  const perSecond = Math.round(responses / seconds);
  console.log(`${name.padEnd(18)} connections=${connections} window=${String(window).padEnd(3)} ${perSecond} req/s`);
}

async function main(): Promise<void> {
  console.log(`node ${process.version} ${platform()} ${release()} ${cpus()[0]?.model ?? ''} ×${cpus().length}`);
  const dataDir = await mkdtemp(join(tmpdir(), 'runnel-bench-'));
  const broker = await startBroker({ dataDir, port: 0 });
  try {
    for (const [name, request] of [['ApiVersions v3', frame(18, 3)], ['Metadata v12', frame(3, 12)]] as const) {
      await measure(broker.port, name, request, 1, 1);
      await measure(broker.port, name, request, 1, 64);
      await measure(broker.port, name, request, 8, 16);
    }
  } finally {
    await broker.close();
    await rm(dataDir, { recursive: true, force: true });
  }
}

await main();
