import { createHash } from 'node:crypto';
import { gzipSync } from 'node:zlib';

const B32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

/** RFC 4648 base32, the form WARC digests use (`sha1:` + 32 characters). */
export function base32(buf: Buffer): string {
  let bits = 0;
  let value = 0;
  let out = '';
  for (const byte of buf) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += B32[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += B32[(value << (5 - bits)) & 31];
  while (out.length % 8 !== 0) out += '=';
  return out;
}

export const sha1b32 = (b: Buffer) => `sha1:${base32(createHash('sha1').update(b).digest())}`;

/** One WARC record: version line, header fields, blank line, block, CRLF CRLF. */
export function warcRecord(fields: readonly (readonly [string, string])[], block: Buffer): Buffer {
  const head = ['WARC/1.0', ...fields.map(([k, v]) => `${k}: ${v}`), `Content-Length: ${block.length}`, '', ''].join('\r\n');
  return Buffer.concat([Buffer.from(head, 'utf8'), block, Buffer.from('\r\n\r\n')]);
}

/** Each record is its own gzip member, as Common Crawl writes them (mtime 0, fixed level). */
export function gzipMember(record: Buffer): Buffer {
  return gzipSync(record, { level: 9 });
}
