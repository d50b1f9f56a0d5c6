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
  /** Problems found and worked around: content-length-too-large|too-small, oversize. */
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
}

const MAX_HEADER_LINE = 64 * 1024;
const KNOWN_VERSIONS = new Set(['WARC/0.17', 'WARC/0.18', 'WARC/1.0', 'WARC/1.1']);
const NEXT_RECORD = Buffer.from('\r\n\r\nWARC/');
const NEXT_LINE_WARC = Buffer.from('\nWARC/');

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
  try {
    for (;;) {
      let offset = r.offset;
      let line = await r.readLine(MAX_HEADER_LINE);
      while (line !== null && line.length === 0) {
        offset = r.offset;
        line = await r.readLine(MAX_HEADER_LINE);
      }
      if (line === null) return;
      const version = line.toString('latin1');
      if (!/^WARC\/\d+\.\d+$/.test(version)) {
        throw new ReingestError('REINGEST_E_WARC_FORMAT', `${where}: expected a "WARC/1.x" version line at offset ${offset}, got ${JSON.stringify(version.slice(0, 40))}`, {
          where: `${where}@${offset}`,
        });
      }
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
      if (len > opts.maxBlock) {
        await r.skip(len);
        block = null;
        flags.push('oversize');
      } else {
        block = await r.readExact(len);
      }
      // A record ends with CRLF CRLF; anything but that (or the end) means the Content-Length was wrong.
      const sep = await readSeparator(r);
      const next = await r.peek(5);
      if (next.length > 0 && next.toString('latin1') !== 'WARC/' && block !== null) {
        const inside = block.indexOf(NEXT_RECORD);
        if (inside !== -1) {
          r.unshift(Buffer.concat([block.subarray(inside + 4), sep]));
          block = block.subarray(0, inside);
          flags.push('content-length-too-large');
          await readSeparator(r);
        } else {
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
  const split = block.indexOf('\r\n\r\n');
  if (split === -1) return 'mismatch';
  const head = block.toString('latin1', 0, split);
  const payload = block.subarray(split + 4);
  const chunked = /^transfer-encoding:\s*chunked/im.test(head) ? dechunk(payload) : null;
  return chunked ? checkDigest(label, payload, chunked) : checkDigest(label, payload);
}
