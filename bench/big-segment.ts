/**
 * `npm run bench -- big`: one segment of BENCH_BIG_MB (default 1024) MB of per-record-gzip WARC, streamed
 * over loopback HTTP through the sample chain; reports peak RSS (must stay under 256 MB) and throughput.
 * The file is built by repeating a pool of distinct generated records, so building it is fast.
 */
import { spawnSync } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { mkdir, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import sample from '../pipelines/sample.ts';
import { PageFactory, Rng } from '../sample/gen/pages.ts';
import { gzipMember, sha1b32, warcRecord } from '../sample/gen/warc-writer.ts';
import { padding } from './warc.ts';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const TARGET = Number(process.env.BENCH_BIG_MB ?? 1024) * 1024 * 1024;

function pool(n: number): Buffer[] {
  const rng = new Rng(7);
  const pages = new PageFactory(rng);
  const members: Buffer[] = [];
  for (let t = 0; t < n; t++) {
    const page = pages.next(new Date(Date.UTC(2025, 0, 1) + t * 1000).toISOString());
    const body = page.contentType.startsWith('text/html') ? Buffer.concat([page.body, padding(rng)]) : page.body;
    const http = Buffer.concat([Buffer.from(`HTTP/1.1 200 OK\r\nContent-Type: ${page.contentType}\r\nX-Crawler-Content-Encoding: gzip\r\nContent-Length: ${body.length}\r\n\r\n`), body]);
    members.push(gzipMember(warcRecord([['WARC-Type', 'response'], ['WARC-Target-URI', page.url], ['WARC-Record-ID', `<urn:uuid:${t}>`], ['Content-Type', 'application/http; msgtype=response'], ['WARC-Block-Digest', sha1b32(http)], ['WARC-Payload-Digest', sha1b32(body)]], http)));
  }
  return members;
}

export async function bigSegmentBench(): Promise<void> {
  const work = await mkdtemp(join(tmpdir(), 'reingest-big-'));
  try {
    const rel = 'crawl-data/CC-BIG/segments/1/warc/CC-BIG-00000.warc.gz';
    const file = join(work, 'mirror', rel);
    await mkdir(dirname(file), { recursive: true });
    const members = pool(2000);
    const out = createWriteStream(file);
    let written = 0;
    for (let i = 0; written < TARGET; i++) {
      const m = members[i % members.length]!;
      written += m.length;
      if (!out.write(m)) await new Promise<void>((r) => out.once('drain', () => r()));
    }
    await new Promise<void>((r) => out.end(() => r()));
    await writeFile(join(work, 'mirror', 'crawl-data/CC-BIG/warc.paths.gz'), gzipSync(`${rel}\n`));
    const pipeline = join(work, 'big.json');
    await writeFile(pipeline, JSON.stringify({ ...sample, name: 'big', source: { stage: 'cc-path-list', params: { pathList: 'crawl-data/CC-BIG/warc.paths.gz' } }, mirror: { localDir: join(work, 'mirror') } }));
    const size = (await stat(file)).size;
    const t0 = performance.now();
    const r = spawnSync('/usr/bin/time', ['-v', process.execPath, join(ROOT, 'bin/reingest.mjs'), 'run', pipeline, '--cache', join(work, 'cache'), '--out', join(work, 'out'), '--json'], { encoding: 'utf8' });
    const secs = (performance.now() - t0) / 1000;
    if (r.status !== 0) throw new Error(r.stderr);
    const rss = Number(/Maximum resident set size \(kbytes\): (\d+)/.exec(r.stderr)?.[1]) / 1024;
    const cpu = Number(/User time \(seconds\): ([\d.]+)/.exec(r.stderr)?.[1]) + Number(/System time \(seconds\): ([\d.]+)/.exec(r.stderr)?.[1]);
    console.table([{ segmentMB: (size / 2 ** 20).toFixed(0), peakRssMB: rss.toFixed(1), wallS: secs.toFixed(1), cpuS: cpu.toFixed(1), 'MB/s compressed': (size / 2 ** 20 / secs).toFixed(1) }]);
    console.log(`peak RSS ${rss.toFixed(1)} MB (limit 256 MB): ${rss < 256 ? 'within' : 'OVER'}`);
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}
