/**
 * In-process pipeline fuzz: hostile request bodies straight into RequestPipeline.handleFrame. Every frame
 * must either produce a well-formed response frame or fail with one of the errors that mean "bad client,
 * close the connection" (ProtocolDecodeError, InvalidRequestError) — anything else (TypeError,
 * RangeError, an encode error) is a bug, even though on a socket it would only close a connection.
 * FUZZ_FRAMES (default 100000) and FUZZ_SEED as in network-fuzz.test.ts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Prng } from '../../src/common/prng.js';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RunnelNode } from '../../src/node/runnel-node.js';
import { RequestPipeline, InvalidRequestError } from '../../src/broker/pipeline.js';
import { HandlerRegistry } from '../../src/broker/handler-registry.js';
import { BUILTIN_HANDLERS } from '../../src/broker/handlers/index.js';
import { resolveConfig } from '../../src/config/config.js';
import { ProtocolDecodeError } from '../../src/protocol/reader.js';
import { fuzzFrame } from './fuzz-frames.js';

const frameCount = Number(process.env.FUZZ_FRAMES ?? 100_000);
const seed = Number(process.env.FUZZ_SEED ?? Math.floor(Math.random() * 2 ** 31));

test(`pipeline fuzz: ${frameCount} hostile frames fail only as bad input (seed ${seed})`, async (t) => {
  const registry = new HandlerRegistry();
  for (const handler of BUILTIN_HANDLERS) registry.register(handler);
  // Real services (metadata, logs, replica manager) over a temp dir; no auto-creation, so hostile topic
  // names are answered, not created.
  const dataDir = await mkdtemp(join(tmpdir(), 'runnel-pipeline-fuzz-'));
  const node = await RunnelNode.start({
    config: resolveConfig({
      overrides: [['log.dirs', dataDir], ['listeners', 'PLAINTEXT://127.0.0.1:0'], ['auto.create.topics.enable', 'false']],
    }).config,
  });
  const broker = node.broker!;
  t.after(async () => {
    await node.close();
    await rm(dataDir, { recursive: true, force: true });
  });
  const pipeline = new RequestPipeline(registry, broker.services);

  const connection = { id: 1, remoteAddress: '127.0.0.1', remotePort: 1, localPort: 9092 };
  const prng = new Prng(seed);
  let answered = 0;
  let rejected = 0;
  for (let i = 0; i < frameCount; i++) {
    const { bytes } = fuzzFrame(prng, i);
    const body = bytes.subarray(4);
    try {
      const chunks = await pipeline.handleFrame(connection, body);
      // Produce with acks=0 answers nothing (and fails, closing the connection, on any error).
      if (chunks === null && body.readInt16BE(0) === 0) { answered++; continue; }
      assert.ok(chunks !== null, 'every served API answers');
      const response = Buffer.concat(chunks);
      assert.equal(response.readInt32BE(0), response.length - 4, `seed ${seed} frame ${i}: size prefix`);
      assert.equal(response.readInt32BE(4), body.readInt32BE(4), `seed ${seed} frame ${i}: correlation id echoed`);
      answered++;
    } catch (error) {
      if (!(error instanceof ProtocolDecodeError || error instanceof InvalidRequestError)) {
        assert.fail(`seed ${seed} frame ${i} (${bytes.toString('hex')}): ${(error as Error).stack}`);
      }
      rejected++;
    }
  }
  t.diagnostic(`${answered} answered, ${rejected} rejected as bad input`);
  assert.equal(answered + rejected, frameCount);
});
