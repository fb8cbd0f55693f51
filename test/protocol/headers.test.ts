import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Reader } from '../../src/protocol/reader.js';
import { Writer } from '../../src/protocol/writer.js';
import {
  decodeRequestHeader, decodeResponseHeader, encodeRequestHeader, encodeResponseHeader, type RequestHeader,
} from '../../src/protocol/headers.js';
import { ApiKey, requestHeaderVersion, responseHeaderVersion } from '../../src/protocol/generated/index.js';

function bytesOf(write: (w: Writer) => void): string {
  const w = new Writer();
  write(w);
  return w.finishBuffer().toString('hex');
}

describe('header versions (ApiMessageType rules)', () => {
  it('uses v2 request / v1 response headers for flexible versions', () => {
    assert.equal(requestHeaderVersion(ApiKey.Produce, 8), 1);
    assert.equal(requestHeaderVersion(ApiKey.Produce, 9), 2);
    assert.equal(responseHeaderVersion(ApiKey.Produce, 8), 0);
    assert.equal(responseHeaderVersion(ApiKey.Produce, 9), 1);
    assert.equal(requestHeaderVersion(ApiKey.Metadata, 9), 2);
  });

  it('keeps ApiVersions responses on header v0 at every version (KIP-511)', () => {
    assert.equal(requestHeaderVersion(ApiKey.ApiVersions, 3), 2);
    for (let v = 0; v <= 4; v++) assert.equal(responseHeaderVersion(ApiKey.ApiVersions, v), 0);
  });

  it('gives ControlledShutdown v0 request header v0 (no client id)', () => {
    assert.equal(requestHeaderVersion(ApiKey.ControlledShutdown, 0), 0);
    assert.equal(requestHeaderVersion(ApiKey.ControlledShutdown, 1), 1);
  });
});

describe('request header codec', () => {
  it('encodes v1 and v2 exactly as Kafka does', () => {
    const h: RequestHeader = { requestApiKey: ApiKey.Metadata, requestApiVersion: 8, correlationId: 1, clientId: 'ab' };
    assert.equal(bytesOf((w) => encodeRequestHeader(w, h)), '0003' + '0008' + '00000001' + '00026162');
    // Flexible header: ClientId stays an int16-length string, then an empty tagged-field section.
    assert.equal(bytesOf((w) => encodeRequestHeader(w, { ...h, requestApiVersion: 12 })), '0003000c00000001' + '00026162' + '00');
  });

  it('round-trips v0, v1 (null client id) and v2 headers', () => {
    const cases: RequestHeader[] = [
      { requestApiKey: ApiKey.ControlledShutdown, requestApiVersion: 0, correlationId: 5, clientId: null },
      { requestApiKey: ApiKey.Produce, requestApiVersion: 7, correlationId: -1, clientId: null },
      { requestApiKey: ApiKey.ApiVersions, requestApiVersion: 3, correlationId: 42, clientId: 'rdkafka' },
    ];
    for (const h of cases) {
      const w = new Writer();
      encodeRequestHeader(w, h);
      const r = new Reader(w.finishBuffer());
      assert.deepEqual(decodeRequestHeader(r), h);
      assert.equal(r.remaining(), 0);
    }
  });

  it('skips unknown tagged fields in a flexible header', () => {
    const frame = Buffer.from('0012000300000009' + '0001' + '78' + '01' + '05' + '02' + 'abcd', 'hex');
    const r = new Reader(frame);
    assert.deepEqual(decodeRequestHeader(r), { requestApiKey: 18, requestApiVersion: 3, correlationId: 9, clientId: 'x' });
    assert.equal(r.remaining(), 0);
  });

  it('still yields key, version and correlation id for an unknown API key', () => {
    const malformed = Buffer.from('7fff0001' + '0000002a' + '7fff', 'hex');
    const h = decodeRequestHeader(new Reader(malformed));
    assert.deepEqual(h, { requestApiKey: 0x7fff, requestApiVersion: 1, correlationId: 42, clientId: null });
    const wellFormed = Buffer.from('03e80000' + '00000007' + '0001' + '7a', 'hex');
    assert.equal(decodeRequestHeader(new Reader(wellFormed)).clientId, 'z');
  });
});

describe('response header codec', () => {
  it('writes tagged fields only for flexible response headers', () => {
    assert.equal(bytesOf((w) => encodeResponseHeader(w, ApiKey.Metadata, 12, 7)), '0000000700');
    assert.equal(bytesOf((w) => encodeResponseHeader(w, ApiKey.Metadata, 8, 7)), '00000007');
    assert.equal(bytesOf((w) => encodeResponseHeader(w, ApiKey.ApiVersions, 3, 7)), '00000007');
  });

  it('round-trips', () => {
    const w = new Writer();
    encodeResponseHeader(w, ApiKey.Fetch, 15, 99);
    const r = new Reader(w.finishBuffer());
    assert.deepEqual(decodeResponseHeader(r, ApiKey.Fetch, 15), { correlationId: 99 });
    assert.equal(r.remaining(), 0);
  });
});
