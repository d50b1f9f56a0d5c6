import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { request } from 'undici';
import { ReingestError, RestartSegment, ThroughputGuard, type SegmentPin, type StageLog } from '../../runner/stage.ts';
import { USER_AGENT } from './user-agent.ts';
import { acquireStreamSlot } from './stream-slots.ts';

export interface HttpPolicy {
  /** Attempts per stream, counting the first; each failed attempt waits before the next. */
  readonly maxAttempts: number;
  /** First backoff in ms (>= 1000: Common Crawl asks for at least a second between retries). */
  readonly backoffMs: number;
  /** The longest any wait may be, whatever a server's Retry-After asks for (seconds or a date). */
  readonly maxBackoffMs: number;
  /** A body that sends nothing for this long is treated as broken and resumed. */
  readonly stallMs: number;
  /** Concurrent whole-file streams in this process. */
  readonly maxStreams: number;
  /** Test seam: the random source for jitter (never affects bytes, only waits). */
  readonly random?: () => number;
  /** The run's shared stream slots (across tasks and worker threads); else this module's process-wide cap. */
  readonly acquireSlot?: (max: number, signal: AbortSignal) => Promise<() => void>;
  /** Told before each backoff wait, so progress displays can show a wait rather than a frozen bar. */
  readonly onRetry?: (info: { attempt: number; waitMs: number; reason: string }) => void;
  /**
   * Most bytes one stream may deliver (default DEFAULT_MAX_BYTES); a size the server declares caps it further.
   * A server that never ends a body would otherwise fill the cache's tmp folder.
   */
  readonly maxBytes?: number;
  /** Where maxBytes comes from, named by the error when it is exceeded (e.g. `http-fetch param maxSegmentBytes`). */
  readonly maxBytesFrom?: string;
  /**
   * The object's exact size and digest, known beforehand (a rerun's manifest pin): a declared size that
   * differs is refused before its body is read, a body stops at the first byte past the size, and one that
   * ends short fails too, all REINGEST_E_PIN_MISMATCH and none retried: the mirror serves another file.
   */
  readonly pin?: SegmentPin;
  /**
   * An attempt whose body averages fewer bytes per second than this over throughputWindowMs fails like a
   * stall (and is resumed with Range): the stall timeout alone lets a 1 byte/s trickle run for ever. 0: off.
   */
  readonly minBytesPerSecond?: number;
  readonly throughputWindowMs?: number;
}

/** Common Crawl WARC files are about 1.1 GB; 8 GiB leaves room for any real one and stops an endless body. */
export const DEFAULT_MAX_BYTES = 8 * 1024 ** 3;

export const DEFAULT_POLICY: HttpPolicy = {
  maxAttempts: 8,
  backoffMs: 1000,
  maxBackoffMs: 60_000,
  stallMs: 60_000,
  maxStreams: 4,
  maxBytes: DEFAULT_MAX_BYTES,
  minBytesPerSecond: 1024,
  throughputWindowMs: 60_000,
};

/** Node fires a timer longer than this after 1 ms instead (with a warning): no wait may exceed it. */
const TIMER_MAX_MS = 2 ** 31 - 1;

const RETRY_STATUS = new Set([408, 425, 429, 500, 502, 503, 504]);

/**
 * Streams one object with a single whole-file GET, resuming a broken body with `Range: bytes=N-` plus
 * `If-Range` (the ETag, else Last-Modified) from the byte reached. 503/429/5xx and broken connections
 * back off exponentially from >= 1 s with jitter, honouring Retry-After, for a bounded number of attempts.
 * 403/404 fail at once. If the object changed between requests, the segment restarts from byte 0
 * (RestartSegment), since bytes already passed downstream belong to the old object.
 * Nothing the server says is trusted unbounded: every wait is clamped to [backoffMs, maxBackoffMs], a body
 * may not pass its declared size nor maxBytes (REINGEST_E_SOURCE_TOO_LARGE), a pinned one must be exactly
 * its pinned size (REINGEST_E_PIN_MISMATCH), and a body slower than minBytesPerSecond over a window is
 * resumed like a stalled one.
 */
