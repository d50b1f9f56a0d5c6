import { createHash } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
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

/** Writes one WARC file under outDir and notes its sha256 in `sums` (the SHA256SUMS lines). */
export async function writeWarcFile(outDir: string, rel: string, bytes: Buffer, sums: string[]): Promise<void> {
  await mkdir(join(outDir, dirname(rel)), { recursive: true });
  await writeFile(join(outDir, rel), bytes);
  sums.push(`${createHash('sha256').update(bytes).digest('hex')}  ${rel}`);
}

/** Writes the crawl's path listing (gzip level 9) and SHA256SUMS, the listing's line first; returns SHA256SUMS. */
export async function writeListing(outDir: string, crawl: string, paths: readonly string[], sums: string[]): Promise<string> {
  const listRel = `crawl-data/${crawl}/warc.paths.gz`;
  const list = gzipSync(Buffer.from(`${paths.join('\n')}\n`), { level: 9 });
  await writeFile(join(outDir, listRel), list);
  sums.unshift(`${createHash('sha256').update(list).digest('hex')}  ${listRel}`);
  const text = `${sums.join('\n')}\n`;
  await writeFile(join(outDir, 'SHA256SUMS'), text);
  return text;
}
