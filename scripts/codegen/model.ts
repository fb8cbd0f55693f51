/**
 * Parse and validate Kafka message specs (clients/src/main/resources/common/message/*.json in
 * apache/kafka): JSON with // comments. The checks mirror what Kafka's own generator enforces
 * (generator/src/main/java/org/apache/kafka/message/{MessageSpec,FieldSpec,StructRegistry}.java), so a
 * spec that Kafka would reject never reaches the emitter.
 */

/** Inclusive version interval; `hi` is Infinity for "N+"; an empty range (lo > hi) is "none". */
export interface Versions {
  readonly lo: number;
  readonly hi: number;
}

export const noVersions: Versions = { lo: 1, hi: 0 };

export type PrimitiveName =
  | 'bool' | 'int8' | 'int16' | 'uint16' | 'int32' | 'int64' | 'float64'
  | 'string' | 'bytes' | 'records' | 'uuid';

const primitiveNames: ReadonlySet<string> = new Set([
  'bool', 'int8', 'int16', 'uint16', 'int32', 'int64', 'float64', 'string', 'bytes', 'records', 'uuid',
]);

export type FieldType =
  | { readonly kind: 'primitive'; readonly name: PrimitiveName }
  | { readonly kind: 'struct'; readonly name: string }
  | { readonly kind: 'array'; readonly element: FieldType };

export interface Field {
  readonly name: string;
  readonly type: FieldType;
  readonly versions: Versions;
  readonly nullableVersions: Versions;
  readonly taggedVersions: Versions;
  readonly tag: number | null;
  readonly ignorable: boolean;
  /** The spec's "default" as written (string form), or null when absent. */
  readonly defaultRaw: string | null;
  /** Field-level override of the message's flexibleVersions (RequestHeader.ClientId uses "none"). */
  readonly flexibleVersions: Versions | null;
  readonly zeroCopy: boolean;
}

export interface Struct {
  readonly name: string;
  readonly fields: readonly Field[];
}

export interface Message {
  readonly file: string;
  readonly name: string;
  readonly type: 'request' | 'response' | 'header' | 'data';
  readonly apiKey: number | null;
  readonly validVersions: Versions;
  readonly flexibleVersions: Versions;
  readonly latestVersionUnstable: boolean;
  /** Which listeners serve the API ("broker", "controller", …). */
  readonly listeners: readonly string[];
  /** The message itself is the first struct; then every nested and common struct, by name. */
  readonly structs: ReadonlyMap<string, Struct>;
}

export class SpecError extends Error {
  override name = 'SpecError';
}

/** Removes // comments outside of string literals. */
export function stripComments(text: string): string {
  let out = '';
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (inString) {
      out += c;
      if (c === '\\') out += text[++i] ?? '';
      else if (c === '"') inString = false;
    } else if (c === '"') {
      inString = true;
      out += c;
    } else if (c === '/' && text[i + 1] === '/') {
      while (i < text.length && text[i] !== '\n') i++;
      out += '\n';
    } else {
      out += c;
    }
  }
  return out;
}

export function parseVersions(raw: unknown, where: string): Versions {
  if (typeof raw !== 'string') throw new SpecError(`${where}: versions must be a string, got ${JSON.stringify(raw)}`);
  const s = raw.trim();
  if (s === 'none') return noVersions;
  let m = /^(\d+)\+$/.exec(s);
  if (m) return { lo: Number(m[1]), hi: Infinity };
  m = /^(\d+)-(\d+)$/.exec(s);
  if (m) {
    const lo = Number(m[1]);
    const hi = Number(m[2]);
    if (lo > hi) throw new SpecError(`${where}: empty version range ${s}`);
    return { lo, hi };
  }
  m = /^(\d+)$/.exec(s);
  if (m) return { lo: Number(m[1]), hi: Number(m[1]) };
  throw new SpecError(`${where}: bad version range ${JSON.stringify(raw)}`);
}

export function isEmpty(v: Versions): boolean {
  return v.lo > v.hi;
}

export function contains(v: Versions, version: number): boolean {
  return version >= v.lo && version <= v.hi;
}

export function intersect(a: Versions, b: Versions): Versions {
  const lo = Math.max(a.lo, b.lo);
  const hi = Math.min(a.hi, b.hi);
  return lo > hi ? noVersions : { lo, hi };
}

/** Whether every version of `inner` is in `outer`. */
export function isSubset(inner: Versions, outer: Versions): boolean {
  return isEmpty(inner) || (inner.lo >= outer.lo && inner.hi <= outer.hi);
}

export function formatVersions(v: Versions): string {
  if (isEmpty(v)) return 'none';
  if (v.hi === Infinity) return `${v.lo}+`;
  return v.lo === v.hi ? `${v.lo}` : `${v.lo}-${v.hi}`;
}

