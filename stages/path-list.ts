import { gunzipSync } from 'node:zlib';
import { ReingestError, sha256, v, type ListStage, type SegmentRef } from '../runner/stage.ts';
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

const MAX_LISTING_BYTES = 64 * 1024 * 1024;
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
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of openUrl(url, ctx.signal, ctx.log)) {
      size += chunk.byteLength;
      if (size > MAX_LISTING_BYTES) {
        throw new ReingestError('REINGEST_E_PATH_LIST', `${url.href}: expected a path listing under ${MAX_LISTING_BYTES} bytes, got more; is this the right file?`, { where: url.href });
      }
      chunks.push(Buffer.from(chunk));
    }
    const bytes = Buffer.concat(chunks);
    const digest = sha256(bytes);
    checkPin(params.sha256, digest, size, url, 'the listing fetched');
    const text = (bytes[0] === 0x1f && bytes[1] === 0x8b ? gunzipSync(bytes) : bytes).toString('utf8');
    const lines = text.split('\n');
    if (lines.at(-1) === '') lines.pop();
    const segments: SegmentRef[] = [];
    lines.forEach((line, index) => {
      if (!PATH_RE.test(line)) {
        throw new ReingestError(
          'REINGEST_E_PATH_LIST',
          `${url.href} line ${index + 1}: expected a WARC/WET/WAT path like crawl-data/CC-MAIN-2025-18/segments/<seg>/warc/<name>.warc.gz, got ${JSON.stringify(line.slice(0, 100))}`,
          { where: `${url.href}:${index + 1}` },
        );
      }
    });
    for (const i of selectEntries(lines.length, params.select, 'REINGEST_E_PATH_LIST', url.href)) segments.push({ index: i, path: lines[i]! });
    if (segments.length === 0) {
      throw new ReingestError('REINGEST_E_PATH_LIST', `${url.href}: the selection ${JSON.stringify(params.select)} picks no segment of the ${lines.length} listed`, { where: url.href });
    }
    return { listing: { path: params.pathList, size, sha256: digest }, segments };
  },
};
