/**
 * parse → validate → emit for a whole spec directory. Returns file name → contents so that the CLI
 * (main.ts) writes them and the regeneration test (test/protocol/codegen.test.ts) diffs them.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type Message, SpecError, intersect, isEmpty, parseMessage, validateMessage } from './model.js';
import { emitMessage, emitMessageSchema, generatedHeader } from './emit.js';
import { unionMessages } from './union.js';

export interface Api {
  readonly apiKey: number;
  /** "Produce", "ApiVersions": the request name without its suffix. */
  readonly name: string;
  readonly request: Message;
  readonly response: Message;
}

export function kebab(name: string): string {
  // "KRaft" is one word (KRaftVersionRecord → kraft-version-record).
  return name.replace(/KRaft/g, 'Kraft').replace(/([a-z0-9])([A-Z])/g, '$1-$2').replace(/([A-Z])([A-Z][a-z])/g, '$1-$2').toLowerCase();
}

export function loadMessages(specsDir: string): Message[] {
  const files = readdirSync(specsDir).filter((f) => f.endsWith('.json')).sort();
  if (files.length === 0) throw new SpecError(`no .json specs in ${specsDir}`);
  const messages = files.map((f) => parseMessage(f, readFileSync(join(specsDir, f), 'utf8')));
  for (const m of messages) validateMessage(m);
  return messages;
}

export function pairApis(messages: Message[]): Api[] {
  const byKey = new Map<number, { request?: Message; response?: Message }>();
  for (const m of messages) {
    if (m.apiKey === null || (m.type !== 'request' && m.type !== 'response')) continue;
    const entry = byKey.get(m.apiKey) ?? {};
    if (entry[m.type] !== undefined) throw new SpecError(`${m.file}: API key ${m.apiKey} has two ${m.type}s`);
    entry[m.type] = m;
    byKey.set(m.apiKey, entry);
  }
  const apis: Api[] = [];
  for (const [apiKey, { request, response }] of [...byKey].sort((a, b) => a[0] - b[0])) {
    if (request === undefined || response === undefined) throw new SpecError(`API key ${apiKey} lacks a request or a response`);
    const name = request.name.replace(/Request$/, '');
    if (response.name !== `${name}Response`) throw new SpecError(`${response.file}: expected ${name}Response`);
    const a = request.validVersions;
    const b = response.validVersions;
    if (a.lo !== b.lo || a.hi !== b.hi) throw new SpecError(`${name}: request and response validVersions differ`);
    apis.push({ apiKey, name, request, response });
  }
  return apis;
}

const codecImports = (support: Set<string>): string[] => {
  const lines = [
    "import type { Reader } from '../reader.js';",
    "import { Writer } from '../writer.js';",
  ];
  if (support.size > 0) lines.push(`import { ${[...support].sort().join(', ')} } from '../codec-support.js';`);
  return lines;
};

function emitFile(messages: Message[]): string {
  const body: string[] = [];
  const support = new Set<string>();
  for (const m of messages) {
    const out = emitMessage(m);
    body.push(...out.body);
    for (const s of out.support) support.add(s);
  }
  const usesWriterValue = body.some((l) => l.includes('new Writer('));
  const imports = codecImports(support).map((l) =>
    !usesWriterValue && l.startsWith("import { Writer }") ? "import type { Writer } from '../writer.js';" : l,
  );
  const sources = messages.map((m) => m.file).join(', ');
  return [generatedHeader, `// Source: ${sources} (Apache Kafka message specs).`, ...imports, ...body, ''].join('\n');
}

/** The first valid version that is flexible, or null when none is. */
function flexibleMin(m: Message): number | null {
  const flexible = intersect(m.flexibleVersions, m.validVersions);
  return isEmpty(flexible) ? null : flexible.lo;
}

function emitIndex(apis: Api[], dataFiles: string[]): string {
  const lines: string[] = [generatedHeader];
  lines.push("import type { Reader } from '../reader.js';");
  lines.push("import type { Writer } from '../writer.js';");
  lines.push("import { ProtocolDecodeError } from '../reader.js';");
  lines.push("import { ProtocolEncodeError } from '../writer.js';");
  for (const api of apis) {
    const n = api.name;
    lines.push(
      `import { decode${n}Request, encode${n}Request, decode${n}Response, encode${n}Response, ` +
        `type ${n}Request, type ${n}Response } from './${kebab(n)}.js';`,
    );
  }
  lines.push('');
  for (const f of [...apis.map((a) => kebab(a.name)), ...dataFiles]) lines.push(`export * from './${f}.js';`);
  lines.push('', 'export const ApiKey = {');
  for (const api of apis) lines.push(`  ${api.name}: ${api.apiKey},`);
  lines.push('} as const;', '', 'export type ApiKeyValue = (typeof ApiKey)[keyof typeof ApiKey];', '');
  lines.push(...emitSpecTable(apis), '', ...emitHeaderVersions(), '', ...emitDispatch(apis));
  return [...lines, ''].join('\n');
}

