/**
 * `npm run bench -- warc`: throughput of our WARC reader against plain zlib gunzip of the same file (the
 * practical limit) and against the npm warcio package, on a generated Common-Crawl-like WARC
 * (per-record gzip, >= 200 MB inflated). All figures are MB/s of inflated WARC bytes (medians of interleaved rounds), measured in one run.
 */
import { createReadStream } from 'node:fs';
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { WARCParser } from 'warcio';
import { PageFactory, Rng } from '../sample/gen/pages.ts';
import { gzipMember, sha1b32, warcRecord } from '../sample/gen/warc-writer.ts';
import { withInflatePlacement } from '../stages/warc/inflate-thread.ts';
import { readWarc } from '../stages/warc-records.ts';

const TARGET = Number(process.env.BENCH_WARC_MB ?? 200) * 1e6;

/**
 * Markup that real pages carry around their text (inline scripts, styles, SVG icons, tracking attributes),
 * so response sizes follow Common Crawl's: ~20 KB minimum, ~60 KB on average, a long tail to 1 MB.
 */
export function padding(rng: Rng): Buffer {
  const target = Math.min(1_000_000, 20_000 + Math.floor(-Math.log(1 - rng.next()) * 40_000));
  const parts: string[] = [];
  let n = 0;
  while (n < target) {
    const id = rng.int(1e9).toString(36);
    const piece = [
      `<script>window.__d_${id}={"k":${rng.int(1e6)},"v":"${rng.bytes(24).toString('base64')}","t":[${Array.from({ length: 8 }, () => rng.int(1000)).join(',')}]};</script>\n`,
      `<div class="c-${id} grid__item--${rng.int(12)}" data-track="${rng.bytes(12).toString('hex')}"><svg viewBox="0 0 24 24"><path d="M${rng.int(24)} ${rng.int(24)}L${rng.int(24)} ${rng.int(24)}z"/></svg></div>\n`,
      `<style>.c-${id}{margin:${rng.int(40)}px;color:#${rng.bytes(3).toString('hex')}}</style>\n`,
    ][rng.int(3)]!;
    parts.push(piece);
    n += piece.length;
  }
  return Buffer.from(parts.join(''));
}

export async function generate(file: string): Promise<{ inflated: number; records: number }> {
  const rng = new Rng(42);
  const pages = new PageFactory(rng);
  const members: Buffer[] = [];
  let inflated = 0;
  let records = 0;
  for (let t = 0; inflated < TARGET; t++) {
    const page = pages.next(new Date(Date.UTC(2025, 0, 1) + t * 1000).toISOString());
    const body = page.contentType.startsWith('text/html') ? Buffer.concat([page.body, padding(rng)]) : page.body;
    const http = Buffer.concat([Buffer.from(`HTTP/1.1 200 OK\r\nContent-Type: ${page.contentType}\r\nX-Crawler-Content-Encoding: gzip\r\nContent-Length: ${body.length}\r\n\r\n`), body]);
    for (const [type, block, extra] of [
      ['request', Buffer.from(`GET / HTTP/1.1\r\nHost: ${new URL(page.url).host}\r\nUser-Agent: CCBot/2.0\r\n\r\n`), []],
      ['response', http, [['WARC-Payload-Digest', sha1b32(body)]]],
      ['metadata', Buffer.from(`fetchTimeMs: ${t % 900}\r\n`), []],
    ] as const) {
      const rec = warcRecord([['WARC-Type', type], ['WARC-Target-URI', page.url], ['WARC-Record-ID', `<urn:uuid:${t}-${type}>`], ['WARC-Block-Digest', sha1b32(block)], ...extra], block);
      inflated += rec.length;
      records++;
      members.push(gzipMember(rec));
    }
  }
  await writeFile(file, Buffer.concat(members));
  return { inflated, records };
}

interface Sample {
  readonly wallMs: number;
  /** User + system CPU of this process: counts zlib work on the libuv threadpool that wall time hides. */
  readonly cpuMs: number;
  readonly bytes: number;
}

async function time(fn: () => Promise<number>): Promise<Sample> {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const bytes = await fn();
  const wallMs = performance.now() - t0;
  const c = process.cpuUsage(c0);
  return { wallMs, cpuMs: (c.user + c.system) / 1000, bytes };
}

