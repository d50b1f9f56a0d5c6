import { isUtf8 } from 'node:buffer';
import chardet from 'chardet';
import { v, type DataRecord, type TransformStage } from '../runner/stage.ts';
import { extractText } from './html/extract.ts';
import { decodedBody, httpHeader, parseHttpResponse } from './html/http-response.ts';

export interface HtmlTextParams {
  readonly maxChars: number;
  readonly maxDepth: number;
  /** Blocks whose link text exceeds this share (in 1/1000) are dropped as navigation. */
  readonly maxLinkDensityPermille: number;
}

const HTML_TYPES = /^(text\/html|application\/xhtml\+xml)\b/i;
const META_CHARSET = /<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9._:-]+)/i;

/**
 * Charset from the HTTP header, then a <meta> in the first 4 KiB, then detection: UTF-8 if the bytes are
 * valid UTF-8, else chardet's guess (deterministic, pure JS). Returns a WHATWG encoding name.
 */
export function pickCharset(contentType: string | undefined, body: Buffer): string {
  const fromHeader = /charset\s*=\s*["']?([A-Za-z0-9._:-]+)/i.exec(contentType ?? '')?.[1];
  const fromMeta = fromHeader ? undefined : META_CHARSET.exec(body.toString('latin1', 0, Math.min(body.length, 4096)))?.[1];
  const declared = whatwg(fromHeader ?? fromMeta);
  if (declared) return declared;
  if (isUtf8(body)) return 'utf-8';
  return whatwg(chardet.detect(body.subarray(0, 64 * 1024)) ?? undefined) ?? 'windows-1252';
}

/**
 * Label to WHATWG encoding name (undefined: unknown), and one decoder per encoding: with extraction now
 * fast, building a TextDecoder per page (twice, with the label check) was ~5% of the stage.
 */
const ENCODINGS = new Map<string, string | undefined>();
const DECODERS = new Map<string, InstanceType<typeof TextDecoder>>();

function whatwg(label: string | undefined): string | undefined {
  if (!label) return undefined;
  const key = label.toLowerCase();
  if (ENCODINGS.has(key)) return ENCODINGS.get(key);
  let name: string | undefined;
  try {
    name = new TextDecoder(key).encoding;
  } catch {
    name = undefined;
  }
  if (ENCODINGS.size < 256) ENCODINGS.set(key, name); // labels come from pages: bounded
  return name;
}

/** Decodes with the named WHATWG encoding (a name pickCharset returned). */
function decodeWith(charset: string, body: Buffer): string {
  let decoder = DECODERS.get(charset);
  if (!decoder) DECODERS.set(charset, (decoder = new TextDecoder(charset)));
  return decoder.decode(body);
}

export const htmlText: TransformStage<HtmlTextParams> = {
  kind: 'transform',
  name: 'html-text',
  version: '4',
  description: 'Keeps HTML responses with status 200 (and WET conversion records), decodes transfer/content encodings and charset, and extracts the main text.',
  parseParams(raw, field) {
    const o = v.object(raw, field, ['maxChars', 'maxDepth', 'maxLinkDensityPermille']);
    return {
      maxChars: v.optionalInteger(o.maxChars, `${field}.maxChars`, 8 * 1024 * 1024, 1),
      maxDepth: v.optionalInteger(o.maxDepth, `${field}.maxDepth`, 512, 1),
      maxLinkDensityPermille: v.optionalInteger(o.maxLinkDensityPermille, `${field}.maxLinkDensityPermille`, 500, 0, 1000),
    };
  },
  async *run(input, ctx) {
    for await (const rec of input) {
      if (rec.type === 'conversion' && rec.block instanceof Uint8Array) {
        // A WET record: Common Crawl's own text extraction, already UTF-8.
        const text = Buffer.from(rec.block).toString('utf8').trim();
        if (text.length === 0) ctx.counters.drop('no-text', rec);
        else yield { id: rec.id, url: rec.uri, date: rec.date, charset: 'utf-8', title: '', text };
        continue;
      }
      if (rec.block === null) {
        ctx.counters.drop('oversize');
        continue;
      }
      if (rec.type !== 'response') {
        ctx.counters.drop(`warc-${typeof rec.type === 'string' ? rec.type : 'untyped'}`);
        continue;
      }
      if (!(rec.block instanceof Uint8Array)) throw new Error('Internal error: html-text expects records from warc-records');
      const res = parseHttpResponse(Buffer.from(rec.block.buffer, rec.block.byteOffset, rec.block.byteLength));
      if (!res) {
        ctx.counters.drop('http-unparsable');
        continue;
      }
      if (res.status !== 200) {
        ctx.counters.drop('http-not-200');
        continue;
      }
      const contentType = httpHeader(res, 'content-type');
      if (!HTML_TYPES.test(contentType ?? '')) {
        ctx.counters.drop('not-html');
        continue;
      }
      const { body, note } = decodedBody(res, ctx.params.maxChars * 4);
      if (note) ctx.counters.add(note);
      const charset = pickCharset(contentType, body);
      const html = decodeWith(charset, body);
      const { title, text } = extractText(html, ctx.params);
      if (text.length === 0) {
        ctx.counters.drop('no-text', rec);
        continue;
      }
      const out: DataRecord = { id: rec.id, url: rec.uri, date: rec.date, charset, title, text };
      yield out;
    }
  },
};
