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
import { ManualClock } from '../../src/common/clock.js';
import { RequestPipeline, InvalidRequestError } from '../../src/broker/pipeline.js';
import { HandlerRegistry } from '../../src/broker/handler-registry.js';
import { BUILTIN_HANDLERS } from '../../src/broker/handlers/index.js';
import { SingleNodeMetadataView } from '../../src/broker/metadata-view.js';
import { resolveConfig } from '../../src/config/config.js';
import { ProtocolDecodeError } from '../../src/protocol/reader.js';
import { fuzzFrame } from './fuzz-frames.js';

const frameCount = Number(process.env.FUZZ_FRAMES ?? 100_000);
const seed = Number(process.env.FUZZ_SEED ?? Math.floor(Math.random() * 2 ** 31));

test(`pipeline fuzz: ${frameCount} hostile frames fail only as bad input (seed ${seed})`, async (t) => {
  const registry = new HandlerRegistry();
  for (const handler of BUILTIN_HANDLERS) registry.register(handler);
  const pipeline = new RequestPipeline(registry, {
    nodeId: 1,
    config: resolveConfig({}).config,
    clock: new ManualClock(0),
    metadata: new SingleNodeMetadataView('q1Sh-9_ISia_zwGINzRvyQ', { nodeId: 1, host: '127.0.0.1', port: 9092, rack: null }),
  });
  const connection = { id: 1, remoteAddress: '127.0.0.1', remotePort: 1, localPort: 9092 };
  const prng = new Prng(seed);
  let answered = 0;
  let rejected = 0;
  for (let i = 0; i < frameCount; i++) {
    const { bytes } = fuzzFrame(prng, i);
    const body = bytes.subarray(4);
    try {
      const chunks = await pipeline.handleFrame(connection, body);
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
