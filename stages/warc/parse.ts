import { ReingestError } from '../../runner/stage.ts';
import { ByteReader } from './byte-reader.ts';
import { checkDigest, dechunk, type DigestVerdict } from './digests.ts';
import type { Piece } from './gzip-members.ts';

export interface WarcRecord {
  /** Offset of the record's version line in the uncompressed stream. */
  readonly offset: number;
  /** Where the record sits in the file as stored: its gzip member, or its byte span in a plain file. */
  readonly fileOffset: number | null;
  readonly fileLength: number | null;
  readonly version: string;
  /** Header fields in file order, names as written; repeated fields kept. */
  readonly headers: readonly (readonly [string, string])[];
  /** The block, or null when it exceeded the cap (then `flags` says `oversize`). */
  readonly block: Buffer | null;
  readonly blockDigest: DigestVerdict;
  readonly payloadDigest: DigestVerdict;
  /**
   * Problems found and worked around: oversize; content-length-too-small (the block ran on to the next
   * record); content-length-too-large (the block ran past the next record's version line, or past the end
   * of a file that ends cleanly: the block is cut there).
   */
  readonly flags: readonly string[];
}

export interface ParseOptions {
  readonly where: string;
  /** Blocks larger than this are skipped (streamed past, not held) and flagged `oversize`. */
  readonly maxBlock: number;
  /** How far to look for the next record when a Content-Length is wrong. */
  readonly maxResync?: number;
  /** Check WARC-Block-Digest and WARC-Payload-Digest (default true; off, verdicts are `not-checked`). */
  readonly verifyDigests?: boolean;
  /**
   * Told about bytes skipped where a record should start (junk), to resynchronise on the next version line
   * at a line start: their offset in the parsed stream and length; atEnd when no record followed them.
   */
  readonly onSkipped?: (offset: number, bytes: number, atEnd: boolean) => void;
}

const MAX_HEADER_LINE = 64 * 1024;
const KNOWN_VERSIONS = new Set(['WARC/0.17', 'WARC/0.18', 'WARC/1.0', 'WARC/1.1']);
const NEXT_LINE_WARC = Buffer.from('\nWARC/');
/** A version line as it opens a record (checked on its first bytes; `WARC/` alone is too weak after junk). */
const VERSION_LINE = /^WARC\/\d+\.\d+\r?\n/;
/** Bytes looked at to recognise a version line. */
const VERSION_PEEK = 24;

export function header(rec: { headers: readonly (readonly [string, string])[] }, name: string): string | undefined {
  const lower = name.toLowerCase();
  for (const [k, val] of rec.headers) if (k.toLowerCase() === lower) return val;
  return undefined;
}

interface Member {
  readonly start: number;
  readonly end: number;
  readonly fileOffset: number | null;
  readonly fileLength: number | null;
}

/**
 * Parses WARC records one at a time from plain bytes or from gzip member pieces. Accepts WARC/0.17-1.1,
 * LF-only lines, folded and repeated fields. A wrong Content-Length is flagged and the parser resynchronises
 * on the next record; digests are checked and the verdicts recorded; nothing is silently dropped.
 */
