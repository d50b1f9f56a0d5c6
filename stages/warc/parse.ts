import { ReingestError } from '../../runner/stage.ts';
import { ByteReader } from './byte-reader.ts';

export interface WarcRecord {
  /** Offset of the record's version line in the uncompressed stream. */
  readonly offset: number;
  readonly version: string;
  /** Header fields in file order, names as written. */
  readonly headers: readonly (readonly [string, string])[];
  readonly block: Buffer;
}

const MAX_HEADER_LINE = 64 * 1024;
const MAX_BLOCK = 256 * 1024 * 1024;

export function header(rec: WarcRecord, name: string): string | undefined {
  const lower = name.toLowerCase();
  for (const [k, val] of rec.headers) if (k.toLowerCase() === lower) return val;
  return undefined;
}

/** Parses uncompressed WARC records one at a time; each is yielded before the next is read. */
export async function* parseWarc(input: AsyncIterable<Uint8Array>, where: string): AsyncGenerator<WarcRecord> {
  const r = new ByteReader(input, where);
  for (;;) {
    let offset = r.offset;
    let line = await r.readLine(MAX_HEADER_LINE);
    while (line !== null && line.length === 0) {
      offset = r.offset;
      line = await r.readLine(MAX_HEADER_LINE);
    }
    if (line === null) return;
    const version = line.toString('latin1');
    if (!version.startsWith('WARC/')) {
      throw new ReingestError('REINGEST_E_WARC_FORMAT', `${where}: expected a "WARC/1.x" version line at offset ${offset}, got ${JSON.stringify(version.slice(0, 40))}`, { where: `${where}@${offset}` });
    }
    const headers: [string, string][] = [];
    for (;;) {
      const h = await r.readLine(MAX_HEADER_LINE);
      if (h === null) throw new ReingestError('REINGEST_E_WARC_TRUNCATED', `${where}: the stream ended inside the headers of the record at offset ${offset}`, { where: `${where}@${offset}` });
      if (h.length === 0) break;
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
    const lenText = headers.find(([k]) => k.toLowerCase() === 'content-length')?.[1];
    const len = lenText !== undefined && /^\d+$/.test(lenText) ? Number(lenText) : NaN;
    if (!Number.isSafeInteger(len) || len > MAX_BLOCK) {
      throw new ReingestError('REINGEST_E_WARC_FORMAT', `${where}: expected a Content-Length up to ${MAX_BLOCK} in the record at offset ${offset}, got ${JSON.stringify(lenText ?? null)}`, { where: `${where}@${offset}` });
    }
    const block = await r.readExact(len);
    yield { offset, version, headers, block };
  }
}
