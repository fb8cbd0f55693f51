/**
 * Shared failure paths for the generated codecs (src/protocol/generated). Kept out of line so the
 * generated straight-line code stays short; every decode failure is a ProtocolDecodeError, every encode
 * failure (a programming bug: Kafka's generator throws UnsupportedVersionException / NullPointerException
 * for the same cases) is a ProtocolEncodeError.
 */
import { ProtocolDecodeError } from './reader.js';
import { ProtocolEncodeError } from './writer.js';

export const ZERO_UUID = '00000000-0000-0000-0000-000000000000';

export function unsupportedDecodeVersion(name: string, version: number): never {
  throw new ProtocolDecodeError(`${name} version ${version} is not supported`);
}

export function unsupportedEncodeVersion(name: string, version: number): never {
  throw new ProtocolEncodeError(`${name} version ${version} is not supported`);
}

/** A non-ignorable field carries a non-default value in a version that has no room for it. */
export function absentField(field: string, version: number): never {
  throw new ProtocolEncodeError(`${field} has a non-default value but does not exist in version ${version}`);
}

/** The wire said null (length or count -1) where the spec does not allow it in this version. */
export function nullOnWire(field: string): never {
  throw new ProtocolDecodeError(`non-nullable field ${field} was serialized as null`);
}

/** The message holds null where the spec does not allow it in this version. */
export function nullValue(field: string): never {
  throw new ProtocolEncodeError(`non-nullable field ${field} is null`);
}
