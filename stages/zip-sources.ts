import { ReingestError, v, type FetchStage, type ListStage, type SegmentRef } from '../runner/stage.ts';
import { checkPin, parsePin, selectEntries } from './lib/listing-pin.ts';
import { parseSelection, selectionFromFlag, type Selection } from './lib/selection.ts';
import { listZip, materializeZip, streamZipEntry, zipPathFor, type ZipLimits } from './lib/zip-file.ts';

/*
 * Corpora shipped as .zip archives of WARC, WET or JSONL files. The list stage turns the archive's entries
 * into segments (each with its own digest downstream); the fetch stage streams one entry. Entry names that
 * would escape a folder are refused, and so are entries whose declared sizes or ratios look like a bomb,
 * or that inflate to more than they declared.
 */

export interface ZipEntriesParams extends ZipLimits {
  /** Path of the archive relative to the mirror. */
  readonly zip: string;
  /** Pinned sha256 of the archive. */
  readonly sha256?: string;
  /** Entry name endings to take (the rest are skipped). */
  readonly include: readonly string[];
  readonly select: Selection;
}

const SEP = '!/';

function limits(o: Record<string, unknown>, field: string): ZipLimits {
  return {
    maxRatio: v.optionalInteger(o.maxRatio, `${field}.maxRatio`, 200, 1),
    maxEntryBytes: v.optionalInteger(o.maxEntryBytes, `${field}.maxEntryBytes`, 16 * 1024 ** 3, 1),
  };
}

export const zipEntries: ListStage<ZipEntriesParams> = {
  kind: 'list',
  name: 'zip-entries',
  version: '1',
  description: 'Lists the WARC/WET/JSONL entries of a zip archive as segments, refusing unsafe names and bombs.',
  exampleParams: { zip: 'archives/crawl-sample.zip' },
  pinnedListing: (params) => params.sha256,
  withListingPin: (params, digest) => ({ ...params, sha256: digest }),
  parseParams(raw, field) {
    const o = v.object(raw, field, ['zip', 'sha256', 'include', 'select', 'maxRatio', 'maxEntryBytes']);
    return {
      zip: v.string(o.zip, `${field}.zip`, { pattern: /^[A-Za-z0-9._/-]+\.zip$/, what: 'a relative path to a .zip file' }),
      sha256: parsePin(o.sha256, `${field}.sha256`),
      include: o.include === undefined ? ['.warc.gz', '.warc', '.warc.wet.gz', '.wet.gz'] : v.array(o.include, `${field}.include`).map((s, i) => v.string(s, `${field}.include[${i}]`)),
      select: parseSelection(o.select, `${field}.select`),
      ...limits(o, field),
    };
  },
  keyParams({ zip, include, select }) {
    return { zip, include, select };
  },
  withSelection(params, text) {
    return { ...params, select: selectionFromFlag(text) };
  },
  async list(ctx) {
    const { params } = ctx;
    const url = new URL(params.zip, ctx.mirror);
    const { sha256Hex, size } = await materializeZip(url, ctx.workDir, ctx.signal, ctx.log);
    const digest = `sha256:${sha256Hex}` as const;
    checkPin(params.sha256, digest, size, url, 'the archive');
    const entries = (await listZip(zipPathFor(ctx.workDir, sha256Hex), params.zip, params))
      .filter((e) => params.include.some((suffix) => e.name.endsWith(suffix)))
      .sort((a, b) => Buffer.compare(Buffer.from(a.name), Buffer.from(b.name)));
    if (entries.length === 0) {
      throw new ReingestError('REINGEST_E_ZIP', `${params.zip}: no entry ends with ${params.include.join(', ')}; check include`, { where: params.zip });
    }
    const segments: SegmentRef[] = selectEntries(entries.length, params.select, 'REINGEST_E_ZIP', params.zip).map((i) => ({ index: i, path: `${params.zip}${SEP}${entries[i]!.name}` }));
    return { listing: { path: params.zip, size, sha256: digest }, segments };
  },
};

export type ZipEntryParams = ZipLimits;

export const zipEntry: FetchStage<ZipEntryParams> = {
  kind: 'fetch',
  name: 'zip-entry',
  version: '1',
  description: 'Streams one entry of a zip archive listed by zip-entries, checking it inflates to exactly its declared size.',
  parseParams(raw, field) {
    return limits(v.object(raw, field, ['maxRatio', 'maxEntryBytes']), field);
  },
  keyParams() {
    return {};
  },
  async *open(segment, ctx) {
    const at = segment.path.indexOf(SEP);
    if (at === -1) throw new ReingestError('REINGEST_E_SPEC', `segment ${segment.path}: expected "<archive.zip>!/<entry>" from a zip-entries source; pair zip-entry with zip-entries`, { where: segment.path });
    const zip = segment.path.slice(0, at);
    const name = segment.path.slice(at + SEP.length);
    const { sha256Hex } = await materializeZip(new URL(zip, ctx.mirror), ctx.workDir, ctx.signal, ctx.log);
    yield* streamZipEntry(zipPathFor(ctx.workDir, sha256Hex), name, segment.path, ctx.params, ctx.signal);
  },
};
