/**
 * The API handlers this broker serves, by API key. Registration checks the handler's version range
 * against what the generated codecs support (API_MESSAGE_SPECS), so a handler cannot advertise a
 * version that has no codec.
 */
import { invariant } from '../common/assert.js';
import { API_MESSAGE_SPECS } from '../protocol/generated/index.js';
import type { AnyApiHandler, SupportedApi } from './api-handler.js';

export class HandlerRegistry {
  private readonly handlers = new Map<number, AnyApiHandler>();
  private supported: readonly SupportedApi[] | null = null;

  register(handler: AnyApiHandler): this {
    invariant(this.supported === null, 'HandlerRegistry: register after the API list was read');
    invariant(!this.handlers.has(handler.apiKey), () => `HandlerRegistry: API key ${handler.apiKey} registered twice`);
    const spec = API_MESSAGE_SPECS.find((s) => s.apiKey === handler.apiKey);
    invariant(spec !== undefined, () => `HandlerRegistry: no codec for API key ${handler.apiKey}`);
    invariant(
      handler.minVersion >= spec.minVersion && handler.maxVersion <= spec.maxVersion &&
        handler.minVersion <= handler.maxVersion,
      () => `HandlerRegistry: ${handler.name} versions ${handler.minVersion}-${handler.maxVersion} ` +
        `outside the codec's ${spec.minVersion}-${spec.maxVersion}`,
    );
    this.handlers.set(handler.apiKey, handler);
    return this;
  }

  get(apiKey: number): AnyApiHandler | undefined {
    return this.handlers.get(apiKey);
  }

  /** Registered APIs ordered by key; fixed once read. */
  supportedApis(): readonly SupportedApi[] {
    this.supported ??= Object.freeze(
      [...this.handlers.values()]
        .sort((a, b) => a.apiKey - b.apiKey)
        .map((h) => Object.freeze({ apiKey: h.apiKey, minVersion: h.minVersion, maxVersion: h.maxVersion })),
    );
    return this.supported;
  }
}
