// decode(encode(x)) deep-equals x, consuming every byte, for every message × version (requests, responses
// and the embedded data messages), with x drawn from the generated schema descriptors.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Reader } from '../../src/protocol/reader.js';
import { Writer } from '../../src/protocol/writer.js';
import * as generated from '../../src/protocol/generated/index.js';
import { MESSAGE_SCHEMAS, type MessageSchema } from '../../src/protocol/generated/schema.js';
import { messageArb } from './arbitrary.js';

type Encode = (w: Writer, version: number, m: unknown) => void;
type Decode = (r: Reader, version: number) => unknown;

const runsPerVersion = 20;
const codecs = generated as unknown as Record<string, Encode | Decode | undefined>;

export function codecOf(name: string): { encode: Encode; decode: Decode } {
  const encode = codecs[`encode${name}`] as Encode | undefined;
  const decode = codecs[`decode${name}`] as Decode | undefined;
  assert.ok(encode && decode, `generated index exports encode${name} and decode${name}`);
  return { encode, decode };
}

function roundTrip(schema: MessageSchema, version: number): void {
  const { encode, decode } = codecOf(schema.name);
  fc.assert(
    fc.property(messageArb(schema, version), (m) => {
      const w = new Writer();
      encode(w, version, m);
      const frame = w.finishBuffer();
      assert.equal(frame.length, w.byteLength);
      const r = new Reader(frame);
      assert.deepStrictEqual(decode(r, version), m);
      assert.equal(r.remaining(), 0, 'decoder consumed every byte');
    }),
    { numRuns: runsPerVersion },
  );
}

for (const schema of MESSAGE_SCHEMAS) {
  describe(`${schema.name} round trip`, () => {
    for (let version = schema.minVersion; version <= schema.maxVersion; version++) {
      it(`v${version}`, () => roundTrip(schema, version));
    }
  });
}

describe('round-trip coverage', () => {
  it('covers a request and a response for every API key', () => {
    for (const spec of generated.API_MESSAGE_SPECS) {
      for (const type of ['request', 'response']) {
        const schema = MESSAGE_SCHEMAS.find((s) => s.apiKey === spec.apiKey && s.type === type);
        assert.ok(schema, `${spec.name} ${type} has a schema`);
        assert.equal(schema.minVersion, spec.minVersion);
        assert.equal(schema.maxVersion, spec.maxVersion);
      }
    }
  });
});
