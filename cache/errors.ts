/**
 * Expected failures carry a stable code (REINGEST_E_...) that callers and docs match on, and a message
 * that says what was expected, what was found, where, and what to do. Anything else that is thrown is a bug
 * (exit 70). The codes live here, in the lowest layer, so the cache's own errors are typed too; every code
 * is listed in docs/design.md (test/docs.test.ts checks both ways).
 */
export const ERROR_CODES = [
  'REINGEST_E_CACHE_CORRUPT',
  'REINGEST_E_DISK_FULL',
  'REINGEST_E_EXCLUSIONS_MISSING',
  'REINGEST_E_EXISTS',
  'REINGEST_E_GZIP_CORRUPT',
  'REINGEST_E_GZIP_TRUNCATED',
  'REINGEST_E_INTERRUPTED',
  'REINGEST_E_IO',
  'REINGEST_E_KEY',
  'REINGEST_E_LISTING_TOO_LARGE',
  'REINGEST_E_MANIFEST',
  'REINGEST_E_MANIFEST_TAMPERED',
  'REINGEST_E_MANIFEST_UNREADABLE',
  'REINGEST_E_MODEL',
  'REINGEST_E_NONDETERMINISTIC',
  'REINGEST_E_NO_TOKENS',
  'REINGEST_E_OUTPUT_FILE',
  'REINGEST_E_PATH_LIST',
  'REINGEST_E_PERMISSION',
  'REINGEST_E_PIN_MISMATCH',
  'REINGEST_E_PROOF',
  'REINGEST_E_SHARDS_DIR',
  'REINGEST_E_SHARD_MISSING',
  'REINGEST_E_SOURCE_CHANGED',
  'REINGEST_E_SOURCE_HTTP',
  'REINGEST_E_SOURCE_MISSING',
  'REINGEST_E_SOURCE_RESTART',
  'REINGEST_E_SOURCE_TOO_LARGE',
  'REINGEST_E_SOURCE_URL',
  'REINGEST_E_SPEC',
  'REINGEST_E_SPEC_LOAD',
  'REINGEST_E_SPEC_NOT_FOUND',
  'REINGEST_E_STAGE_VERSION',
  'REINGEST_E_TOKENIZER_RANKS',
  'REINGEST_E_TOKEN_RANGE',
  'REINGEST_E_TOO_MANY_FILES',
  'REINGEST_E_USAGE',
  'REINGEST_E_WARC_FINDINGS',
  'REINGEST_E_WARC_FORMAT',
  'REINGEST_E_WARC_TRUNCATED',
  'REINGEST_E_ZIP',
  'REINGEST_E_ZIP_BOMB',
  'REINGEST_E_ZIP_ENTRY',
  'REINGEST_E_ZIP_UNSAFE_NAME',
] as const;

export type ReingestErrorCode = (typeof ERROR_CODES)[number];

const KNOWN = new Set<string>(ERROR_CODES);

/** A code that crossed a thread or process boundary as a string: one of ours, or not a typed error at all. */
export function isErrorCode(code: unknown): code is ReingestErrorCode {
  return typeof code === 'string' && KNOWN.has(code);
}

const BRAND = Symbol.for('reingest.error');

export class ReingestError extends Error {
  readonly code: ReingestErrorCode;
  /** Where the problem is: a file, a field path, a segment, a byte offset. */
  readonly where: string | undefined;
  readonly [BRAND] = true;
  constructor(code: ReingestErrorCode, message: string, options: { where?: string; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.where = options.where;
    this.name = 'ReingestError';
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