export async function* parseWarc(input: AsyncIterable<Uint8Array | Piece>, opts: ParseOptions): AsyncGenerator<WarcRecord> {
  const { where } = opts;
  const maxResync = opts.maxResync ?? 16 * 1024 * 1024;
  const verify = opts.verifyDigests ?? true;
  const members: Member[] = [];
  let plain = true;
  let uncompressed = 0;
  async function* bytes(): AsyncGenerator<Uint8Array> {
    for await (const p of input) {
      if (p instanceof Uint8Array) {
        uncompressed += p.byteLength;
        yield p;
        continue;
      }
      plain = false;
      members.push({ start: uncompressed, end: uncompressed + p.data.length, fileOffset: p.compressedOffset, fileLength: p.compressedLength });
      uncompressed += p.data.length;
      yield p.data;
    }
  }
  const r = new ByteReader(bytes(), where);
  const onSkipped = opts.onSkipped ?? (() => {});
  try {
    for (;;) {
      await skipLineEnds(r);
      if ((await r.peek(1)).length === 0) return;
      let offset = r.offset;
      if (!(await atVersionLine(r))) {
        const found = await resync(r);
        onSkipped(offset, r.offset - offset, !found);
        if (!found) return;
        offset = r.offset;
      }
      const version = (await r.readLine(MAX_HEADER_LINE))!.toString('latin1');
      const headers = await readHeaders(r, where, offset);
      const lenText = header({ headers }, 'content-length');
      const len = lenText !== undefined && /^\d+$/.test(lenText) ? Number(lenText) : NaN;
      if (!Number.isSafeInteger(len)) {
        throw new ReingestError('REINGEST_E_WARC_FORMAT', `${where}: expected a Content-Length in the record at offset ${offset}, got ${JSON.stringify(lenText ?? null)}`, {
          where: `${where}@${offset}`,
        });
      }
      const flags: string[] = KNOWN_VERSIONS.has(version) ? [] : ['unknown-version'];
      let block: Buffer | null;
      const blockStart = r.offset;
      if (len > opts.maxBlock) {
        await r.skip(len);
        block = null;
        flags.push('oversize');
      } else {
        block = await r.readUpTo(len);
      }
      // A record ends with CRLF CRLF (LF LF in LF-only files); anything else means the Content-Length was
      // wrong — unless the block ended with its terminator and junk follows, which the next turn skips.
      const sep = await readSeparator(r);
      if (block !== null && (block.length < len || !(await atRecordOrEnd(r)))) {
        const inside = nextRecordInside(block);
        if (inside !== -1) {
          r.unshift(Buffer.concat([block.subarray(inside), sep]));
          block = withoutTerminator(block.subarray(0, inside));
          flags.push('content-length-too-large');
        } else if (block.length < len) {
          // The stream ended inside the block: a clean end (the terminator is there) means the length was
          // too large; otherwise the file was cut.
          if (endsWithTerminator(block) === 0) throw truncatedBlock(where, len, blockStart, block.length);
          block = withoutTerminator(block);
          flags.push('content-length-too-large');
        } else if (countLineEnds(sep) < 2) {
          const rest = await r.readUntil(NEXT_LINE_WARC, maxResync);
          if (rest === null) {
            throw new ReingestError('REINGEST_E_WARC_FORMAT', `${where}: the record at offset ${offset} is not followed by another within ${maxResync} bytes; its Content-Length ${len} is wrong and no record follows`, {
              where: `${where}@${offset}`,
            });
          }
          block = trimLineEnds(Buffer.concat([block, sep, rest]));
          flags.push('content-length-too-small');
          await readSeparator(r);
        }
      }
      const end = r.offset;
      const member = plain ? { fileOffset: offset, fileLength: end - offset } : locate(members, offset, end);
      yield {
        offset,
        ...member,
        version,
        headers,
        block,
        blockDigest: block === null || !verify ? 'not-checked' : checkDigest(header({ headers }, 'WARC-Block-Digest'), block),
        payloadDigest: block === null || !verify ? 'not-checked' : payloadVerdict(headers, block),
        flags,
      };
    }
  } finally {
    await r.close(); // ends the pieces upstream too: an inflate thread stops with its reader
  }
}

/** The next bytes open a record with a version line. */
async function atVersionLine(r: ByteReader): Promise<boolean> {
  return VERSION_LINE.test((await r.peek(VERSION_PEEK)).toString('latin1'));
}

async function atRecordOrEnd(r: ByteReader): Promise<boolean> {
  return (await r.peek(1)).length === 0 || (await atVersionLine(r));
}

/**
 * Skips junk to the next version line at a line start; false (all skipped) if the stream ends first. The
 * caller stands at a byte that does not open a record, so the search starts past it.
 */
async function resync(r: ByteReader): Promise<boolean> {
  for (;;) {
    await r.skip(1);
    if (!(await r.skipUntil(NEXT_LINE_WARC))) return false;
    await r.skip(1); // the line feed ends the junk
    if (await atVersionLine(r)) return true;
  }
}

/**
 * Where a block read with a too-large Content-Length holds the next record: the first version line that
 * follows a blank line (CRLF CRLF or LF LF), so a "WARC/" inside content does not cut it; -1 if none.
 */
function nextRecordInside(block: Buffer): number {
  for (let at = block.indexOf(NEXT_LINE_WARC); at !== -1; at = block.indexOf(NEXT_LINE_WARC, at + 1)) {
    const start = at + 1;
    if (endsWithTerminator(block.subarray(0, start)) > 0 && VERSION_LINE.test(block.toString('latin1', start, start + VERSION_PEEK))) return start;
  }
  return -1;
}

/** Length of the record terminator the bytes end with: 4 for CRLF CRLF, 2 for LF LF, else 0. */
function endsWithTerminator(b: Buffer): number {
  const n = b.length;
  if (n >= 4 && b[n - 4] === 0x0d && b[n - 3] === 0x0a && b[n - 2] === 0x0d && b[n - 1] === 0x0a) return 4;
  if (n >= 2 && b[n - 2] === 0x0a && b[n - 1] === 0x0a) return 2;
  return 0;
}

