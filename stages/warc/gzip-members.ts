import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip, crc32, inflateRawSync } from 'node:zlib';
import { ReingestError } from '../../runner/stage.ts';

/** Inflated bytes with the gzip member they came from (null offsets once the walk fell back to streaming). */
export interface Piece {
  readonly data: Buffer;
  readonly compressedOffset: number | null;
  readonly compressedLength: number | null;
}

export interface MemberWalkOptions {
  /** Largest member inflated in one piece; a bigger one switches the rest of the file to streaming. */
  readonly maxMember: number;
  readonly where: string;
  /** Told about bytes after the last member that are not gzip (flagged, not fatal). */
  readonly onTrailingGarbage: (offset: number, bytes: number) => void;
  readonly onStreamingFallback: (offset: number) => void;
  readonly signal: AbortSignal;
}

type Inflated = { buffer: Buffer; engine: { bytesWritten: number } };

/** Compressed bytes held ahead of a member before inflating it (Common Crawl members are mostly < 64 KiB). */
const READ_AHEAD = 256 * 1024;
/**
 * Output chunk of each inflate: most inflated records fit in one, so no concat. 64 KiB measured ~10% faster than
 * the 16 KiB default; 32 KiB, 256 KiB and sizing it from the previous members were no better.
 */
const INFLATE_CHUNK = 64 * 1024;
const FTEXT_MASK = 0xe0; // reserved flag bits must be zero
const FHCRC = 2;
const FEXTRA = 4;
const FNAME = 8;
const FCOMMENT = 16;

/**
 * Walks a gzip file member by member, so every record of a per-record-gzip WARC gets the compressed offset
 * and length that Common Crawl's CDX index holds. Each member is inflated in one call (the fast path) and
 * checked against its CRC32 and size trailer. A member cut short is an error naming its offset.
 */
export async function* gzipMembers(input: AsyncIterable<Uint8Array>, opts: MemberWalkOptions): AsyncGenerator<Piece> {
  const it = input[Symbol.asyncIterator]();
  let buf: Buffer = Buffer.alloc(0);
  let pos = 0;
  let base = 0; // file offset of buf[0]
  let eof = false;

  /** Makes at least n bytes available from pos; false at end of input. */
  const want = async (n: number): Promise<boolean> => {
    if (buf.length - pos >= n) return true;
    const parts: Buffer[] = [buf.subarray(pos)];
    let have = buf.length - pos;
    base += pos;
    pos = 0;
    while (have < n && !eof) {
      const next = await it.next();
      if (next.done) {
        eof = true;
        break;
      }
      const c = Buffer.from(next.value.buffer, next.value.byteOffset, next.value.byteLength);
      parts.push(c);
      have += c.length;
    }
    buf = parts.length === 1 ? parts[0]! : Buffer.concat(parts, have);
    return have >= n;
  };

  for (;;) {
    if (!(await want(1))) return;
    const memberStart = base + pos;
    const complete = await want(10);
    if (isMagicPrefix(buf.subarray(pos, pos + 3)) && !complete) throw truncated(opts.where, memberStart, 'inside the gzip header');
    if (!complete || buf[pos] !== 0x1f || buf[pos + 1] !== 0x8b || buf[pos + 2] !== 8 || (buf[pos + 3]! & FTEXT_MASK) !== 0) {
      // Not a gzip member: garbage after the last one. Count it (without keeping it) and stop.
      let n = buf.length - pos;
      if (!eof) for (let next = await it.next(); !next.done; next = await it.next()) n += next.value.byteLength;
      opts.onTrailingGarbage(memberStart, n);
      return;
    }
    const header = await headerLength(want, () => ({ buf, pos }));
    if (header === null) throw truncated(opts.where, memberStart, 'inside the gzip header');
    // want() may move bytes to a new buffer, so positions are always taken relative to pos, after it.

    // Read ahead before inflating: a member cut by the end of the buffer is inflated again from its start
    // once more bytes are in, so each cut costs a wasted partial inflate and a thrown error.
    if (buf.length - pos < READ_AHEAD) await want(READ_AHEAD);
    let inflated: Inflated | null = null;
    let ahead = Math.max(READ_AHEAD, buf.length - pos - header.length);
    for (;;) {
      try {
        inflated = inflateRawSync(buf.subarray(pos + header.length), { info: true, maxOutputLength: opts.maxMember, chunkSize: INFLATE_CHUNK }) as unknown as Inflated;
        break;
      } catch (err) {
        const code = (err as { code?: string }).code;
        if (code === 'ERR_BUFFER_TOO_LARGE') break;
        if (code !== 'Z_BUF_ERROR') {
          throw new ReingestError('REINGEST_E_GZIP_CORRUPT', `${opts.where}: the gzip member at offset ${memberStart} is corrupt (${(err as Error).message}); the file is damaged`, {
            where: `${opts.where}@${memberStart}`,
          });
        }
        if (eof) throw truncated(opts.where, memberStart, 'inside the deflate data');
        if (buf.length - pos - header.length > opts.maxMember) break;
        ahead *= 2;
        await want(header.length + ahead);
      }
    }
    if (inflated === null) {
      opts.onStreamingFallback(memberStart);
      yield* streamRest(buf.subarray(pos), it, opts);
      return;
    }
    const consumed = inflated.engine.bytesWritten;
    if (!(await want(header.length + consumed + 8))) throw truncated(opts.where, memberStart, 'inside the gzip trailer');
    const trailerAt = pos + header.length + consumed;
    const crc = buf.readUInt32LE(trailerAt);
    const isize = buf.readUInt32LE(trailerAt + 4);
    if (crc !== crc32(inflated.buffer) || isize !== inflated.buffer.length % 2 ** 32) {
      throw new ReingestError('REINGEST_E_GZIP_CORRUPT', `${opts.where}: the gzip member at offset ${memberStart} fails its CRC32/size check; the file is damaged`, {
        where: `${opts.where}@${memberStart}`,
      });
    }
    const length = header.length + consumed + 8;
    pos += length;
    yield { data: inflated.buffer, compressedOffset: memberStart, compressedLength: length };
  }
}