function parseType(raw: unknown, where: string): FieldType {
  if (typeof raw !== 'string' || raw.length === 0) throw new SpecError(`${where}: missing type`);
  if (raw.startsWith('[]')) return { kind: 'array', element: parseType(raw.slice(2), where) };
  if (primitiveNames.has(raw)) return { kind: 'primitive', name: raw as PrimitiveName };
  if (!/^[A-Z][A-Za-z0-9]*$/.test(raw)) throw new SpecError(`${where}: unknown type ${raw}`);
  return { kind: 'struct', name: raw };
}

/** The struct a field's type names, looking through one array level. */
export function structOf(type: FieldType): string | null {
  if (type.kind === 'struct') return type.name;
  if (type.kind === 'array' && type.element.kind === 'struct') return type.element.name;
  return null;
}

type Json = Record<string, unknown>;

function asObject(raw: unknown, where: string): Json {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new SpecError(`${where}: expected an object`);
  return raw as Json;
}

function asFieldList(raw: unknown, where: string): Json[] {
  if (raw === undefined) return [];
  if (!Array.isArray(raw)) throw new SpecError(`${where}: fields must be an array`);
  return raw.map((f, i) => asObject(f, `${where}[${i}]`));
}

function parseTag(raw: unknown, where: string): number | null {
  if (raw === undefined) return null;
  const n = typeof raw === 'string' ? Number(raw) : raw;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 0 || n > 0x7fffffff) {
    throw new SpecError(`${where}: bad tag ${JSON.stringify(raw)}`);
  }
  return n;
}

function parseDefault(raw: unknown, where: string): string | null {
  if (raw === undefined) return null;
  if (typeof raw === 'string') return raw;
  if (typeof raw === 'number' || typeof raw === 'boolean') return String(raw);
  throw new SpecError(`${where}: bad default ${JSON.stringify(raw)}`);
}

interface Collector {
  readonly structs: Map<string, Struct>;
  readonly messageName: string;
}

function parseField(raw: Json, where: string, collector: Collector): Field {
  const name = raw.name;
  if (typeof name !== 'string' || !/^[A-Za-z][A-Za-z0-9]*$/.test(name)) throw new SpecError(`${where}: bad field name ${JSON.stringify(name)}`);
  const here = `${where}.${name}`;
  const type = parseType(raw.type, here);
  const versions = parseVersions(raw.versions, `${here}.versions`);
  const field: Field = {
    name,
    type,
    versions,
    nullableVersions: raw.nullableVersions === undefined ? noVersions : parseVersions(raw.nullableVersions, `${here}.nullableVersions`),
    taggedVersions: raw.taggedVersions === undefined ? noVersions : parseVersions(raw.taggedVersions, `${here}.taggedVersions`),
    tag: parseTag(raw.tag, here),
    ignorable: raw.ignorable === true,
    defaultRaw: parseDefault(raw.default, here),
    flexibleVersions: raw.flexibleVersions === undefined ? null : parseVersions(raw.flexibleVersions, `${here}.flexibleVersions`),
    zeroCopy: raw.zeroCopy === true,
  };
  if (raw.fields !== undefined) {
    const structName = structOf(type);
    if (structName === null) throw new SpecError(`${here}: has fields but type ${String(raw.type)} is not a struct`);
    addStruct(collector, structName, asFieldList(raw.fields, here), here);
  }
  return field;
}

function addStruct(collector: Collector, name: string, rawFields: Json[], where: string): void {
  if (collector.structs.has(name)) throw new SpecError(`${where}: struct ${name} is defined more than once in ${collector.messageName}`);
  const placeholder: Struct = { name, fields: [] };
  collector.structs.set(name, placeholder);
  const fields = rawFields.map((f, i) => parseField(f, `${where}[${i}]`, collector));
  collector.structs.set(name, { name, fields });
}

