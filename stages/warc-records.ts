import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { v, type DecodeStage, type DataRecord } from '../runner/stage.ts';
import { header, parseWarc } from './warc/parse.ts';

export type WarcRecordsParams = Record<string, never>;

/** Decompresses when the bytes start with the gzip magic (per-record members are concatenated gzip). */
async function* maybeGunzip(input: AsyncIterable<Uint8Array>, signal: AbortSignal): AsyncGenerator<Uint8Array> {
  const it = input[Symbol.asyncIterator]();
  // Sniff the first two bytes, however the stream happens to be chunked.
  const head: Uint8Array[] = [];
  let headBytes = 0;
  while (headBytes < 2) {
    const next = await it.next();
    if (next.done) break;
    head.push(next.value);
    headBytes += next.value.byteLength;
  }
  const start = Buffer.concat(head);
  async function* all(): AsyncGenerator<Uint8Array> {
    if (start.length > 0) yield start;
    for (let next = await it.next(); !next.done; next = await it.next()) yield next.value;
  }
  if (start[0] !== 0x1f || start[1] !== 0x8b) {
    yield* all();
    return;
  }
  const gunzip = createGunzip({ chunkSize: 64 * 1024 });
  // pipeline() destroys the gunzip stream with the source's error (or the abort), which ends the loop below.
  pipeline(Readable.from(all(), { objectMode: false }), gunzip, { signal }).catch(() => {});
  yield* gunzip as AsyncIterable<Buffer>;
}

export const warcRecords: DecodeStage<WarcRecordsParams> = {
  kind: 'decode',
  name: 'warc-records',
  version: '1',
  description: 'Reads WARC records (plain or gzip, per-record members) from a byte stream.',
  parseParams(raw, field) {
    v.object(raw, field, []);
    return {};
  },
  async *run(input, ctx) {
    for await (const rec of parseWarc(maybeGunzip(input, ctx.signal), ctx.segment?.path ?? 'input')) {
      const out: DataRecord = {
        offset: rec.offset,
        type: header(rec, 'WARC-Type') ?? null,
        uri: header(rec, 'WARC-Target-URI')?.replace(/^<(.*)>$/, '$1') ?? null,
        id: header(rec, 'WARC-Record-ID') ?? null,
        date: header(rec, 'WARC-Date') ?? null,
        contentType: header(rec, 'Content-Type') ?? null,
        truncated: header(rec, 'WARC-Truncated') ?? null,
        block: rec.block,
      };
      yield out;
    }
  },
};