/** Length of the gzip header at the reader's position (FEXTRA, FNAME, FCOMMENT, FHCRC); null if cut short. */
async function headerLength(want: (n: number) => Promise<boolean>, view: () => { buf: Buffer; pos: number }): Promise<{ length: number } | null> {
  let v = view();
  const flags = v.buf[v.pos + 3]!;
  let len = 10;
  if (flags & FEXTRA) {
    if (!(await want(len + 2))) return null;
    v = view();
    len += 2 + v.buf.readUInt16LE(v.pos + len);
  }
  for (const flag of [FNAME, FCOMMENT]) {
    if (!(flags & flag)) continue;
    for (;;) {
      if (!(await want(len + 1))) return null;
      v = view();
      const zero = v.buf.indexOf(0, v.pos + len);
      if (zero !== -1) {
        len = zero - v.pos + 1;
        break;
      }
      len = v.buf.length - v.pos;
    }
  }
  if (flags & FHCRC) len += 2;
  if (!(await want(len))) return null;
  return { length: len };
}

/** The bytes so far could be the start of a gzip member (1f 8b 08). */
function isMagicPrefix(b: Buffer): boolean {
  const magic = [0x1f, 0x8b, 0x08];
  return b.length > 0 && [...b].every((x, i) => x === magic[i]);
}

function truncated(where: string, offset: number, what: string): ReingestError {
  return new ReingestError('REINGEST_E_GZIP_TRUNCATED', `${where}: the gzip member at offset ${offset} is cut short (${what}); the file is truncated — refetch it`, {
    where: `${where}@${offset}`,
  });
}

/** The fallback for a member too large to inflate at once (e.g. a whole file compressed as one member). */
async function* streamRest(head: Buffer, it: AsyncIterator<Uint8Array>, opts: MemberWalkOptions): AsyncGenerator<Piece> {
  async function* source(): AsyncGenerator<Uint8Array> {
    yield head;
    for (let n = await it.next(); !n.done; n = await it.next()) yield n.value;
  }
  const gunzip = createGunzip({ chunkSize: 64 * 1024 });
  const done = pipeline(Readable.from(source(), { objectMode: false }), gunzip, { signal: opts.signal });
  done.catch(() => {});
  try {
    for await (const data of gunzip as AsyncIterable<Buffer>) yield { data, compressedOffset: null, compressedLength: null };
  } catch (err) {
    if ((err as { code?: string }).code === 'Z_BUF_ERROR') throw truncated(opts.where, -1, 'in the streamed part');
    throw err;
  }
  await done;
}
