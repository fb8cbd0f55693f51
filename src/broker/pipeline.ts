/**
 * The request pipeline: one frame in, one response frame (or none) out. Sits between the network layer
 * (which knows only framing) and the API handlers.
 *
 * - The first 8 bytes of every request header version are api key, api version and correlation id
 *   (https://kafka.apache.org/protocol#protocol_messages); they are read before anything else so the
 *   correlation id can be echoed even when the rest of the request is not decoded.
 * - Unknown API key: the connection is closed, as Kafka's RequestContext does (InvalidRequestException).
 * - ApiVersions at a version this broker does not serve (KIP-511): the body is NOT decoded, since a newer
 *   client's request may be laid out differently; the answer is a v0 ApiVersions response (header v0)
 *   with UNSUPPORTED_VERSION and the full API list, from which the client picks a version and retries.
 * - Any other API at a version outside its handler's range: the connection is closed, as Kafka does
 *   (clients only send versions ApiVersions advertised, so this is a broken or hostile client).
 * - A header or body that fails to decode: ProtocolDecodeError, the connection is closed.
 *
 * Response frames are: size prefix, response header (version from responseHeaderVersion), body.
 */
import { Reader } from '../protocol/reader.js';
import { Writer } from '../protocol/writer.js';
import { decodeRequestHeader, encodeResponseHeader } from '../protocol/headers.js';
import { ApiKey } from '../protocol/generated/index.js';
import { encodeApiVersionsResponse } from '../protocol/generated/api-versions.js';
import { ErrorCode } from '../protocol/errors.js';
import type { ConnectionInfo, FrameHandler, ResponseMemory } from '../network/connection.js';
import type { AnyApiHandler, BrokerServices, RequestContext } from './api-handler.js';
import type { HandlerRegistry } from './handler-registry.js';
import { apiVersionsResponse } from './handlers/18-api-versions.js';

/** api key (int16) + api version (int16) + correlation id (int32): common to all header versions. */
const headerFixedBytes = 8;

/** For callers without a network connection (tests driving the pipeline directly): no bound. */
const UNBOUNDED_RESPONSE_MEMORY: ResponseMemory = Object.freeze({
  reserve: (wantBytes: number) => Promise.resolve(Math.max(0, wantBytes)),
  shrinkTo: () => {},
});

/** The request cannot be served on this connection; the network layer closes it. */
export class InvalidRequestError extends Error {
  override name = 'InvalidRequestError';
}

export class RequestPipeline {
  constructor(
    private readonly registry: HandlerRegistry,
    private readonly services: BrokerServices,
  ) {}

  /** The network layer's frame handler. */
  readonly handleFrame: FrameHandler = (connection, frame, memory) => this.handle(connection, frame, memory);

  private handle(
    connection: ConnectionInfo, frame: Buffer, memory: ResponseMemory | undefined,
  ): Promise<Buffer[] | null> | Buffer[] | null {
    if (frame.length < headerFixedBytes) {
      throw new InvalidRequestError(`request of ${frame.length} bytes is shorter than a request header`);
    }
    const apiKey = frame.readInt16BE(0);
    const apiVersion = frame.readInt16BE(2);
    const handler = this.registry.get(apiKey);
    if (handler === undefined) throw new InvalidRequestError(`unknown API key ${apiKey}`);
    if (apiVersion < handler.minVersion || apiVersion > handler.maxVersion) {
      if (apiKey === ApiKey.ApiVersions) return this.unsupportedApiVersions(frame.readInt32BE(4));
      throw new InvalidRequestError(`${handler.name} version ${apiVersion} is not supported`);
    }
    const startedMs = performance.now();
    try {
      const reader = new Reader(frame);
      const header = decodeRequestHeader(reader);
      const context: RequestContext<unknown> = {
        header,
        apiVersion,
        request: handler.decode(reader, apiVersion),
        connection,
        responseMemory: memory ?? UNBOUNDED_RESPONSE_MEMORY,
        services: this.services,
        supportedApis: this.registry.supportedApis(),
      };
      const response = handler.handle(context);
      if (response instanceof Promise) {
        return response.then(
          (body) => this.answered(handler, apiVersion, header.correlationId, body, startedMs),
          (err: unknown) => this.failed(handler, startedMs, err),
        );
      }
      return this.answered(handler, apiVersion, header.correlationId, response, startedMs);
    } catch (err) {
      return this.failed(handler, startedMs, err);
    }
  }

  /** Counts the request (RequestsPerSec, TotalTimeMs, the error codes in its body) and encodes it. */
  private answered(handler: AnyApiHandler, apiVersion: number, correlationId: number, body: unknown, startedMs: number): Buffer[] | null {
    this.services.metrics.requestDone(handler.apiKey, handler.name, performance.now() - startedMs, body);
    return this.encode(handler, apiVersion, correlationId, body);
  }

  /** A request that closes its connection instead of an answer still counts as a request. */
  private failed(handler: AnyApiHandler, startedMs: number, err: unknown): never {
    this.services.metrics.requestFailed(handler.apiKey, handler.name, performance.now() - startedMs);
    throw err;
  }

  private encode(handler: AnyApiHandler, apiVersion: number, correlationId: number, body: unknown): Buffer[] | null {
    if (body === null) return null;
    const writer = new Writer();
    const size = writer.reserveInt32();
    encodeResponseHeader(writer, handler.apiKey, apiVersion, correlationId);
    handler.encode(writer, apiVersion, body);
    writer.patchSizePrefix(size);
    return writer.finish();
  }

  /** KIP-511: v0 response, header v0, UNSUPPORTED_VERSION plus every supported API. */
  private unsupportedApiVersions(correlationId: number): Buffer[] {
    const writer = new Writer();
    const size = writer.reserveInt32();
    encodeResponseHeader(writer, ApiKey.ApiVersions, 0, correlationId);
    encodeApiVersionsResponse(writer, 0, apiVersionsResponse(ErrorCode.UNSUPPORTED_VERSION, this.registry.supportedApis()));
    writer.patchSizePrefix(size);
    return writer.finish();
  }
}