export function parseMessage(file: string, text: string): Message {
  let raw: Json;
  try {
    raw = asObject(JSON.parse(stripComments(text)), file);
  } catch (e) {
    if (e instanceof SpecError) throw e;
    throw new SpecError(`${file}: ${(e as Error).message}`);
  }
  const name = raw.name;
  if (typeof name !== 'string' || !/^[A-Z][A-Za-z0-9]*$/.test(name)) throw new SpecError(`${file}: bad name`);
  const type = raw.type;
  if (type !== 'request' && type !== 'response' && type !== 'header' && type !== 'data') {
    throw new SpecError(`${file}: unknown message type ${JSON.stringify(type)}`);
  }
  const collector: Collector = { structs: new Map(), messageName: name };
  addStruct(collector, name, asFieldList(raw.fields, file), name);
  const common = raw.commonStructs === undefined ? [] : raw.commonStructs;
  if (!Array.isArray(common)) throw new SpecError(`${file}: commonStructs must be an array`);
  for (const [i, c] of common.entries()) {
    const cs = asObject(c, `${file}.commonStructs[${i}]`);
    if (typeof cs.name !== 'string') throw new SpecError(`${file}.commonStructs[${i}]: missing name`);
    addStruct(collector, cs.name, asFieldList(cs.fields, `${name}.${cs.name}`), `${name}.${cs.name}`);
  }
  const apiKey = raw.apiKey;
  if ((type === 'request' || type === 'response') && (typeof apiKey !== 'number' || !Number.isInteger(apiKey) || apiKey < 0 || apiKey > 0x7fff)) {
    throw new SpecError(`${file}: bad apiKey`);
  }
  return {
    file,
    name,
    type,
    apiKey: typeof apiKey === 'number' ? apiKey : null,
    validVersions: parseVersions(raw.validVersions, `${file}.validVersions`),
    flexibleVersions: raw.flexibleVersions === undefined ? noVersions : parseVersions(raw.flexibleVersions, `${file}.flexibleVersions`),
    latestVersionUnstable: raw.latestVersionUnstable === true,
    listeners: Array.isArray(raw.listeners) ? raw.listeners.filter((l): l is string => typeof l === 'string') : [],
    structs: collector.structs,
  };
}

const nullableKinds = new Set(['string', 'bytes', 'records']);

function canBeNull(type: FieldType): boolean {
  return type.kind !== 'primitive' || nullableKinds.has(type.name);
}

/** Throws SpecError on the first rule Kafka's generator would also refuse. */
export function validateMessage(m: Message): void {
  const where = m.file;
  // "none" is how Kafka 4 keeps the spec of an API it removed (LeaderAndIsr, StopReplica, …).
  if (m.validVersions.hi === Infinity) throw new SpecError(`${where}: validVersions must be a closed range`);
  if (!isEmpty(m.flexibleVersions) && m.flexibleVersions.hi !== Infinity) {
    throw new SpecError(`${where}: flexibleVersions must be open-ended (N+) or none`);
  }
  for (const struct of m.structs.values()) validateStruct(m, struct);
}

function validateStruct(m: Message, struct: Struct): void {
  const names = new Set<string>();
  const tags = new Set<number>();
  for (const f of struct.fields) {
    const here = `${m.file}: ${struct.name}.${f.name}`;
    if (names.has(f.name)) throw new SpecError(`${here}: duplicate field name`);
    names.add(f.name);
    validateType(m, f.type, here);
    if (!isEmpty(f.nullableVersions)) {
      if (!canBeNull(f.type)) throw new SpecError(`${here}: type cannot be nullable`);
      // Kafka's own specs state nullableVersions wider than versions (CreateTopicsResponse ErrorMessage:
      // versions 1+, nullableVersions 0+), so only the overlap counts; a field that is never nullable where
      // it exists is an error.
      if (isEmpty(intersect(f.nullableVersions, f.versions))) throw new SpecError(`${here}: nullableVersions outside versions`);
    }
    validateTag(m, f, here, tags);
    if (f.flexibleVersions !== null && f.type.kind !== 'primitive') {
      throw new SpecError(`${here}: only strings and bytes may override flexibleVersions`);
    }
    if (f.zeroCopy && !(f.type.kind === 'primitive' && f.type.name === 'bytes')) throw new SpecError(`${here}: zeroCopy applies to bytes only`);
    defaultValue(f, here);
  }
}

function validateTag(m: Message, f: Field, here: string, tags: Set<number>): void {
  if (f.tag === null) {
    if (!isEmpty(f.taggedVersions)) throw new SpecError(`${here}: taggedVersions without a tag`);
    return;
  }
  if (isEmpty(f.taggedVersions)) throw new SpecError(`${here}: tag without taggedVersions`);
  if (tags.has(f.tag)) throw new SpecError(`${here}: duplicate tag ${f.tag}`);
  tags.add(f.tag);
  if (!isSubset(f.taggedVersions, f.versions)) throw new SpecError(`${here}: taggedVersions not within versions`);
  if (!isSubset(intersect(f.taggedVersions, m.validVersions), m.flexibleVersions)) {
    throw new SpecError(`${here}: taggedVersions not within flexibleVersions`);
  }
  if (f.taggedVersions.hi !== Infinity) throw new SpecError(`${here}: taggedVersions must be open-ended`);
}

function validateType(m: Message, type: FieldType, here: string): void {
  if (type.kind === 'array') {
    if (type.element.kind === 'array') throw new SpecError(`${here}: arrays of arrays are not supported`);
    if (type.element.kind === 'primitive' && type.element.name === 'records') throw new SpecError(`${here}: arrays of records`);
    validateType(m, type.element, here);
  } else if (type.kind === 'struct' && !m.structs.has(type.name)) {
    throw new SpecError(`${here}: unknown struct ${type.name}`);
  }
}