function withoutTerminator(b: Buffer): Buffer {
  return b.subarray(0, b.length - endsWithTerminator(b));
}

function countLineEnds(b: Buffer): number {
  let n = 0;
  for (const x of b) if (x === 0x0a) n++;
  return n;
}

/** Consumes any line ends before a record (writers put more or fewer than the spec's two). */
async function skipLineEnds(r: ByteReader): Promise<void> {
  for (;;) {
    const p = await r.peek(2);
    const n = p[0] === 0x0d && p[1] === 0x0a ? 2 : p[0] === 0x0a ? 1 : 0;
    if (n === 0) return;
    await r.skip(n);
  }
}

function truncatedBlock(where: string, n: number, start: number, have: number): ReingestError {
  return new ReingestError('REINGEST_E_WARC_TRUNCATED', `${where}: expected ${n} block bytes from offset ${start}, the stream ended after ${have}; the file is truncated`, {
    where: `${where}@${start}`,
  });
}

async function readHeaders(r: ByteReader, where: string, offset: number): Promise<[string, string][]> {
  const headers: [string, string][] = [];
  for (;;) {
    const h = await r.readLine(MAX_HEADER_LINE);
    if (h === null) throw new ReingestError('REINGEST_E_WARC_TRUNCATED', `${where}: the stream ended inside the headers of the record at offset ${offset}`, { where: `${where}@${offset}` });
    if (h.length === 0) return headers;
    const text = h.toString('utf8');
    if ((text[0] === ' ' || text[0] === '\t') && headers.length > 0) {
      const last = headers[headers.length - 1]!;
      last[1] = `${last[1]} ${text.trim()}`;
      continue;
    }
    const colon = text.indexOf(':');
    if (colon <= 0) {
      throw new ReingestError('REINGEST_E_WARC_FORMAT', `${where}: expected "Name: value" in the record at offset ${offset}, got ${JSON.stringify(text.slice(0, 60))}`, { where: `${where}@${offset}` });
    }
    headers.push([text.slice(0, colon).trim(), text.slice(colon + 1).trim()]);
  }
}

/** The block of a record whose Content-Length was too small: what came before the next record, minus its line ends. */
function trimLineEnds(b: Buffer): Buffer {
  let end = b.length;
  while (end > 0 && (b[end - 1] === 0x0a || b[end - 1] === 0x0d) && b.length - end < 4) end--;
  return b.subarray(0, end);
}

/** Consumes the line ends after a block (CRLF CRLF by the spec; writers add more or fewer) and returns them. */
async function readSeparator(r: ByteReader): Promise<Buffer> {
  const parts: Buffer[] = [];
  for (let i = 0; i < 8; i++) {
    const p = await r.peek(2);
    const n = p[0] === 0x0d && p[1] === 0x0a ? 2 : p[0] === 0x0a ? 1 : 0;
    if (n === 0) break;
    parts.push(Buffer.from(await r.readExact(n)));
  }
  return Buffer.concat(parts);
}

/** The gzip member holding a record: its offset if the record starts it, its length if it holds just that. */
function locate(members: Member[], start: number, end: number): { fileOffset: number | null; fileLength: number | null } {
  while (members.length > 0 && members[0]!.end <= start) members.shift();
  const m = members[0];
  if (!m || m.start !== start) return { fileOffset: null, fileLength: null };
  return { fileOffset: m.fileOffset, fileLength: m.end === end ? m.fileLength : null };
}

function payloadVerdict(headers: readonly (readonly [string, string])[], block: Buffer): DigestVerdict {
  const type = header({ headers }, 'WARC-Type');
  const label = header({ headers }, 'WARC-Payload-Digest');
  if (type === 'revisit') return 'not-applicable';
  if (label === undefined) return 'absent';
  if (!/^application\/http/i.test(header({ headers }, 'Content-Type') ?? '')) return checkDigest(label, block);
  // The HTTP headers end at the first blank line, CRLF CRLF or LF LF (as warcio reads them): LF-only
  // headers occur in the wild, and splitting them on CRLF CRLF alone hashes the wrong bytes.
  const crlf = block.indexOf('\r\n\r\n');
  const lf = block.indexOf('\n\n');
  if (crlf === -1 && lf === -1) return 'mismatch';
  const [split, sepLen] = lf === -1 || (crlf !== -1 && crlf < lf) ? [crlf, 4] : [lf, 2];
  const head = block.toString('latin1', 0, split);
  const payload = block.subarray(split + sepLen);
  const chunked = /^transfer-encoding:\s*chunked/im.test(head) ? dechunk(payload) : null;
  return chunked ? checkDigest(label, payload, chunked) : checkDigest(label, payload);
}
