/**
 * Assertions are for bugs (STYLE.md 9): a broken invariant stops loudly. Clients get Kafka error codes,
 * never an assertion.
 */
export class InvariantError extends Error {
  override name = 'InvariantError';
}

export function invariant(condition: unknown, message: string | (() => string)): asserts condition {
  if (!condition) throw new InvariantError(typeof message === 'string' ? message : message());
}

export function unreachable(value: never, what = 'value'): never {
  throw new InvariantError(`unreachable ${what}: ${JSON.stringify(value)}`);
}
