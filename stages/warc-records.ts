import { ReingestError, v, type DataRecord, type DecodeStage } from '../runner/stage.ts';
import { members } from './warc/inflate-thread.ts';
import { header, parseWarc, type WarcRecord } from './warc/parse.ts';

export interface WarcRecordsParams {
  /** Blocks above this many bytes are skipped and flagged `oversize` (Common Crawl caps payloads at 5 MiB). */
  readonly maxRecordBytes: number;
  /** Check block and payload digests (two SHA-1 passes over every record, ~0.2 s per 200 MB inflated; see digests.ts). */
  readonly verifyDigests: boolean;
}

/** A file-level finding: bytes the reader skipped to resynchronise on the next record. */
export interface WarcFinding {
  /**
   * skipped-bytes: junk between gzip members, or between records of a plain file, with records after it;
   * trailing-garbage: junk running to the end of the file; skipped-inflated-bytes: junk inside gzip members
   * (offset and length then count inflated bytes, there being no file offset for them).
   */
  readonly kind: 'skipped-bytes' | 'trailing-garbage' | 'skipped-inflated-bytes';
  readonly offset: number;
  readonly length: number;
}

export interface ReadWarcOptions {
  readonly where: string;
  readonly maxRecordBytes: number;
  readonly verifyDigests: boolean;
  readonly signal: AbortSignal;
  /** Told about file-level findings (trailing garbage, streaming fallback) with a count. */
  readonly note: (what: string, n?: number) => void;
  /** Told about each file-level finding with where it sits, in file order (the counters say only how much). */
  readonly finding?: (f: WarcFinding) => void;
}

/** Sniffs the format by magic bytes, whatever the file is called. */
export async function* readWarc(input: AsyncIterable<Uint8Array>, opts: ReadWarcOptions): AsyncGenerator<WarcRecord> {
  const { where, maxRecordBytes, signal, note } = opts;
  const found = (kind: WarcFinding['kind'], offset: number, length: number) => {
    note(kind === 'trailing-garbage' ? 'trailing-garbage-bytes' : kind, length);
    opts.finding?.({ kind, offset, length });
  };
  const parse = { where, maxBlock: maxRecordBytes, verifyDigests: opts.verifyDigests };
  const it = input[Symbol.asyncIterator]();
  const head: Uint8Array[] = [];
  let headBytes = 0;
  while (headBytes < 16) {
    const next = await it.next();
    if (next.done) break;
    head.push(next.value);
    headBytes += next.value.byteLength;
  }
  const start = Buffer.concat(head);
  async function* all(): AsyncGenerator<Uint8Array> {
    if (start.length > 0) yield start;
    try {
      for (let next = await it.next(); !next.done; next = await it.next()) yield next.value;
    } finally {
      await it.return?.(); // a reader that stopped early releases the source (an HTTP body, a file)
    }
  }
  if (start.length === 0) return;
  if (start[0] === 0x1f && (start[1] === 0x8b || start.length === 1)) {
    const pieces = members(all(), {
      maxMember: maxRecordBytes + 1024 * 1024,
      where,
      signal,
      onTrailingGarbage: (offset, n) => found('trailing-garbage', offset, n),
      onSkippedBytes: (offset, n) => found('skipped-bytes', offset, n),
      onStreamingFallback: () => note('gzip-streaming-fallback'),
    });
    yield* parseWarc(pieces, { ...parse, onSkipped: (offset, n) => found('skipped-inflated-bytes', offset, n) });
    return;
  }
  const magic = start.toString('latin1', 0, 11);
  if (magic.startsWith('WARC/')) {
    yield* parseWarc(all(), { ...parse, onSkipped: (offset, n, atEnd) => found(atEnd ? 'trailing-garbage' : 'skipped-bytes', offset, n) });
    return;
  }
  const hint = start.length >= 4 && start.readUInt32LE(0) === 0xfd2fb528 ? 'zstd-compressed (.warc.zst), which this version does not read yet' : magic.startsWith('filedesc://') ? 'a legacy ARC file, not WARC' : 'neither gzip nor WARC';
  throw new ReingestError('REINGEST_E_WARC_FORMAT', `${where}: expected a WARC file (gzip or plain), the first bytes say it is ${hint}`, { where: `${where}@0` });
}

export function toRecord(rec: WarcRecord): DataRecord {
  return {
    offset: rec.offset,
    fileOffset: rec.fileOffset,
    fileLength: rec.fileLength,
    type: header(rec, 'WARC-Type') ?? null,
    uri: header(rec, 'WARC-Target-URI')?.replace(/^<(.*)>$/, '$1') ?? null,
    id: header(rec, 'WARC-Record-ID') ?? null,
    date: header(rec, 'WARC-Date') ?? null,
    contentType: header(rec, 'Content-Type') ?? null,
    truncated: header(rec, 'WARC-Truncated') ?? null,
    refersTo: header(rec, 'WARC-Refers-To') ?? null,
    blockDigest: rec.blockDigest,
    payloadDigest: rec.payloadDigest,
    flags: rec.flags,
    block: rec.block,
  };
}

export const warcRecords: DecodeStage<WarcRecordsParams> = {
  kind: 'decode',
  name: 'warc-records',
  version: '2',
  description: 'Reads WARC records (per-record gzip, whole-file gzip or plain), with file offsets, digest verdicts and flags.',
  parseParams(raw, field) {
    const o = v.object(raw, field, ['maxRecordBytes', 'verifyDigests']);
    return {
      maxRecordBytes: v.optionalInteger(o.maxRecordBytes, `${field}.maxRecordBytes`, 64 * 1024 * 1024, 1024, 1024 * 1024 * 1024),
      verifyDigests: v.boolean(o.verifyDigests, `${field}.verifyDigests`, true),
    };
  },
  async *run(input, ctx) {
    const where = ctx.segment?.path ?? 'input';
    const opts = { ...ctx.params, where, signal: ctx.signal, note: (what: string, n?: number) => ctx.counters.add(what, n) };
    for await (const rec of readWarc(input, opts)) {
      for (const f of rec.flags) ctx.counters.add(f);
      if (rec.blockDigest === 'mismatch') ctx.counters.add('block-digest-mismatch');
      if (rec.payloadDigest === 'mismatch') ctx.counters.add('payload-digest-mismatch');
      yield toRecord(rec);
    }
  },
};
