import { brotliDecompressSync, gunzipSync, inflateRawSync, inflateSync } from 'node:zlib';
import { dechunk } from '../warc/digests.ts';

/** The HTTP response inside a WARC `response` record: status, headers, payload. */
export interface HttpResponse {
  readonly status: number;
  readonly headers: readonly (readonly [string, string])[];
  readonly body: Buffer;
}

export function parseHttpResponse(block: Buffer): HttpResponse | null {
  let end = block.indexOf('\r\n\r\n');
  let sep = 4;
  const lf = block.indexOf('\n\n');
  if (end === -1 || (lf !== -1 && lf < end)) {
    end = lf;
    sep = 2;
  }
  if (end === -1) return null;
  const lines = block.toString('latin1', 0, end).split(/\r?\n/);
  const m = /^HTTP\/\d(?:\.\d)? (\d{3})/.exec(lines[0] ?? '');
  if (!m) return null;
  const headers: [string, string][] = [];
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(':');
    if (colon > 0) headers.push([line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim()]);
  }
  return { status: Number(m[1]), headers, body: block.subarray(end + sep) };
}

export function httpHeader(res: HttpResponse, name: string): string | undefined {
  return res.headers.find(([k]) => k === name)?.[1];
}

/**
 * The entity body as the server meant it. Common Crawl stores bodies already de-chunked and decompressed
 * and renames the original headers to X-Crawler-*: those are never decoded again. Other archives keep
 * `Transfer-Encoding: chunked` and `Content-Encoding: gzip|deflate|br` bodies verbatim: decode them,
 * tolerantly (if decoding fails, the bytes are taken as they are and the caller is told).
 */
export function decodedBody(res: HttpResponse, maxBytes: number): { body: Buffer; note?: string } {
  if (res.headers.some(([k]) => k.startsWith('x-crawler-'))) return { body: res.body };
  let body = res.body;
  let note: string | undefined;
  if (/chunked/i.test(httpHeader(res, 'transfer-encoding') ?? '')) {
    const d = dechunk(body);
    if (d) body = d;
    else note = 'chunked-undecodable';
  }
  const enc = (httpHeader(res, 'content-encoding') ?? '').trim().toLowerCase();
  if (enc && enc !== 'identity' && enc !== 'none') {
    const opts = { maxOutputLength: maxBytes };
    try {
      if (enc === 'gzip' || enc === 'x-gzip') body = gunzipSync(body, opts);
      else if (enc === 'br') body = brotliDecompressSync(body, opts);
      else if (enc === 'deflate') {
        try {
          body = inflateSync(body, opts);
        } catch {
          body = inflateRawSync(body, opts); // servers often send raw deflate under this name
        }
      } else note = 'unknown-content-encoding';
    } catch {
      note = 'content-encoding-undecodable';
    }
  }
  return note === undefined ? { body } : { body, note };
}