export async function* streamHttp(url: URL, signal: AbortSignal, log: StageLog, policy: HttpPolicy = DEFAULT_POLICY): AsyncGenerator<Uint8Array> {
  const release = await (policy.acquireSlot ?? acquireStreamSlot)(policy.maxStreams, signal);
  try {
    yield* resumable(url, signal, log, policy);
  } finally {
    release();
  }
}

async function* resumable(url: URL, signal: AbortSignal, log: StageLog, policy: HttpPolicy): AsyncGenerator<Uint8Array> {
  let offset = 0;
  let total: number | null = null;
  let validator: { etag?: string; lastModified?: string } | null = null;
  let failures = 0;
  const random = policy.random ?? Math.random;

  const backoff = async (why: string, retryAfter: string | undefined): Promise<void> => {
    failures++;
    if (failures >= policy.maxAttempts) {
      throw new ReingestError(
        'REINGEST_E_SOURCE_HTTP',
        `GET ${url.href}: gave up after ${failures} attempts (last: ${why}) at byte ${offset}${total === null ? '' : ` of ${total}`}; the service may be throttling — retry later or lower --concurrency`,
        { where: url.href },
      );
    }
    const asked = parseRetryAfter(retryAfter);
    const wait = backoffWait(policy, failures, asked, random);
    log.warn({ url: url.href, attempt: failures, waitMs: Math.round(wait), reason: why, offset, ...(asked === null ? {} : { retryAfterMs: asked }) }, 'backing off before retrying');
    policy.onRetry?.({ attempt: failures, waitMs: Math.round(wait), reason: why });
    await sleep(wait, undefined, { signal });
  };

  for (;;) {
    signal.throwIfAborted();
    const headers: Record<string, string> = { 'user-agent': USER_AGENT, 'accept-encoding': 'identity' };
    if (offset > 0) {
      headers.range = `bytes=${offset}-`;
      const v = validator?.etag ?? validator?.lastModified;
      if (v) headers['if-range'] = v;
    }
    let res;
    try {
      res = await request(url, { method: 'GET', signal, headers, headersTimeout: policy.stallMs, bodyTimeout: policy.stallMs });
    } catch (err) {
      if (signal.aborted) throw signal.reason;
      await backoff(`connection failed: ${(err as Error).message}`, undefined);
      continue;
    }
    const status = res.statusCode;
    if (status === 404 || status === 403 || status === 410) {
      await res.body.dump().catch(() => {});
      throw new ReingestError('REINGEST_E_SOURCE_MISSING', `GET ${url.href}: expected status 200, got ${status}; check the path list and the mirror (not retried)`, { where: url.href });
    }
    if (RETRY_STATUS.has(status)) {
      await res.body.dump().catch(() => {});
      await backoff(`status ${status}`, header(res.headers['retry-after']));
      continue;
    }
    const etag = header(res.headers.etag);
    const lastModified = header(res.headers['last-modified']);
    if (status === 200 && offset > 0) {
      // The server ignored the range: If-Range failed because the object changed, or ranges are unsupported.
      await res.body.dump().catch(() => {});
      const changed = validator !== null && ((validator.etag !== undefined && validator.etag !== etag) || (validator.etag === undefined && validator.lastModified !== lastModified));
      throw new RestartSegment(
        changed
          ? `GET ${url.href}: the object changed while it was read (validator ${JSON.stringify(validator)} -> ${JSON.stringify({ etag, lastModified })}); restarting the segment from byte 0`
          : `GET ${url.href}: the server ignored a Range request at byte ${offset}; restarting the segment from byte 0`,
        url.href,
      );
    }
    if (status !== 200 && status !== 206) {
      await res.body.dump().catch(() => {});
      throw new ReingestError('REINGEST_E_SOURCE_HTTP', `GET ${url.href}: expected status 200 or 206, got ${status}`, { where: url.href });
    }
    let totalFrom = 'Content-Length';
    if (status === 206) {
      const m = /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(header(res.headers['content-range']) ?? '');
      if (!m || Number(m[1]) !== offset) {
        await res.body.dump().catch(() => {});
        throw new RestartSegment(`GET ${url.href}: asked for bytes from ${offset}, got Content-Range ${JSON.stringify(header(res.headers['content-range']))}; restarting the segment`, url.href);
      }
      if (m[3] !== '*') total = Number(m[3]);
      totalFrom = 'Content-Range total';
    } else {
      const len = header(res.headers['content-length']);
      total = len !== undefined && /^\d+$/.test(len) ? Number(len) : null;
      validator = etag || lastModified ? { ...(etag ? { etag } : {}), ...(lastModified ? { lastModified } : {}) } : null;
    }
    const limit = byteLimit(policy, total, totalFrom);
    const refused = refuseDeclared(url, policy.pin, limit, total, totalFrom);
    if (refused) {
      // Refused before a byte is read: the server says the object is not one the run may take.
      res.body.destroy();
      throw refused;
    }
    const read = yield* readBody(res.body, url, offset, limit, policy, signal);
    offset = read.offset;
    if (read.reason !== null) {
      await backoff(read.reason, undefined);
      continue;
    }
    if (total !== null && offset < total) {
      await backoff(`body ended early at byte ${offset} of ${total}`, undefined);
      continue;
    }
    if (policy.pin && offset < policy.pin.size) throw pinMismatch(url, policy.pin, `${offset} bytes (the body ended there)`);
    if (failures > 0) log.info({ url: url.href, bytes: offset, retries: failures }, 'stream completed after retries');
    return;
  }
}

