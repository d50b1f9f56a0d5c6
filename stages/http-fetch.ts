import { v, type FetchStage } from '../runner/stage.ts';
import { DEFAULT_POLICY, type HttpPolicy } from './lib/http-stream.ts';
import { openUrl } from './lib/open-url.ts';

export interface HttpFetchParams {
  readonly maxAttempts: number;
  readonly backoffMs: number;
  readonly maxBackoffMs: number;
  readonly stallSeconds: number;
  readonly maxStreams: number;
}

export const httpFetch: FetchStage<HttpFetchParams> = {
  kind: 'fetch',
  name: 'http-fetch',
  version: '1',
  description: 'Streams one segment with a single whole-file GET from the mirror, resuming and backing off politely.',
  parseParams(raw, field) {
    const o = v.object(raw, field, ['maxAttempts', 'backoffMs', 'maxBackoffMs', 'stallSeconds', 'maxStreams']);
    const backoffMs = v.optionalInteger(o.backoffMs, `${field}.backoffMs`, DEFAULT_POLICY.backoffMs, 1000, 600_000);
    return {
      maxAttempts: v.optionalInteger(o.maxAttempts, `${field}.maxAttempts`, DEFAULT_POLICY.maxAttempts, 1, 100),
      backoffMs,
      maxBackoffMs: v.optionalInteger(o.maxBackoffMs, `${field}.maxBackoffMs`, Math.max(DEFAULT_POLICY.maxBackoffMs, backoffMs), backoffMs, 3_600_000),
      stallSeconds: v.optionalInteger(o.stallSeconds, `${field}.stallSeconds`, DEFAULT_POLICY.stallMs / 1000, 1, 3600),
      maxStreams: v.optionalInteger(o.maxStreams, `${field}.maxStreams`, DEFAULT_POLICY.maxStreams, 1, 64),
    };
  },
  // How politely bytes are fetched never changes which bytes arrive: none of it is in a key or a manifest.
  runSettings: ['maxAttempts', 'backoffMs', 'maxBackoffMs', 'stallSeconds', 'maxStreams'],
  keyParams() {
    return {};
  },
  open(segment, ctx) {
    const { stallSeconds, ...rest } = ctx.params;
    const acquire = ctx.acquire;
    const policy: HttpPolicy = {
      ...rest,
      stallMs: stallSeconds * 1000,
      ...(ctx.retrying ? { onRetry: ctx.retrying } : {}),
      // One pool of stream slots per mirror host for the whole run, worker threads included.
      ...(acquire ? { acquireSlot: (max: number, signal: AbortSignal) => acquire(`http-streams ${new URL(ctx.mirror).host}`, max, signal) } : {}),
    };
    return openUrl(new URL(segment.path, ctx.mirror), ctx.signal, ctx.log, policy);
  },
};
