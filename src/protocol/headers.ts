/**
 * Request and response headers (RequestHeader.json v0-2, ResponseHeader.json v0-1). Which header version
 * an API version uses comes from requestHeaderVersion / responseHeaderVersion (Kafka's ApiMessageType).
 * ClientId is always a classic int16-length string, even in flexible header v2, so that any broker can
 * read the header of an ApiVersions request of any version (RequestHeader.json, KIP-511).
 */
import { ProtocolDecodeError, Reader } from './reader.js';
import type { Writer } from './writer.js';
import { apiMessageSpec, requestHeaderVersion, responseHeaderVersion } from './generated/index.js';

export interface RequestHeader {
  requestApiKey: number;
  requestApiVersion: number;
  correlationId: number;
  /** Null in header v0 (ControlledShutdown v0) and when the client sends a null id. */
  clientId: string | null;
}

export interface ResponseHeader {
  correlationId: number;
}

/**
 * Reads key, version and correlation id, then the rest per the header version. For an API key this broker
 * does not know, a malformed remainder does not hide the correlation id: clientId reads as null and the
 * reader stops after the correlation id, so the caller can still answer or close.
 */
export function decodeRequestHeader(r: Reader): RequestHeader {
  const requestApiKey = r.readInt16();
  const requestApiVersion = r.readInt16();
  const correlationId = r.readInt32();
  const headerVersion = requestHeaderVersion(requestApiKey, requestApiVersion);
  if (headerVersion === 0) return { requestApiKey, requestApiVersion, correlationId, clientId: null };
  if (apiMessageSpec(requestApiKey) === undefined) {
    return { requestApiKey, requestApiVersion, correlationId, clientId: clientIdOfUnknownApi(r) };
  }
  const clientId = r.readNullableString();
  if (headerVersion === 2) r.skipTaggedFields();
  return { requestApiKey, requestApiVersion, correlationId, clientId };
}

function clientIdOfUnknownApi(r: Reader): string | null {
  const start = r.offset;
  try {
    return r.readNullableString();
  } catch (e) {
    if (!(e instanceof ProtocolDecodeError)) throw e;
    r.offset = start;
    return null;
  }
}

export function encodeRequestHeader(w: Writer, h: RequestHeader): void {
  const headerVersion = requestHeaderVersion(h.requestApiKey, h.requestApiVersion);
  w.writeInt16(h.requestApiKey);
  w.writeInt16(h.requestApiVersion);
  w.writeInt32(h.correlationId);
  if (headerVersion === 0) return;
  w.writeNullableString(h.clientId);
  if (headerVersion === 2) w.writeUVarint(0);
}

export function encodeResponseHeader(w: Writer, apiKey: number, version: number, correlationId: number): void {
  w.writeInt32(correlationId);
  if (responseHeaderVersion(apiKey, version) === 1) w.writeUVarint(0);
}

export function decodeResponseHeader(r: Reader, apiKey: number, version: number): ResponseHeader {
  const correlationId = r.readInt32();
  if (responseHeaderVersion(apiKey, version) === 1) r.skipTaggedFields();
  return { correlationId };
}