function emitSpecTable(apis: Api[]): string[] {
  const lines = [
    'export interface ApiMessageSpec {',
    '  apiKey: number;',
    '  name: string;',
    '  minVersion: number;',
    '  maxVersion: number;',
    '  /** First flexible (KIP-482) request version, or null when none is. */',
    '  flexibleMinVersion: number | null;',
    '  responseFlexibleMinVersion: number | null;',
    '  /** The highest version is still under development upstream (Kafka hides it unless unstable APIs are enabled). */',
    '  latestVersionUnstable: boolean;',
    '  listeners: readonly string[];',
    '}',
    '',
    'export const API_MESSAGE_SPECS: readonly ApiMessageSpec[] = [',
  ];
  for (const api of apis) {
    const r = api.request;
    lines.push(
      `  { apiKey: ${api.apiKey}, name: '${api.name}', minVersion: ${r.validVersions.lo}, maxVersion: ${r.validVersions.hi}, ` +
        `flexibleMinVersion: ${flexibleMin(r)}, responseFlexibleMinVersion: ${flexibleMin(api.response)}, ` +
        `latestVersionUnstable: ${r.latestVersionUnstable}, listeners: ${JSON.stringify(r.listeners).replace(/"/g, "'").replace(/,/g, ', ')} },`,
    );
  }
  lines.push('];', '', 'const specByApiKey = new Map<number, ApiMessageSpec>(API_MESSAGE_SPECS.map((s) => [s.apiKey, s]));');
  lines.push('', 'export function apiMessageSpec(apiKey: number): ApiMessageSpec | undefined {', '  return specByApiKey.get(apiKey);', '}');
  return lines;
}

function emitHeaderVersions(): string[] {
  return [
    '/**',
    ' * Request header version (RequestHeader.json) for an API version, as in Kafka\'s ApiMessageType:',
    ' * v2 (tagged fields) for flexible versions, v1 otherwise, and v0 only for ControlledShutdown v0, which',
    ' * predates the client id. Unknown API keys get v1 so that the key, version and correlation id still parse.',
    ' */',
    'export function requestHeaderVersion(apiKey: number, version: number): 0 | 1 | 2 {',
    '  if (apiKey === ApiKey.ControlledShutdown && version === 0) return 0;',
    '  const spec = specByApiKey.get(apiKey);',
    '  if (spec === undefined || spec.flexibleMinVersion === null) return 1;',
    '  return version >= spec.flexibleMinVersion ? 2 : 1;',
    '}',
    '',
    '/**',
    ' * Response header version (ResponseHeader.json). ApiVersions responses always use v0 so that a client',
    ' * that sent a version the broker does not know can still read the error (KIP-511).',
    ' */',
    'export function responseHeaderVersion(apiKey: number, version: number): 0 | 1 {',
    '  if (apiKey === ApiKey.ApiVersions) return 0;',
    '  const spec = specByApiKey.get(apiKey);',
    '  if (spec === undefined || spec.responseFlexibleMinVersion === null) return 0;',
    '  return version >= spec.responseFlexibleMinVersion ? 1 : 0;',
    '}',
  ];
}

