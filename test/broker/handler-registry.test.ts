import { test } from 'node:test';
import assert from 'node:assert/strict';
import { HandlerRegistry } from '../../src/broker/handler-registry.js';
import { apiVersionsHandler } from '../../src/broker/handlers/18-api-versions.js';
import { metadataHandler } from '../../src/broker/handlers/03-metadata.js';
import { InvariantError } from '../../src/common/assert.js';
import { ApiKey } from '../../src/protocol/generated/index.js';
import type { AnyApiHandler } from '../../src/broker/api-handler.js';

test('the API list is exactly what was registered, by key', () => {
  const registry = new HandlerRegistry().register(metadataHandler).register(apiVersionsHandler);
  assert.deepEqual(registry.supportedApis(), [
    { apiKey: ApiKey.Metadata, minVersion: 0, maxVersion: 13 },
    { apiKey: ApiKey.ApiVersions, minVersion: 0, maxVersion: 5 },
  ]);
  assert.equal(registry.get(ApiKey.Produce), undefined);
});

test('a handler registering versions its codec lacks is refused', () => {
  const tooNew: AnyApiHandler = { ...metadataHandler, maxVersion: 99 };
  assert.throws(() => new HandlerRegistry().register(tooNew), InvariantError);
  const inverted: AnyApiHandler = { ...metadataHandler, minVersion: 5, maxVersion: 4 };
  assert.throws(() => new HandlerRegistry().register(inverted), InvariantError);
  const noCodec: AnyApiHandler = { ...metadataHandler, apiKey: 999 };
  assert.throws(() => new HandlerRegistry().register(noCodec), InvariantError);
});

test('an API key registers once, and not after the list was served', () => {
  const registry = new HandlerRegistry().register(apiVersionsHandler);
  assert.throws(() => registry.register(apiVersionsHandler), InvariantError);
  registry.supportedApis();
  assert.throws(() => registry.register(metadataHandler), InvariantError);
});
