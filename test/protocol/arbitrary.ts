/**
 * fast-check arbitraries for any generated message at any version, built from the generated schema
 * descriptors (src/protocol/generated/schema.ts). Fields the version lacks hold their defaults, as a
 * decoder produces them; nullable fields may be null; tagged fields are random like any other.
 */
import fc from 'fast-check';
import type { DefaultSchema, FieldSchema, MessageSchema, TypeSchema, VersionRange } from '../../src/protocol/generated/schema.js';

export type Value = unknown;

const arrayLengthMax = 3;
const stringLengthMax = 12;
const bytesLengthMax = 24;

function within(range: VersionRange | null, version: number): boolean {
  return range !== null && version >= range[0] && version <= range[1];
}

export function defaultOf(schema: MessageSchema, field: FieldSchema): Value {
  const d: DefaultSchema = field.default;
  switch (d.kind) {
    case 'value': return d.value;
    case 'emptyBytes': return Buffer.alloc(0);
    case 'emptyArray': return [];
    case 'struct': {
      if (field.type.kind !== 'struct') throw new Error(`struct default on ${field.name}`);
      return defaultStruct(schema, field.type.name);
    }
  }
}

export function defaultStruct(schema: MessageSchema, name: string): Record<string, Value> {
  const out: Record<string, Value> = {};
  for (const f of structFields(schema, name)) out[f.name] = defaultOf(schema, f);
  return out;
}

function structFields(schema: MessageSchema, name: string): readonly FieldSchema[] {
  const fields = schema.structs[name];
  if (fields === undefined) throw new Error(`${schema.name}: no struct ${name}`);
  return fields;
}

const uuidArb = fc.uint8Array({ minLength: 16, maxLength: 16 }).map((b) => {
  const h = Buffer.from(b).toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
});

const bufferArb = fc.uint8Array({ maxLength: bytesLengthMax }).map((b) => Buffer.from(b));

function primitiveArb(name: string): fc.Arbitrary<Value> {
  switch (name) {
    case 'bool': return fc.boolean();
    case 'int8': return fc.integer({ min: -0x80, max: 0x7f });
    case 'int16': return fc.integer({ min: -0x8000, max: 0x7fff });
    case 'uint16': return fc.integer({ min: 0, max: 0xffff });
    case 'int32': return fc.integer({ min: -0x80000000, max: 0x7fffffff });
    case 'int64': return fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n });
    case 'float64': return fc.double();
    case 'string': return fc.string({ unit: 'binary', maxLength: stringLengthMax });
    case 'bytes': case 'records': return bufferArb;
    case 'uuid': return uuidArb;
    default: throw new Error(`unknown primitive ${name}`);
  }
}

function typeArb(schema: MessageSchema, t: TypeSchema, version: number, depth: number): fc.Arbitrary<Value> {
  if (t.kind === 'primitive') return primitiveArb(t.name);
  if (t.kind === 'struct') return structArb(schema, t.name, version, depth + 1);
  return fc.array(typeArb(schema, t.element, version, depth), { maxLength: depth > 3 ? 1 : arrayLengthMax });
}

function fieldArb(schema: MessageSchema, f: FieldSchema, version: number, depth: number): fc.Arbitrary<Value> {
  if (!within(f.versions, version)) return fc.constant(null).map(() => defaultOf(schema, f));
  const value = typeArb(schema, f.type, version, depth);
  return within(f.nullableVersions, version) ? fc.option(value, { nil: null, freq: 4 }) : value;
}

export function structArb(schema: MessageSchema, name: string, version: number, depth = 0): fc.Arbitrary<Record<string, Value>> {
  const record: Record<string, fc.Arbitrary<Value>> = {};
  for (const f of structFields(schema, name)) record[f.name] = fieldArb(schema, f, version, depth);
  // fc.record builds null-prototype objects; decoders return plain ones.
  return fc.record(record).map((o) => ({ ...o }));
}

/** An arbitrary top-level message of `schema` at `version`. */
export function messageArb(schema: MessageSchema, version: number): fc.Arbitrary<Record<string, Value>> {
  return structArb(schema, schema.name, version);
}