function emitDispatch(apis: Api[]): string[] {
  const lines: string[] = [];
  for (const kind of ['Request', 'Response'] as const) {
    lines.push(`export interface ${kind}Types {`);
    for (const api of apis) lines.push(`  ${api.apiKey}: ${api.name}${kind};`);
    lines.push('}', '', `export type Any${kind} = ${kind}Types[keyof ${kind}Types];`, '');
    lines.push(`const ${kind.toLowerCase()}Decoders = new Map<number, (r: Reader, version: number) => Any${kind}>([`);
    for (const api of apis) lines.push(`  [${api.apiKey}, decode${api.name}${kind}],`);
    lines.push(']);', '');
    lines.push(`const ${kind.toLowerCase()}Encoders = new Map<number, (w: Writer, version: number, m: never) => void>([`);
    for (const api of apis) lines.push(`  [${api.apiKey}, encode${api.name}${kind}],`);
    lines.push(']);', '');
    lines.push(
      `export function decode${kind}<K extends keyof ${kind}Types>(apiKey: K, version: number, r: Reader): ${kind}Types[K];`,
      `export function decode${kind}(apiKey: number, version: number, r: Reader): Any${kind};`,
      `export function decode${kind}(apiKey: number, version: number, r: Reader): Any${kind} {`,
      `  const decode = ${kind.toLowerCase()}Decoders.get(apiKey);`,
      `  if (decode === undefined) throw new ProtocolDecodeError(\`unknown API key \${apiKey}\`);`,
      '  return decode(r, version);',
      '}',
      '',
      `export function encode${kind}<K extends keyof ${kind}Types>(apiKey: K, version: number, w: Writer, m: ${kind}Types[K]): void;`,
      `export function encode${kind}(apiKey: number, version: number, w: Writer, m: Any${kind}): void;`,
      `export function encode${kind}(apiKey: number, version: number, w: Writer, m: Any${kind}): void {`,
      `  const encode = ${kind.toLowerCase()}Encoders.get(apiKey);`,
      `  if (encode === undefined) throw new ProtocolEncodeError(\`unknown API key \${apiKey}\`);`,
      '  encode(w, version, m as never);',
      '}',
      '',
    );
  }
  lines.pop();
  return lines;
}

function emitSchemaFile(messages: Message[]): string {
  const lines = [
    generatedHeader,
    '// Field-level descriptors of every message, for property tests and tools; the codecs do not read them.',
    '',
    '/** Inclusive [lo, hi]; open-ended spec ranges ("N+") end at 32767. */',
    'export type VersionRange = readonly [number, number];',
    '',
    'export type TypeSchema =',
    "  | { readonly kind: 'primitive'; readonly name: 'bool' | 'int8' | 'int16' | 'uint16' | 'int32' | 'int64' | 'float64' | 'string' | 'bytes' | 'records' | 'uuid' }",
    "  | { readonly kind: 'struct'; readonly name: string }",
    "  | { readonly kind: 'array'; readonly element: TypeSchema };",
    '',
    '/** A struct default is the struct with every field at its default. */',
    'export type DefaultSchema =',
    "  | { readonly kind: 'value'; readonly value: number | bigint | boolean | string | null }",
    "  | { readonly kind: 'emptyBytes' }",
    "  | { readonly kind: 'emptyArray' }",
    "  | { readonly kind: 'struct' };",
    '',
    'export interface FieldSchema {',
    '  readonly name: string;',
    '  readonly type: TypeSchema;',
    '  readonly versions: VersionRange | null;',
    '  readonly nullableVersions: VersionRange | null;',
    '  readonly taggedVersions: VersionRange | null;',
    '  readonly tag: number | null;',
    '  readonly ignorable: boolean;',
    '  readonly default: DefaultSchema;',
    '}',
    '',
    'export interface MessageSchema {',
    '  readonly name: string;',
    "  readonly type: 'request' | 'response' | 'header' | 'data';",
    '  readonly apiKey: number | null;',
    '  readonly minVersion: number;',
    '  readonly maxVersion: number;',
    '  readonly flexibleMinVersion: number | null;',
    '  /** By TypeScript interface name; the entry named like the message is its top level. */',
    '  readonly structs: Readonly<Record<string, readonly FieldSchema[]>>;',
    '}',
    '',
    'export const MESSAGE_SCHEMAS: readonly MessageSchema[] = [',
  ];
  for (const m of messages) lines.push(...emitMessageSchema(m));
  lines.push('];', '');
  return lines.join('\n');
}

/**
 * Every generated file, keyed by its name under src/protocol/generated/. With several spec directories,
 * oldest first, the messages are their union (union.ts): a later copy decides every version it defines.
 */
export function generate(specsDirs: string | readonly string[]): Map<string, string> {
  const dirs = typeof specsDirs === 'string' ? [specsDirs] : specsDirs;
  if (dirs.length === 0) throw new SpecError('no spec directories');
  let messages = unionMessages([], loadMessages(dirs[0]));
  for (const dir of dirs.slice(1)) messages = unionMessages(messages, loadMessages(dir));
  for (const m of messages) validateMessage(m);
  const apis = pairApis(messages);
  const files = new Map<string, string>();
  for (const api of apis) files.set(`${kebab(api.name)}.ts`, emitFile([api.request, api.response]));
  const dataFiles: string[] = [];
  for (const m of messages.filter((x) => x.type === 'data')) {
    dataFiles.push(kebab(m.name));
    files.set(`${kebab(m.name)}.ts`, emitFile([m]));
  }
  files.set('index.ts', emitIndex(apis, dataFiles));
  files.set('schema.ts', emitSchemaFile(messages.filter((m) => m.type !== 'header')));
  return files;
}
