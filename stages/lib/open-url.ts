import { createReadStream } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { request } from 'undici';
import { ReingestError, type StageLog } from '../../runner/stage.ts';

export const USER_AGENT = 'reingest/0.1 (reproducible training-data rebuilds; +https://github.com/reingest/reingest)';

/**
 * Streams one whole object: an http(s) URL with a single GET (never per-record ranges), or a file:// URL.
 * The body is consumed by the caller or destroyed on abort, so no connection is left dangling.
 * Retries, backoff and Range resume belong to the HTTP issue; a failure here is a typed error naming the URL.
 */
export async function* openUrl(url: URL, signal: AbortSignal, log: StageLog): AsyncGenerator<Uint8Array> {
  if (url.protocol === 'file:') {
    const path = fileURLToPath(url);
    try {
      yield* createReadStream(path, { highWaterMark: 256 * 1024, signal }) as AsyncIterable<Buffer>;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
        throw new ReingestError('REINGEST_E_SOURCE_MISSING', `expected a file at ${path}, found none; check the mirror and the path list`, { where: url.href });
      }
      throw err;
    }
    return;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new ReingestError('REINGEST_E_SOURCE_URL', `expected an http(s) or file URL, got ${url.href}`, { where: url.href });
  }
  let res;
  try {
    res = await request(url, {
      method: 'GET',
      signal,
      headers: { 'user-agent': USER_AGENT, 'accept-encoding': 'identity' },
      headersTimeout: 60_000,
      bodyTimeout: 120_000,
    });
  } catch (err) {
    if (signal.aborted) throw signal.reason;
    throw new ReingestError('REINGEST_E_SOURCE_UNREACHABLE', `could not GET ${url.href}: ${(err as Error).message}; check the network and the mirror URL`, {
      where: url.href,
      cause: err,
    });
  }
  if (res.statusCode !== 200) {
    await res.body.dump().catch(() => {});
    throw new ReingestError(
      res.statusCode === 404 || res.statusCode === 403 ? 'REINGEST_E_SOURCE_MISSING' : 'REINGEST_E_SOURCE_HTTP',
      `GET ${url.href}: expected status 200, got ${res.statusCode}; check the path list and the mirror`,
      { where: url.href },
    );
  }
  log.debug({ url: url.href, length: res.headers['content-length'] }, 'streaming');
  try {
    for await (const chunk of res.body) yield chunk as Buffer;
  } finally {
    if (!res.body.destroyed) res.body.destroy();
  }
}
