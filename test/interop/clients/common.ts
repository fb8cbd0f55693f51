// Shared pieces of the Node.js interop clients: argument parsing, the record shape every client
// produces in `produce-consume`, result printing. Scenario definitions: test/interop/SCENARIOS.md.
import { randomBytes } from 'node:crypto';

export const SCENARIOS = ['metadata', 'produce-consume', 'list-offsets', 'configs', 'delete-records', 'group', 'describe-state', 'transactions'] as const;
export type Scenario = (typeof SCENARIOS)[number];

export class Unsupported extends Error {}

export const PARTITIONS = 3;
/** Base timestamp of the ten records of list-offsets / delete-records (record i has TS0 + i*1000). */
export const TS0 = 1_700_000_000_000;

/** INTEROP_REPLICATION_FACTOR: every scenario topic's RF (default 1; the matrix sets 3 on a 3-node cluster). */
export function replicationFactor(): number {
  const n = Number(process.env.INTEROP_REPLICATION_FACTOR ?? '');
  return Number.isInteger(n) && n > 0 ? n : 1;
}

export function records(): number {
  return Number(process.env.INTEROP_RECORDS ?? '10000');
}

export function topicName(scenario: string, client: string): string {
  return `${scenario}-${client}-${randomBytes(4).toString('hex')}`;
}

/** Value of record i: "v<i>:<codec>:<acks>:" padded with letters to 100 bytes (same in every client). */
export function recordValue(i: number, codec: string, acks: string): string {
  let s = `v${i}:${codec}:${acks}:`;
  while (s.length < 100) s += String.fromCharCode(97 + ((i + s.length) % 26));
  return s;
}

export interface Expected { key: string; value: string; idx: string }

export function check(cond: boolean, msg: string): asserts cond {
  if (!cond) throw new Error(msg);
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

function describeError(e: Error, depth = 0): string {
  const nested = (e as { errors?: unknown }).errors;
  const inner = Array.isArray(nested) && depth < 3
    ? ` [${nested.slice(0, 3).map((x) => (x instanceof Error ? describeError(x, depth + 1) : String(x))).join('; ')}]` : '';
  if (process.env.INTEROP_DEBUG && depth > 0) console.error(e.stack);
  return `${e.name}: ${e.message}${inner}`.slice(0, 1000);
}

/** Runs one scenario and prints one JSON line; never throws. Exits the process when done. */
export async function main(client: string, impl: Record<string, ((bootstrap: string) => Promise<string>) | undefined>): Promise<void> {
  const [bootstrap, scenario] = process.argv.slice(2);
  if (!bootstrap || !scenario) {
    console.error(`usage: ${client} <bootstrap> <scenario>`);
    process.exit(2);
  }
  const fn = impl[scenario];
  let line: Record<string, unknown>;
  if (!fn) {
    line = { client, scenario, ok: false, skipped: true, detail: `${client} does not implement ${scenario}` };
  } else {
    try {
      const detail = await fn(bootstrap);
      line = { client, scenario, ok: true, detail };
    } catch (e) {
      const err = e as Error;
      line = err instanceof Unsupported
        ? { client, scenario, ok: false, skipped: true, detail: err.message }
        : { client, scenario, ok: false, detail: describeError(err) };
    }
  }
  process.stdout.write(JSON.stringify(line) + '\n', () => process.exit(0));
}
