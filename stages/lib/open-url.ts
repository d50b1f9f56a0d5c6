import { createReadStream } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { ReingestError, type StageLog } from '../../runner/stage.ts';
import { byteLimit, DEFAULT_POLICY, overLimit, pinMismatch, streamHttp, type HttpPolicy } from './http-stream.ts';

export { USER_AGENT } from './user-agent.ts';

/**
 * Streams one whole object: http(s) through the polite, resumable client (one GET, Range resume,
 * backoff), or a file:// URL from disk. The consumer may stop early; the body is then destroyed.
 * Both stop at the policy's maxBytes: a local file may be a FIFO or /dev/zero as well as a server's body can be endless.
 * Both hold a pinned object to exactly its pinned size.
 */
export async function* openUrl(url: URL, signal: AbortSignal, log: StageLog, policy: HttpPolicy = DEFAULT_POLICY): AsyncGenerator<Uint8Array> {
  if (url.protocol === 'http:' || url.protocol === 'https:') {
    yield* streamHttp(url, signal, log, policy);
    return;
  }
  if (url.protocol !== 'file:') {
    throw new ReingestError('REINGEST_E_SOURCE_URL', `expected an http(s) or file URL, got ${url.href}`, { where: url.href });
  }
  const path = fileURLToPath(url);
  const limit = byteLimit(policy, null, '');
  let read = 0;
  try {
    for await (const chunk of createReadStream(path, { highWaterMark: 256 * 1024, signal }) as AsyncIterable<Buffer>) {
      read += chunk.byteLength;
      if (read > limit.bytes) throw overLimit(url, limit, `at least ${read} bytes`);
      yield chunk;
    }
    if (policy.pin && read < policy.pin.size) throw pinMismatch(url, policy.pin, `${read} bytes (the file ends there)`);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'EISDIR') {
      throw new ReingestError('REINGEST_E_SOURCE_MISSING', `expected a file at ${path}, found ${code === 'ENOENT' ? 'none' : 'a directory'}; check the mirror and the path list`, { where: url.href });
    }
    throw err;
  }
}
