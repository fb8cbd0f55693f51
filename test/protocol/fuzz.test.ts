// DESIGN.md §7: bad input never crashes a node. Every decoder, fed random bytes, truncated frames or
// mutated frames, returns a value or throws ProtocolDecodeError — never a RangeError, TypeError or hang.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ProtocolDecodeError, Reader } from '../../src/protocol/reader.js';
import { Writer } from '../../src/protocol/writer.js';
import { MESSAGE_SCHEMAS, type MessageSchema } from '../../src/protocol/generated/schema.js';
import * as generated from '../../src/protocol/generated/index.js';
import { decodeRequestHeader } from '../../src/protocol/headers.js';
import { messageArb } from './arbitrary.js';

type Decode = (r: Reader, version: number) => unknown;
type Encode = (w: Writer, version: number, m: unknown) => void;
const codecs = generated as unknown as Record<string, Decode | Encode>;

const randomRuns = 25;
const mutationRuns = 10;

function decodesOrRejects(decode: () => unknown): void {
  try {
    decode();
  } catch (e) {
    if (!(e instanceof ProtocolDecodeError)) throw e;
  }
}

function versions(schema: MessageSchema): number[] {
  const out: number[] = [];
  for (let v = schema.minVersion; v <= schema.maxVersion; v++) out.push(v);
  return out;
}

function sampleFrame(schema: MessageSchema, version: number, seed: number): Buffer {
  const [m] = fc.sample(messageArb(schema, version), { numRuns: 1, seed });
  const w = new Writer();
  (codecs[`encode${schema.name}`] as Encode)(w, version, m);
  return w.finishBuffer();
}

const apiSchemas = MESSAGE_SCHEMAS.filter((s) => s.type === 'request' || s.type === 'response');

describe('decoders on hostile input', () => {
  for (const schema of apiSchemas) {
    const decode = codecs[`decode${schema.name}`] as Decode;

    it(`${schema.name}: random bytes`, () => {
      fc.assert(
        fc.property(fc.constantFrom(...versions(schema)), fc.uint8Array({ maxLength: 96 }), (version, bytes) => {
          decodesOrRejects(() => decode(new Reader(Buffer.from(bytes)), version));
        }),
        { numRuns: randomRuns * versions(schema).length },
      );
    });

    it(`${schema.name}: every strict prefix of a valid frame is rejected`, () => {
      for (const version of versions(schema)) {
        const frame = sampleFrame(schema, version, version + 1);
        for (let cut = 0; cut < frame.length; cut++) {
          assert.throws(() => decode(new Reader(frame, 0, cut), version), ProtocolDecodeError, `v${version} cut at ${cut}`);
        }
      }
    });

    it(`${schema.name}: mutated valid frames`, () => {
      for (const version of versions(schema)) {
        const frame = sampleFrame(schema, version, version + 7);
        if (frame.length === 0) continue;
        fc.assert(
          fc.property(fc.array(fc.tuple(fc.nat(frame.length - 1), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 4 }), (edits) => {
            const mutated = Buffer.from(frame);
            for (const [at, byte] of edits) mutated[at] = byte;
            decodesOrRejects(() => decode(new Reader(mutated), version));
          }),
          { numRuns: mutationRuns },
        );
      }
    });
  }

  it('request headers: random bytes yield a header or ProtocolDecodeError', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 40 }), (bytes) => {
        decodesOrRejects(() => decodeRequestHeader(new Reader(Buffer.from(bytes))));
      }),
      { numRuns: 500 },
    );
  });

  it('generic dispatch rejects unknown API keys with ProtocolDecodeError', () => {
    assert.throws(() => generated.decodeRequest(32000, 0, new Reader(Buffer.alloc(8))), ProtocolDecodeError);
    assert.throws(() => generated.decodeProduceRequest(new Reader(Buffer.alloc(64)), 99), ProtocolDecodeError);
  });
});