/** A field's default as a typed value description the emitter turns into code. */
export type DefaultValue =
  | { readonly kind: 'null' }
  | { readonly kind: 'number'; readonly value: number }
  | { readonly kind: 'bigint'; readonly value: bigint }
  | { readonly kind: 'bool'; readonly value: boolean }
  | { readonly kind: 'string'; readonly value: string }
  | { readonly kind: 'uuid'; readonly value: string }
  | { readonly kind: 'emptyBytes' }
  | { readonly kind: 'emptyArray' }
  | { readonly kind: 'struct'; readonly name: string };

const intBounds: Record<string, [number, number]> = {
  int8: [-0x80, 0x7f],
  int16: [-0x8000, 0x7fff],
  uint16: [0, 0xffff],
  int32: [-0x80000000, 0x7fffffff],
};

function parseInteger(raw: string, here: string): bigint {
  const s = raw.trim();
  const negative = s.startsWith('-');
  const body = negative ? s.slice(1) : s;
  if (!/^(0x[0-9a-fA-F]+|\d+)$/.test(body)) throw new SpecError(`${here}: bad integer default ${raw}`);
  const value = BigInt(body);
  return negative ? -value : value;
}

/** Kafka FieldSpec's default rules: "null" only where nullable, hex or decimal integers, true/false. */
export function defaultValue(f: Field, here = f.name): DefaultValue {
  const raw = f.defaultRaw;
  const nullable = !isEmpty(f.nullableVersions);
  if (raw === 'null' && f.type.kind !== 'primitive') {
    if (!nullable) throw new SpecError(`${here}: default null on a non-nullable field`);
    return { kind: 'null' };
  }
  if (f.type.kind === 'array') {
    if (raw !== null && raw !== '') throw new SpecError(`${here}: arrays default to empty or null`);
    return { kind: 'emptyArray' };
  }
  if (f.type.kind === 'struct') {
    if (raw !== null && raw !== '') throw new SpecError(`${here}: structs default to their defaults or null`);
    return { kind: 'struct', name: f.type.name };
  }
  return primitiveDefault(f.type.name, raw, nullable, here);
}

function primitiveDefault(name: PrimitiveName, raw: string | null, nullable: boolean, here: string): DefaultValue {
  switch (name) {
    case 'bool':
      if (raw === null || raw === 'false') return { kind: 'bool', value: false };
      if (raw === 'true') return { kind: 'bool', value: true };
      throw new SpecError(`${here}: bad bool default ${raw}`);
    case 'int8': case 'int16': case 'uint16': case 'int32': {
      const value = raw === null || raw === '' ? 0n : parseInteger(raw, here);
      const [lo, hi] = intBounds[name];
      if (value < BigInt(lo) || value > BigInt(hi)) throw new SpecError(`${here}: default ${raw} out of ${name} range`);
      return { kind: 'number', value: Number(value) };
    }
    case 'int64': {
      const value = raw === null || raw === '' ? 0n : parseInteger(raw, here);
      if (value !== BigInt.asIntN(64, value)) throw new SpecError(`${here}: default ${raw} out of int64 range`);
      return { kind: 'bigint', value };
    }
    case 'float64': {
      const value = raw === null || raw === '' ? 0 : Number(raw);
      if (Number.isNaN(value) && raw !== 'NaN') throw new SpecError(`${here}: bad float64 default ${raw}`);
      return { kind: 'number', value };
    }
    case 'string':
      if (raw === 'null') {
        if (!nullable) throw new SpecError(`${here}: default null on a non-nullable string`);
        return { kind: 'null' };
      }
      return { kind: 'string', value: raw ?? '' };
    case 'bytes':
    case 'records':
      if (raw === 'null' || (name === 'records' && raw === null)) {
        if (!nullable && name === 'bytes') throw new SpecError(`${here}: default null on non-nullable bytes`);
        return { kind: 'null' };
      }
      if (raw !== null && raw !== '') throw new SpecError(`${here}: bytes default to empty or null`);
      return name === 'records' ? { kind: 'null' } : { kind: 'emptyBytes' };
    case 'uuid':
      return { kind: 'uuid', value: uuidDefault(raw, here) };
  }
}

const zeroUuid = '00000000-0000-0000-0000-000000000000';

/** Kafka writes UUID defaults in its URL-safe base64 form (Uuid.toString). */
function uuidDefault(raw: string | null, here: string): string {
  if (raw === null || raw === '') return zeroUuid;
  const bytes = Buffer.from(raw, 'base64url');
  if (bytes.length !== 16) throw new SpecError(`${here}: bad uuid default ${raw}`);
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
