/** Encodes requests and decodes responses with the generated codecs, over a RawClient. */
import { Reader } from '../../src/protocol/reader.js';
import { Writer } from '../../src/protocol/writer.js';
import { decodeResponseHeader, encodeRequestHeader } from '../../src/protocol/headers.js';
import {
  decodeResponse,
  encodeRequest,
  type RequestTypes,
  type ResponseTypes,
} from '../../src/protocol/generated/index.js';
import { RawClient } from '../network/raw-client.js';

export function requestFrame<K extends keyof RequestTypes>(
  apiKey: K,
  version: number,
  correlationId: number,
  body: RequestTypes[K],
  clientId: string | null = 'runnel-test',
): Buffer {
  const w = new Writer();
  const size = w.reserveInt32();
  encodeRequestHeader(w, { requestApiKey: apiKey, requestApiVersion: version, correlationId, clientId });
  encodeRequest(apiKey, version, w, body);
  w.patchSizePrefix(size);
  return w.finishBuffer();
}

export interface DecodedResponse<K extends keyof ResponseTypes> {
  correlationId: number;
  body: ResponseTypes[K];
  /** Bytes left after the body: must be 0. */
  trailingBytes: number;
}

export function decodeResponseFrame<K extends keyof ResponseTypes>(
  apiKey: K,
  version: number,
  frame: Buffer,
): DecodedResponse<K> {
  const r = new Reader(frame);
  const { correlationId } = decodeResponseHeader(r, apiKey, version);
  const body = decodeResponse(apiKey, version, r);
  return { correlationId, body, trailingBytes: r.remaining() };
}

let nextCorrelationId = 1;

/** Sends one request and decodes the response that follows it. */
export async function call<K extends keyof RequestTypes & keyof ResponseTypes>(
  client: RawClient,
  apiKey: K,
  version: number,
  body: RequestTypes[K],
): Promise<DecodedResponse<K>> {
  const correlationId = nextCorrelationId++;
  const index = client.frames.length;
  client.write(requestFrame(apiKey, version, correlationId, body));
  const frames = await client.waitFrames(index + 1);
  const response = decodeResponseFrame(apiKey, version, frames[index] as Buffer);
  if (response.correlationId !== correlationId) {
    throw new Error(`correlation id ${response.correlationId}, expected ${correlationId}`);
  }
  return response;
}
