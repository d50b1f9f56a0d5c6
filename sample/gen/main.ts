/**
 * Writes the embedded sample crawl: `crawl-data/CC-SAMPLE/warc.paths.gz` and WARC files laid out like
 * Common Crawl's (`segments/<segment>/warc/<name>.warc.gz`, one gzip member per record, warcinfo then
 * request/response/metadata triples with X-Crawler-* headers). Deterministic: same bytes on every run.
 *
 *   npx tsx sample/gen/main.ts [--out DIR]      (default: the sample/ folder beside this script)
 */
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PageFactory, Rng, type Page } from './pages.ts';
import { gzipMember, sha1b32, warcRecord, writeListing, writeWarcFile } from './warc-writer.ts';

export const CRAWL = 'CC-SAMPLE';
const SEGMENTS = ['1735689600000.11', '1735693200000.22', '1735696800000.33', '1735700400000.44'];
const FILES_PER_SEGMENT = 2;
const CAPTURES_PER_FILE = 120;
const SEED = 20250101;

function uuid(rng: Rng): string {
  const b = rng.bytes(16);
  b[6] = (b[6]! & 0x0f) | 0x40;
  b[8] = (b[8]! & 0x3f) | 0x80;
  const h = b.toString('hex');
  return `<urn:uuid:${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}>`;
}

function isoDate(seconds: number): string {
  return new Date(Date.UTC(2025, 0, 1) + seconds * 1000).toISOString().replace('.000Z', 'Z');
}

function httpDate(seconds: number): string {
  return new Date(Date.UTC(2025, 0, 1) + seconds * 1000).toUTCString();
}

function capture(rng: Rng, page: Page, warcinfoId: string, t: number): Buffer[] {
  const url = new URL(page.url);
  const date = isoDate(t);
  const ip = `192.0.2.${1 + rng.int(250)}`;
  const h2 = rng.int(4) === 0;
  const request = Buffer.from(
    [`GET ${url.pathname}${url.search} HTTP/1.1`, 'User-Agent: CCBot/2.0 (https://commoncrawl.org/faq/)', 'Accept: text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8',
      'Accept-Language: en-US,en;q=0.5', `If-Modified-Since: ${httpDate(t - 86400 * 30)}`, 'Accept-Encoding: br,gzip', `Host: ${url.host}`, 'Connection: Keep-Alive', '', ''].join('\r\n'),
  );
  const hdr = (name: string) => (h2 ? name.toLowerCase() : name);
  const headLines = [
    h2 ? 'HTTP/1.1 200' : 'HTTP/1.1 200 OK',
    `${hdr('Date')}: ${httpDate(t)}`,
    `${hdr('Server')}: ${rng.pick(['nginx', 'Apache', 'cloudflare'])}`,
    `${hdr('Content-Type')}: ${page.contentType}`,
    `${hdr('X-Crawler-Content-Encoding')}: gzip`,
    ...(rng.int(2) === 0 ? [`${hdr('X-Crawler-Transfer-Encoding')}: chunked`] : []),
    `${hdr('Vary')}: Accept-Encoding`,
    `${hdr('Content-Length')}: ${page.body.length}`,
  ];
  const response = Buffer.concat([Buffer.from(`${headLines.join('\r\n')}\r\n\r\n`, 'latin1'), page.body]);
  const reqId = uuid(rng);
  const respId = uuid(rng);
  const lang = page.lang ?? 'en';
  const meta = Buffer.from(
    `fetchTimeMs: ${20 + rng.int(900)}\r\ncharset-detected: ${(page.charset ?? 'UTF-8').toUpperCase()}\r\n` +
      `languages-cld2: {"reliable":true,"text-bytes":${page.body.length},"languages":[{"code":"${lang}","text-covered":99,"score":${900 + rng.int(99)}}]}\r\n`,
  );
  return [
    warcRecord([['WARC-Type', 'request'], ['WARC-Date', date], ['WARC-Record-ID', reqId], ['Content-Type', 'application/http; msgtype=request'],
      ['WARC-Warcinfo-ID', warcinfoId], ['WARC-IP-Address', ip], ['WARC-Target-URI', page.url]], request),
    warcRecord([['WARC-Type', 'response'], ['WARC-Date', date], ['WARC-Record-ID', respId], ['Content-Type', 'application/http; msgtype=response'],
      ['WARC-Warcinfo-ID', warcinfoId], ['WARC-Concurrent-To', reqId], ['WARC-IP-Address', ip], ['WARC-Target-URI', page.url],
      ['WARC-Payload-Digest', sha1b32(page.body)], ['WARC-Block-Digest', sha1b32(response)], ['WARC-Identified-Payload-Type', page.contentType.split(';')[0]!]], response),
    warcRecord([['WARC-Type', 'metadata'], ['WARC-Date', date], ['WARC-Record-ID', uuid(rng)], ['WARC-Refers-To', respId],
      ['Content-Type', 'application/warc-fields'], ['WARC-Target-URI', page.url]], meta),
  ];
}

export async function generateSample(outDir: string): Promise<{ paths: string[]; sums: string }> {
  const rng = new Rng(SEED);
  const pages = new PageFactory(rng);
  const paths: string[] = [];
  const sums: string[] = [];
  let t = 0;
  let fileNo = 0;
  for (const segment of SEGMENTS) {
    for (let f = 0; f < FILES_PER_SEGMENT; f++, fileNo++) {
      const start = isoDate(t).replace(/[-:TZ]/g, '');
      const end = isoDate(t + CAPTURES_PER_FILE * 7).replace(/[-:TZ]/g, '');
      const name = `${CRAWL}-${start}-${end}-${String(fileNo).padStart(5, '0')}.warc.gz`;
      const rel = `crawl-data/${CRAWL}/segments/${segment}/warc/${name}`;
      const warcinfoId = uuid(rng);
      const info = Buffer.from(
        `isPartOf: ${CRAWL}\r\npublisher: reingest sample generator (sample/gen/main.ts)\r\ndescription: Synthetic pages laid out like a Common Crawl WARC, for tests\r\n` +
          'operator: reingest\r\nformat: WARC File Format 1.1\r\nconformsTo: https://iipc.github.io/warc-specifications/specifications/warc-format/warc-1.1/\r\n',
      );
      const members = [
        gzipMember(warcRecord([['WARC-Type', 'warcinfo'], ['WARC-Date', isoDate(t)], ['WARC-Filename', name], ['WARC-Record-ID', warcinfoId], ['Content-Type', 'application/warc-fields']], info)),
      ];
      for (let c = 0; c < CAPTURES_PER_FILE; c++, t += 7) {
        for (const rec of capture(rng, pages.next(isoDate(t)), warcinfoId, t)) members.push(gzipMember(rec));
      }
      await writeWarcFile(outDir, rel, Buffer.concat(members), sums);
      paths.push(rel);
    }
  }
  return { paths, sums: await writeListing(outDir, CRAWL, paths, sums) };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const i = process.argv.indexOf('--out');
  const out = i > 0 ? process.argv[i + 1]! : join(dirname(fileURLToPath(import.meta.url)), '..');
  const { sums } = await generateSample(out);
  process.stdout.write(sums);
}
