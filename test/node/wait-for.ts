/**
 * Polls `check` until it returns a value (a rejection counts as "not yet"), or fails naming `what` after
 * `timeoutMs`. Shared by the in-process cluster tests (test/node) and the process cluster tests (test/faults).
 */
export async function waitFor<T>(what: string, check: () => Promise<T | undefined>, timeoutMs = 60_000, intervalMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}
