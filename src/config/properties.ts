/**
 * Java `.properties` reader for `server.properties` files, the subset Kafka's own files use:
 * `key=value` or `key: value` or `key value`, `#` and `!` comments, backslash line continuation and the
 * common escapes (\t \n \r \\ \uXXXX). Later keys win, as in java.util.Properties.
 */

/** Longest file accepted; a broker config is a few KiB (STYLE.md 8). */
export const propertiesFileBytesMax = 1024 * 1024;

export function parseProperties(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of logicalLines(text)) {
    const trimmed = line.replace(/^[ \t\f]+/, '');
    if (trimmed === '' || trimmed.startsWith('#') || trimmed.startsWith('!')) continue;
    const [key, value] = splitKeyValue(trimmed);
    out.set(unescape(key), unescape(value));
  }
  return out;
}

function logicalLines(text: string): string[] {
  const physical = text.split(/\r\n|\r|\n/);
  const lines: string[] = [];
  let pending = '';
  for (const raw of physical) {
    const line = pending === '' ? raw : raw.replace(/^[ \t\f]+/, '');
    if (endsWithOddBackslashes(line)) {
      pending += line.slice(0, -1);
      continue;
    }
    lines.push(pending + line);
    pending = '';
  }
  if (pending !== '') lines.push(pending);
  return lines;
}

function endsWithOddBackslashes(line: string): boolean {
  let count = 0;
  for (let i = line.length - 1; i >= 0 && line[i] === '\\'; i--) count++;
  return count % 2 === 1;
}

function splitKeyValue(line: string): [string, string] {
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (c === '\\') {
      i++;
      continue;
    }
    if (c === '=' || c === ':' || c === ' ' || c === '\t' || c === '\f') {
      let rest = line.slice(i + 1);
      if (c === ' ' || c === '\t' || c === '\f') rest = rest.replace(/^[ \t\f]*[=:]?/, '');
      return [line.slice(0, i), rest.replace(/^[ \t\f]+/, '')];
    }
  }
  return [line, ''];
}

const escapes: Record<string, string> = { t: '\t', n: '\n', r: '\r', f: '\f' };

function unescape(s: string): string {
  if (!s.includes('\\')) return s;
  return s.replace(/\\(u[0-9a-fA-F]{4}|.)/g, (_m, e: string) => {
    if (e.length === 5) return String.fromCharCode(parseInt(e.slice(1), 16));
    return escapes[e] ?? e;
  });
}
