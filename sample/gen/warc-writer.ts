import { createHash } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { base32 } from '../../stages/warc/digests.ts';

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
