// The bench's --workloads option: which rows run. Kept apart from bench.ts (which runs on import) so
// test/bench/workload-select.test.ts can check it.

/** "a (java),b" → ["a (java)", "b"]; undefined (option absent) → undefined: every row runs. */
export function parseWorkloadNames(value: string | undefined): string[] | undefined {
  if (value === undefined) return undefined;
  return value.split(',').map((n) => n.trim()).filter((n) => n.length > 0);
}

/**
 * The rows --workloads names (all when undefined); an unknown name is refused, as a typo would run
 * nothing. A chosen row whose `needs` (the row that writes what it reads) is not chosen becomes n/a.
 */
export function selectWorkloads<W extends { name: string; needs?: string; missing?: () => string | undefined }>(all: W[], names: string[] | undefined): W[] {
  if (names === undefined) return all;
  const unknown = names.filter((n) => !all.some((w) => w.name === n));
  if (unknown.length > 0) throw new Error(`--workloads: unknown ${unknown.join(', ')} (rows: ${all.map((w) => w.name).join(', ')})`);
  return all.filter((w) => names.includes(w.name)).map((w) => (w.needs !== undefined && !names.includes(w.needs)
    ? { ...w, missing: () => `n/a (${w.name} reads what "${w.needs}" writes: select that row too)` }
    : w));
}
