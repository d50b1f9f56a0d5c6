import { gunzipSync } from 'node:zlib';
import { ReingestError, sha256, v, type ListStage, type SegmentRef } from '../runner/stage.ts';
import { DEFAULT_POLICY, type HttpPolicy } from './lib/http-stream.ts';
import { openUrl } from './lib/open-url.ts';
import { checkPin, parsePin, selectEntries } from './lib/listing-pin.ts';
import { parseSelection, selectionFromFlag, type Selection } from './lib/selection.ts';

export interface PathListParams {
  /** Path of the listing relative to the mirror, e.g. `crawl-data/CC-MAIN-2025-18/warc.paths.gz`. */
  readonly pathList: string;
  /** Pinned sha256 of the listing as fetched; the run fails if the bytes differ. */
  readonly sha256?: string;
  /** Which listed files the run takes: see stages/lib/selection.ts. */
  readonly select: Selection;
}

/**
 * Common Crawl's warc.paths.gz is ~200 KB and inflates to ~10 MB; 64 MiB either way is room to spare and
 * keeps a gzip bomb (1 MB inflating to 1 GiB took 2.2 GB of memory) to one bounded buffer.
 */
export const MAX_LISTING_BYTES = 64 * 1024 * 1024;
export const MAX_INFLATED_LISTING_BYTES = 64 * 1024 * 1024;
const LISTING_POLICY: HttpPolicy = { ...DEFAULT_POLICY, maxBytes: MAX_LISTING_BYTES, maxBytesFrom: 'the cc-path-list cap on a listing download' };
const PATH_RE = /^crawl-data\/[A-Za-z0-9._-]+\/segments\/[A-Za-z0-9._-]+\/(warc|wet|wat)\/[A-Za-z0-9._-]+\.warc(\.wet|\.wat)?\.gz$/;

export const pathList: ListStage<PathListParams> = {
  kind: 'list',
  name: 'cc-path-list',
  version: '2',
  description: 'Fetches a Common Crawl path listing (warc.paths.gz), checks it, and selects segments deterministically.',
  exampleParams: { pathList: 'crawl-data/CC-MAIN-2025-18/warc.paths.gz' },
  pinnedListing: (params) => params.sha256,
  withListingPin: (params, digest) => ({ ...params, sha256: digest }),
  parseParams(raw, field) {
    const o = v.object(raw, field, ['pathList', 'sha256', 'select']);
    return {
      pathList: v.string(o.pathList, `${field}.pathList`, { pattern: /^[A-Za-z0-9._/-]+$/, what: 'a relative path such as crawl-data/CC-MAIN-2025-18/warc.paths.gz' }),
      sha256: parsePin(o.sha256, `${field}.sha256`),
      select: parseSelection(o.select, `${field}.select`),
    };
  },
  keyParams({ pathList, select }) {
    return { pathList, select };
  },
  withSelection(params, text) {
    return { ...params, select: selectionFromFlag(text) };
  },
  async list(ctx) {
    const { params } = ctx;
    const url = new URL(params.pathList, ctx.mirror);
    const bytes = await download(url, ctx.signal, ctx.log);
    const size = bytes.byteLength;
    const digest = sha256(bytes);
    checkPin(params.sha256, digest, size, url, 'the listing fetched');
    const lines = listedPaths(inflate(bytes, url).toString('utf8'), url);
    const segments: SegmentRef[] = [];
    for (const i of selectEntries(lines.length, params.select, 'REINGEST_E_PATH_LIST', url.href)) segments.push({ index: i, path: lines[i]! });
    if (segments.length === 0) {
      throw new ReingestError('REINGEST_E_PATH_LIST', `${url.href}: the selection ${JSON.stringify(params.select)} picks no segment of the ${lines.length} listed`, { where: url.href });
    }
    return { listing: { path: params.pathList, size, sha256: digest }, segments };
  },
};

function tooLarge(url: URL, what: string, cause?: unknown): ReingestError {
  return new ReingestError(
    'REINGEST_E_LISTING_TOO_LARGE',
    `${url.href}: expected a path listing of at most ${MAX_LISTING_BYTES} bytes (${MAX_INFLATED_LISTING_BYTES} inflated), got ${what}; is this the right file? (Common Crawl's warc.paths.gz inflates to about 10 MB)`,
    { where: url.href, ...(cause === undefined ? {} : { cause }) },
  );
}

/** The listing's bytes as fetched, refused past MAX_LISTING_BYTES (a declared size, before any byte is read). */
async function download(url: URL, signal: AbortSignal, log: Parameters<typeof openUrl>[2]): Promise<Buffer> {
  const chunks: Buffer[] = [];
  try {
    for await (const chunk of openUrl(url, signal, log, LISTING_POLICY)) chunks.push(Buffer.from(chunk));
  } catch (err) {
    if ((err as { code?: string }).code === 'REINGEST_E_SOURCE_TOO_LARGE') throw tooLarge(url, `more (${(err as Error).message})`, err);
    throw err;
  }
  return Buffer.concat(chunks);
}

/** Gunzips a gzip listing (plain text passes through), stopping as soon as the output passes the cap. */
function inflate(bytes: Buffer, url: URL): Buffer {
  if (bytes[0] !== 0x1f || bytes[1] !== 0x8b) return bytes;
  try {
    return gunzipSync(bytes, { maxOutputLength: MAX_INFLATED_LISTING_BYTES });
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (code === 'ERR_BUFFER_TOO_LARGE') throw tooLarge(url, `${bytes.byteLength} bytes that inflate past ${MAX_INFLATED_LISTING_BYTES}`, err);
    if (code?.startsWith('Z_')) {
      throw new ReingestError('REINGEST_E_PATH_LIST', `${url.href}: expected a gzip path listing, got bytes that do not inflate (${(err as Error).message}); is this the right file?`, { where: url.href, cause: err });
    }
    throw err;
  }
}

/**
 * The listed paths, each checked as it is reached: a listing of millions of empty lines (a bomb of
 * newlines) fails at its first line rather than being split into an array of millions of strings first.
 */
function listedPaths(text: string, url: URL): string[] {
  const lines: string[] = [];
  for (let at = 0; at < text.length; ) {
    const nl = text.indexOf('\n', at);
    const end = nl < 0 ? text.length : nl;
    const line = text.slice(at, end);
    if (!PATH_RE.test(line)) {
      throw new ReingestError(
        'REINGEST_E_PATH_LIST',
        `${url.href} line ${lines.length + 1}: expected a WARC/WET/WAT path like crawl-data/CC-MAIN-2025-18/segments/<seg>/warc/<name>.warc.gz, got ${JSON.stringify(line.slice(0, 100))}`,
        { where: `${url.href}:${lines.length + 1}` },
      );
    }
    lines.push(line);
    at = end + 1;
  }
  return lines;
}
