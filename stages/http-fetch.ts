import { v, type FetchStage } from '../runner/stage.ts';
import { DEFAULT_MAX_BYTES, DEFAULT_POLICY, type HttpPolicy } from './lib/http-stream.ts';
import { openUrl } from './lib/open-url.ts';

export interface HttpFetchParams {
  readonly maxAttempts: number;
  readonly backoffMs: number;
  readonly maxBackoffMs: number;
  readonly stallSeconds: number;
  readonly maxStreams: number;
  /**
   * Most bytes one segment may have (a server's declared size caps it further); more is REINGEST_E_SOURCE_TOO_LARGE.
   * On a rerun, a segment's pinned size caps it exactly (REINGEST_E_PIN_MISMATCH).
   */
  readonly maxSegmentBytes: number;
  /** A body slower than this, averaged over throughputWindowSeconds, is resumed like a stalled one (0: off). */
  readonly minBytesPerSecond: number;
  readonly throughputWindowSeconds: number;
}

const PARAMS = ['maxAttempts', 'backoffMs', 'maxBackoffMs', 'stallSeconds', 'maxStreams', 'maxSegmentBytes', 'minBytesPerSecond', 'throughputWindowSeconds'] as const;

export const httpFetch: FetchStage<HttpFetchParams> = {
  kind: 'fetch',
  name: 'http-fetch',
  version: '1',
  description: 'Streams one segment with a single whole-file GET from the mirror, resuming and backing off politely.',
  parseParams(raw, field) {
    const o = v.object(raw, field, PARAMS);
    const backoffMs = v.optionalInteger(o.backoffMs, `${field}.backoffMs`, DEFAULT_POLICY.backoffMs, 1000, 600_000);
    return {
      maxAttempts: v.optionalInteger(o.maxAttempts, `${field}.maxAttempts`, DEFAULT_POLICY.maxAttempts, 1, 100),
      backoffMs,
      maxBackoffMs: v.optionalInteger(o.maxBackoffMs, `${field}.maxBackoffMs`, Math.max(DEFAULT_POLICY.maxBackoffMs, backoffMs), backoffMs, 3_600_000),
      stallSeconds: v.optionalInteger(o.stallSeconds, `${field}.stallSeconds`, DEFAULT_POLICY.stallMs / 1000, 1, 3600),
      maxStreams: v.optionalInteger(o.maxStreams, `${field}.maxStreams`, DEFAULT_POLICY.maxStreams, 1, 64),
      maxSegmentBytes: v.optionalInteger(o.maxSegmentBytes, `${field}.maxSegmentBytes`, DEFAULT_MAX_BYTES, 1024 * 1024),
      minBytesPerSecond: v.optionalInteger(o.minBytesPerSecond, `${field}.minBytesPerSecond`, DEFAULT_POLICY.minBytesPerSecond!, 0, 1024 ** 3),
      throughputWindowSeconds: v.optionalInteger(o.throughputWindowSeconds, `${field}.throughputWindowSeconds`, DEFAULT_POLICY.throughputWindowMs! / 1000, 1, 3600),
    };
  },
  // How politely bytes are fetched never changes which bytes arrive, and a bound only decides whether they
  // arrive at all: none of it is in a key or a manifest.
  runSettings: PARAMS,
  keyParams() {
    return {};
  },
  open(segment, ctx) {
    const { stallSeconds, maxSegmentBytes, throughputWindowSeconds, ...rest } = ctx.params;
    const acquire = ctx.acquire;
    const policy: HttpPolicy = {
      ...rest,
      stallMs: stallSeconds * 1000,
      maxBytes: maxSegmentBytes,
      maxBytesFrom: 'http-fetch param maxSegmentBytes',
      // A rerun knows each segment's exact size from its manifest: the tightest cap there is, and never a key.
      ...(ctx.pin ? { pin: ctx.pin } : {}),
      throughputWindowMs: throughputWindowSeconds * 1000,
      ...(ctx.retrying ? { onRetry: ctx.retrying } : {}),
      // One pool of stream slots per mirror host for the whole run, worker threads included.
      ...(acquire ? { acquireSlot: (max: number, signal: AbortSignal) => acquire(`http-streams ${new URL(ctx.mirror).host}`, max, signal) } : {}),
    };
    return openUrl(new URL(segment.path, ctx.mirror), ctx.signal, ctx.log, policy);
  },
};
