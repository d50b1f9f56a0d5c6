import { setTimeout as sleep } from 'node:timers/promises';
import { request } from 'undici';
import { ReingestError, RestartSegment, type StageLog } from '../../runner/stage.ts';
import { USER_AGENT } from './user-agent.ts';
import { acquireStreamSlot } from './stream-slots.ts';

export interface HttpPolicy {
  /** Attempts per stream, counting the first; each failed attempt waits before the next. */
  readonly maxAttempts: number;
  /** First backoff in ms (>= 1000: Common Crawl asks for at least a second between retries). */
  readonly backoffMs: number;
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
}

export const DEFAULT_POLICY: HttpPolicy = { maxAttempts: 8, backoffMs: 1000, maxBackoffMs: 60_000, stallMs: 60_000, maxStreams: 4 };

const RETRY_STATUS = new Set([408, 425, 429, 500, 502, 503, 504]);

/**
 * Streams one object with a single whole-file GET, resuming a broken body with `Range: bytes=N-` plus
 * `If-Range` (the ETag, else Last-Modified) from the byte reached. 503/429/5xx and broken connections
 * back off exponentially from >= 1 s with jitter, honouring Retry-After, for a bounded number of attempts.
 * 403/404 fail at once. If the object changed between requests, the segment restarts from byte 0
 * (RestartSegment), since bytes already passed downstream belong to the old object.
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
    const exp = Math.min(policy.maxBackoffMs, policy.backoffMs * 2 ** (failures - 1));
    // Jitter only lengthens a wait, so the first one is never under backoffMs (>= 1 s for real runs).
    const wait = Math.max(parseRetryAfter(retryAfter) ?? 0, exp * (1 + random() * 0.5));
    log.warn({ url: url.href, attempt: failures, waitMs: Math.round(wait), reason: why, offset }, 'backing off before retrying');
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
    if (status === 206) {
      const m = /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(header(res.headers['content-range']) ?? '');
      if (!m || Number(m[1]) !== offset) {
        await res.body.dump().catch(() => {});
        throw new RestartSegment(`GET ${url.href}: asked for bytes from ${offset}, got Content-Range ${JSON.stringify(header(res.headers['content-range']))}; restarting the segment`, url.href);
      }
      if (m[3] !== '*') total = Number(m[3]);
    } else {
      const len = header(res.headers['content-length']);
      total = len !== undefined && /^\d+$/.test(len) ? Number(len) : null;
      validator = etag || lastModified ? { ...(etag ? { etag } : {}), ...(lastModified ? { lastModified } : {}) } : null;
    }
    try {
      for await (const chunk of res.body) {
        offset += (chunk as Buffer).byteLength;
        yield chunk as Buffer;
      }
    } catch (err) {
      if (signal.aborted) throw signal.reason;
      await backoff(`body broke at byte ${offset}: ${(err as { code?: string }).code ?? (err as Error).message}`, undefined);
      continue;
    } finally {
      if (!res.body.destroyed) res.body.destroy();
    }
    if (total !== null && offset < total) {
      await backoff(`body ended early at byte ${offset} of ${total}`, undefined);
      continue;
    }
    if (total !== null && offset > total) {
      throw new ReingestError('REINGEST_E_SOURCE_HTTP', `GET ${url.href}: expected ${total} bytes, got ${offset}`, { where: url.href });
    }
    if (failures > 0) log.info({ url: url.href, bytes: offset, retries: failures }, 'stream completed after retries');
    return;
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