/**
 * Yields one response body from byte `offset` of the object. Throws when it would pass `limit` (before the
 * chunk that crosses it goes downstream). Returns the offset reached and, when the attempt broke (the
 * connection failed, or the body was too slow), why: the caller backs off and resumes from there.
 */
async function* readBody(
  body: AsyncIterable<unknown> & { destroyed: boolean; destroy(): void },
  url: URL,
  offset: number,
  limit: ByteLimit,
  policy: HttpPolicy,
  signal: AbortSignal,
): AsyncGenerator<Uint8Array, { offset: number; reason: string | null }> {
  const min = policy.minBytesPerSecond ?? DEFAULT_POLICY.minBytesPerSecond!;
  const windowMs = policy.throughputWindowMs ?? DEFAULT_POLICY.throughputWindowMs!;
  const guard = new ThroughputGuard(min, windowMs);
  const chunks = body[Symbol.asyncIterator]();
  try {
    for (;;) {
      const asked = performance.now();
      let next: IteratorResult<unknown>;
      try {
        next = await chunks.next();
      } catch (err) {
        if (signal.aborted) throw signal.reason;
        return { offset, reason: `body broke at byte ${offset}: ${(err as { code?: string }).code ?? (err as Error).message}` };
      }
      if (next.done) return { offset, reason: null };
      const chunk = next.value as Buffer;
      if (offset + chunk.byteLength > limit.bytes) throw overLimit(url, limit, `at least ${offset + chunk.byteLength} bytes`);
      const rate = guard.add(chunk.byteLength, performance.now() - asked);
      offset += chunk.byteLength;
      yield chunk;
      if (rate !== null) {
        return { offset, reason: `body too slow at byte ${offset}: ${Math.round(rate)} bytes/s over ${windowMs / 1000} s, expected at least ${min}` };
      }
    }
  } finally {
    if (!body.destroyed) body.destroy();
  }
}

function header(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}