export const median = (xs: readonly number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

const stream = (file: string) => createReadStream(file, { highWaterMark: 1024 * 1024 });

async function gunzipOnly(file: string): Promise<number> {
  let n = 0;
  for await (const c of stream(file).pipe(createGunzip({ chunkSize: 65536 })) as AsyncIterable<Buffer>) n += c.length;
  return n;
}

async function ours(file: string, verifyDigests: boolean): Promise<number> {
  let n = 0;
  for await (const r of readWarc(stream(file), { where: file, maxRecordBytes: 64 << 20, verifyDigests, signal: new AbortController().signal, note: () => {} })) n += r.block?.length ?? 0;
  return n;
}

async function warcioOwnGzip(file: string): Promise<number> {
  let n = 0;
  for await (const r of new WARCParser(stream(file) as unknown as AsyncIterable<Uint8Array>)) n += (await r.readFully()).length;
  return n;
}

async function warcioFedGunzipped(file: string): Promise<number> {
  let n = 0;
  const gunzipped = Readable.from(stream(file).pipe(createGunzip({ chunkSize: 65536 })));
  for await (const r of new WARCParser(gunzipped as unknown as AsyncIterable<Uint8Array>)) n += (await r.readFully()).length;
  return n;
}

const ROUNDS = Math.max(1, Number(process.env.BENCH_WARC_ROUNDS ?? 3));
const GUNZIP = 'zlib createGunzip (limit)';
const OURS = 'reingest readWarc: records, offsets, CRC32 (inflate thread, as warc ls)';
const OURS_VERIFIED = 'reingest readWarc: + block and payload SHA-1 verified';
const WARCIO = 'warcio 2.4.11, own gzip path';

const READERS: readonly (readonly [string, (file: string) => Promise<number>])[] = [
  [GUNZIP, gunzipOnly],
  [OURS, (f) => withInflatePlacement(true, () => ours(f, false))],
  [OURS_VERIFIED, (f) => withInflatePlacement(true, () => ours(f, true))],
  ['  same, inflated in place (as in pipeline runs)', (f) => withInflatePlacement(false, () => ours(f, true))],
  ['  records, offsets, CRC32, inflated in place', (f) => withInflatePlacement(false, () => ours(f, false))],
  [WARCIO, warcioOwnGzip],
  ['warcio 2.4.11, fed gunzipped stream', warcioFedGunzipped],
];

/**
 * Every reader runs ROUNDS times, round-robin (so drift in machine load spreads over all rows alike), and the
 * ratios are taken between medians: single runs on a shared machine vary by +-15%.
 * BENCH_WARC_FILE reuses a generated file (it is written there if missing and kept).
 */
export async function warcBench(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'reingest-warc-bench-'));
  try {
    const file = process.env.BENCH_WARC_FILE ?? join(dir, 'bench.warc.gz');
    const have = await stat(file).catch(() => null);
    const { inflated, records } = have ? await measure(file) : await generate(file);
    const size = (await stat(file)).size;
    console.log(`corpus: ${records} records, ${(inflated / 1e6).toFixed(1)} MB inflated, ${(size / 1e6).toFixed(1)} MB per-record gzip; ${ROUNDS} rounds, round-robin`);
    await gunzipOnly(file); // warm the page cache and the JIT once
    const samples = new Map<string, Sample[]>(READERS.map(([name]) => [name, []]));
    for (let round = 0; round < ROUNDS; round++) {
      for (const [name, fn] of READERS) samples.get(name)!.push(await time(() => fn(file)));
    }
    const mbps = (ms: number) => inflated / 1e6 / (ms / 1000);
    const med = new Map([...samples].map(([name, s]) => [name, mbps(median(s.map((x) => x.wallMs)))]));
    const base = med.get(GUNZIP)!;
    console.table(
      [...samples].map(([name, s]) => {
        const walls = s.map((x) => mbps(x.wallMs));
        return {
          reader: name,
          'MB/s median': med.get(name)!.toFixed(1),
          'MB/s min-max': `${Math.min(...walls).toFixed(0)}-${Math.max(...walls).toFixed(0)}`,
          'x gunzip': (med.get(name)! / base).toFixed(2),
          'wall s': (median(s.map((x) => x.wallMs)) / 1000).toFixed(2),
          'cpu s': (median(s.map((x) => x.cpuMs)) / 1000).toFixed(2),
        };
      }),
    );
    const warcio = med.get(WARCIO)!;
    for (const name of [OURS, OURS_VERIFIED]) {
      const o = med.get(name)!;
      console.log(`${name}: ${(o / base).toFixed(2)} x gunzip (target >= 0.9), ${(o / warcio).toFixed(2)} x warcio's own path (target >= 3)`);
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Inflated size and record count of an existing file (a reused BENCH_WARC_FILE). */
async function measure(file: string): Promise<{ inflated: number; records: number }> {
  let records = 0;
  for await (const _ of readWarc(stream(file), { where: file, maxRecordBytes: 64 << 20, verifyDigests: false, signal: new AbortController().signal, note: () => {} })) records++;
  return { inflated: await gunzipOnly(file), records };
}
