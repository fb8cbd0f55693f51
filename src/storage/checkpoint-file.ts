/**
 * Kafka's text checkpoint format (server-common CheckpointFile): a version line, a count line, then one
 * entry per line. Parsing never throws on bad input: a damaged file reads as undefined and the caller
 * falls back to recovery.
 */
const ENTRIES_MAX = 10_000_000;

export function formatCheckpoint(version: number, lines: readonly string[]): string {
  return `${version}\n${lines.length}\n${lines.map((l) => `${l}\n`).join('')}`;
}

/** Returns the entry lines, each split on spaces, or undefined if the file is damaged. */
export function parseCheckpoint(text: string, version: number, fieldsPerEntry: number): string[][] | undefined {
  const lines = text.split('\n');
  if (lines[0] !== String(version)) return undefined;
  const count = Number(lines[1]);
  if (!Number.isSafeInteger(count) || count < 0 || count > ENTRIES_MAX) return undefined;
  if (lines.length < count + 2) return undefined;
  const entries: string[][] = [];
  for (let i = 0; i < count; i++) {
    const fields = (lines[i + 2] as string).split(' ');
    if (fields.length !== fieldsPerEntry) return undefined;
    entries.push(fields);
  }
  const rest = lines.slice(count + 2);
  if (rest.some((l) => l !== '')) return undefined;
  return entries;
}

export function parseOffset(field: string | undefined): number | undefined {
  if (field === undefined || !/^-?\d{1,16}$/.test(field)) return undefined;
  const n = Number(field);
  return Number.isSafeInteger(n) ? n : undefined;
}
