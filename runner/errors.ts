/**
 * Expected failures carry a stable code (REINGEST_E_...) that callers and docs match on, and a message
 * that says what was expected, what was found, where, and what to do. Anything else that is thrown is a bug.
 */
const BRAND = Symbol.for('reingest.error');

export class ReingestError extends Error {
  readonly code: string;
  /** Where the problem is: a file, a field path, a segment, a byte offset. */
  readonly where: string | undefined;
  readonly [BRAND] = true;
  constructor(code: string, message: string, options: { where?: string; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.where = options.where;
    this.name = 'ReingestError';
  }
}

/**
 * Thrown by a stage when the segment must be read again from the start (the source object changed while
 * it was streamed). The runner discards the partial work and reruns the chain a bounded number of times.
 */
export class RestartSegment extends ReingestError {
  constructor(message: string, where: string) {
    super('REINGEST_E_SOURCE_RESTART', message, { where });
  }
}

export function isReingestError(err: unknown): err is ReingestError {
  return typeof err === 'object' && err !== null && (err as Record<symbol, unknown>)[BRAND] === true;
}

/** Documented exit statuses of the CLI. */
export const EXIT = {
  ok: 0,
  failed: 1,
  usage: 2,
  internal: 70,
  interrupted: 130,
} as const;

export function unreachable(x: never): never {
  throw new Error(`Internal error: unexpected value ${JSON.stringify(x)}`);
}