/** Retry-After as seconds or an HTTP date, in ms; null when absent or unreadable. */
export function parseRetryAfter(v: string | undefined): number | null {
  if (v === undefined) return null;
  if (/^\d+$/.test(v.trim())) return Number(v.trim()) * 1000;
  const when = Date.parse(v);
  return Number.isNaN(when) ? null : Math.max(0, when - Date.now());
}

/**
 * The wait before retry number `failures` (1-based): exponential from backoffMs, with jitter that only
 * lengthens it, or the server's Retry-After when that is longer; always within [backoffMs, maxBackoffMs].
 * A server may ask for days, or name a date past Node's 24.8-day timer limit (which would fire after 1 ms):
 * it gets maxBackoffMs, and the attempt budget decides when to give up. A date in the past gets backoffMs.
 */
export function backoffWait(policy: Pick<HttpPolicy, 'backoffMs' | 'maxBackoffMs'>, failures: number, retryAfterMs: number | null, random: () => number): number {
  const exp = policy.backoffMs * 2 ** (failures - 1);
  const wanted = Math.max(retryAfterMs ?? 0, exp * (1 + random() * 0.5));
  return Math.min(policy.maxBackoffMs, TIMER_MAX_MS, Math.max(policy.backoffMs, wanted));
}

/** The most bytes one response may bring the stream to, where that number comes from, and the pin it is (for the error). */
export interface ByteLimit {
  readonly bytes: number;
  readonly from: string;
  readonly pin?: SegmentPin;
}

/** The tightest bound known: a pin (exact), else a declared size, else the cap; a pin or declared size over the cap leaves the cap. */
export function byteLimit(policy: HttpPolicy, total: number | null, totalFrom: string): ByteLimit {
  const cap: ByteLimit = { bytes: policy.maxBytes ?? DEFAULT_MAX_BYTES, from: policy.maxBytesFrom ?? 'the HTTP policy maxBytes' };
  if (policy.pin && policy.pin.size <= cap.bytes) return { bytes: policy.pin.size, from: 'the manifest pin', pin: policy.pin };
  return total !== null && total <= cap.bytes ? { bytes: total, from: `the size the server declared (${totalFrom})` } : cap;
}

/** Why a declared size is refused before its body is read (not the pinned size, or over the limit), else null. */
function refuseDeclared(url: URL, pin: SegmentPin | undefined, limit: ByteLimit, total: number | null, totalFrom: string): ReingestError | null {
  if (total === null) return null;
  const got = `a declared size of ${total} bytes (${totalFrom})`;
  if (pin && total !== pin.size) return pinMismatch(url, pin, got);
  return total > limit.bytes ? overLimit(url, limit, got) : null;
}

/** A pinned object whose size is not the pinned one; `got` is what it declared, reached, or ended at. */
export function pinMismatch(url: URL, pin: SegmentPin, got: string): ReingestError {
  return new ReingestError(
    'REINGEST_E_PIN_MISMATCH',
    `${url.protocol === 'file:' ? 'read' : 'GET'} ${url.href}: expected exactly ${pin.size} bytes (the manifest pins ${pin.sha256}), got ${got}; ` +
      'the mirror serves another file than the manifest recorded (not retried) — check the mirror, or rerun from another with --mirror',
    { where: url.href },
  );
}

/** A source that brings (or declares) more bytes than allowed; `got` is what it had reached or declared. */
export function overLimit(url: URL, limit: ByteLimit, got: string): ReingestError {
  if (limit.pin) return pinMismatch(url, limit.pin, got);
  const what = limit.from.startsWith('the size the server declared')
    ? 'the server sent more than it said it would (a broken mirror or proxy); check the mirror, then rerun'
    : `if the file really is this large, raise the limit (${limit.from})`;
  return new ReingestError('REINGEST_E_SOURCE_TOO_LARGE', `${url.protocol === 'file:' ? 'read' : 'GET'} ${url.href}: expected at most ${limit.bytes} bytes (${limit.from}), got ${got}; ${what}`, { where: url.href });
}
