/**
 * `npm run bench -- e2e`: the whole sample pipeline (fetch -> WARC -> extract -> language -> filters -> PII
 * -> tokenize -> dedup -> JSONL + Megatron + llm.c shards) over a generated Common-Crawl-like corpus of
 * BENCH_E2E_MB (default 256) MB of per-record-gzip WARC in 8 segments, served from a loopback mirror.
 * Pages come from the sample generator (markup-heavy HTML padded with scripts, styles and SVG, several
 * languages and charsets, non-HTML payloads); records repeat from a pool of distinct ones, so dedup drops
 * most of them after the chains did their work. Nothing is committed; the corpus is rebuilt per run.
 *
 * Prints, from one run: compressed MB/s per core and core-seconds per GB for 1 and 2 worker threads, the
 * 2-vs-1 speed-up, peak RSS, each stage's share of wall time inside the chains, gunzip-only throughput of
 * the same bytes and the ratio, and the edge-hashing share estimated from measured sha256 speed.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createGunzip, gzipSync } from 'node:zlib';
import sample from '../pipelines/sample.ts';
import { PageFactory, Rng } from '../sample/gen/pages.ts';
import { gzipMember, sha1b32, warcRecord } from '../sample/gen/warc-writer.ts';
import { median, padding } from './warc.ts';
import type { Digest } from '../cache/digest.ts';
import { ObjectStore } from '../cache/store.ts';
import { readRunRecords } from '../runner/run-record.ts';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const SEGMENTS = 8;

function pool(n: number, seed: number): Buffer[] {
  const rng = new Rng(seed);
  const pages = new PageFactory(rng);
  const members: Buffer[] = [];
  for (let t = 0; t < n; t++) {
    const page = pages.next(new Date(Date.UTC(2025, 0, 1) + t * 1000).toISOString());
    const body = page.contentType.startsWith('text/html') ? Buffer.concat([page.body, padding(rng)]) : page.body;
    const http = Buffer.concat([Buffer.from(`HTTP/1.1 200 OK\r\nContent-Type: ${page.contentType}\r\nContent-Length: ${body.length}\r\n\r\n`), body]);
    members.push(gzipMember(warcRecord([['WARC-Type', 'response'], ['WARC-Target-URI', page.url], ['WARC-Record-ID', `<urn:uuid:${seed}-${t}>`], ['Content-Type', 'application/http; msgtype=response'], ['WARC-Block-Digest', sha1b32(http)], ['WARC-Payload-Digest', sha1b32(body)]], http)));
  }
  return members;
}

async function corpus(dir: string, totalBytes: number): Promise<{ paths: string[]; bytes: number }> {
  const paths: string[] = [];
  let bytes = 0;
  for (let s = 0; s < SEGMENTS; s++) {
    const rel = `crawl-data/CC-E2E/segments/${s}/warc/CC-E2E-${String(s).padStart(5, '0')}.warc.gz`;
    const file = join(dir, rel);
    await mkdir(dirname(file), { recursive: true });
    const members = pool(600, 100 + s);
    const out = createWriteStream(file);
    let written = 0;
    for (let i = 0; written < totalBytes / SEGMENTS; i++) {
      const m = members[i % members.length]!;
      written += m.length;
      if (!out.write(m)) await new Promise<void>((r) => out.once('drain', () => r()));
    }
    await new Promise<void>((r) => out.end(() => r()));
    paths.push(rel);
    bytes += written;
  }
  await writeFile(join(dir, 'crawl-data/CC-E2E/warc.paths.gz'), gzipSync(`${paths.join('\n')}\n`));
  return { paths, bytes };
}

interface Phase {
  readonly phase: string;
  readonly tasks: number;
  readonly fromS: number;
  readonly toS: number;
}

/** Wall-clock span of each kind of task (segment chains, summaries, plan, applies, aggregates), from --events. */
async function phases(eventsFile: string): Promise<Phase[]> {
  const spans = new Map<string, { tasks: number; from: number; to: number }>();
  let origin = Infinity;
  for (const line of (await readFile(eventsFile, 'utf8')).split('\n')) {
    if (line === '') continue;
    const e = JSON.parse(line) as { type: string; id?: string; time: string };
    const t = Date.parse(e.time);
    origin = Math.min(origin, t);
    if ((e.type !== 'task-start' && e.type !== 'task-done') || e.id === undefined) continue;
    const kind = e.id.split(':')[0]!;
    const s = spans.get(kind) ?? { tasks: 0, from: Infinity, to: -Infinity };
    if (e.type === 'task-start') {
      s.tasks++;
      s.from = Math.min(s.from, t);
    } else s.to = Math.max(s.to, t);
    spans.set(kind, s);
  }
  return [...spans].map(([phase, s]) => ({ phase, tasks: s.tasks, fromS: (s.from - origin) / 1000, toS: (s.to - origin) / 1000 }));
}

interface Timed {
  readonly wallS: number;
  readonly cpuS: number;
  readonly rssMB: number;
  readonly root: string;
  readonly manifest: string;
}

/** One `reingest run` in a child process under /usr/bin/time: wall, CPU (all threads) and peak RSS. */
async function timedRun(args: string[], env: Record<string, string> = {}): Promise<Timed> {
  const t0 = performance.now();
  const child = spawn('/usr/bin/time', ['-v', process.execPath, join(ROOT, 'bin/reingest.mjs'), ...args, '--json'], { env: { ...process.env, ...env } });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const [status] = (await once(child, 'close')) as [number | null];
  const wallS = (performance.now() - t0) / 1000;
  if (status !== 0) throw new Error(stderr);
  const num = (re: RegExp) => Number(re.exec(stderr)?.[1]);
  const out = JSON.parse(stdout.trim().split('\n').at(-1)!) as { root: string; manifest: string };
  return { wallS, cpuS: num(/User time \(seconds\): ([\d.]+)/) + num(/System time \(seconds\): ([\d.]+)/), rssMB: num(/Maximum resident set size \(kbytes\): (\d+)/) / 1024, ...out };
}

async function gunzipOnly(dir: string, paths: readonly string[]): Promise<number> {
  const t0 = performance.now();
  for (const p of paths) {
    const gz = createReadStream(join(dir, p)).pipe(createGunzip({ chunkSize: 65536 }));
    for await (const _ of gz);
  }
  return (performance.now() - t0) / 1000;
}

export async function e2eBench(): Promise<void> {
  const work = await mkdtemp(join(tmpdir(), 'reingest-e2e-'));
  try {
    const mirror = join(work, 'mirror');
    const { paths, bytes } = await corpus(mirror, Number(process.env.BENCH_E2E_MB ?? 256) * 1e6);
    const mb = bytes / 1e6;
    const spec = join(work, 'e2e.json');
    const source = { stage: 'cc-path-list', params: { pathList: 'crawl-data/CC-E2E/warc.paths.gz' } };
    await writeFile(spec, JSON.stringify({ ...sample, name: 'e2e', source, mirror: { localDir: mirror }, aggregate: sample.aggregate.map((a) => (a.stage === 'token-shards' ? { ...a, params: { ...(a.params as object), shardTokens: 1 << 22 } } : a)) }));
    console.log(`corpus: ${SEGMENTS} segments, ${mb.toFixed(1)} MB compressed (per-record gzip), ${(await stat(join(mirror, paths[0]!))).size} bytes in the first`);
    const gunzipS = await gunzipOnly(mirror, paths);
    const rows = [];
    let one: Timed | null = null;
    const timelines: Record<string, Phase[]> = {};
    for (const workers of [1, 2]) {
      const events = join(work, `events-${workers}.ndjson`);
      const r = await timedRun(['run', spec, '--cache', join(work, `cache-${workers}`), '--out', join(work, `out-${workers}`), '--workers', String(workers), '--concurrency', String(workers), '--events', events]);
      timelines[workers] = await phases(events);
      if (workers === 1) one = r;
      rows.push({
        workers,
        'wall s': r.wallS.toFixed(1),
        'CPU s': r.cpuS.toFixed(1),
        'MB/s (compressed)': (mb / r.wallS).toFixed(2),
        'MB/s per core': (mb / r.cpuS).toFixed(2),
        'core-s per GB': ((r.cpuS / mb) * 1000).toFixed(0),
        'peak RSS MB': r.rssMB.toFixed(0),
        root: r.root.slice(7, 19),
      });
    }
    console.table(rows);
    const two = rows[1]!;
    console.log(`2 workers vs 1: ${(one!.wallS / Number(two['wall s'])).toFixed(2)}x the throughput (target >= 1.8x on 2 cores)`);
    // What this machine allows: two independent single-worker processes, each over half the segments, at
    // once. No shared process, thread pool or scheduler: whatever they lose against running alone is the
    // cores' own contention (shared caches, memory bandwidth, a host's sibling threads), a ceiling for any
    // two-worker figure.
    const half = SEGMENTS / 2;
    const t0 = performance.now();
    await Promise.all(
      [`0..${half - 1}`, `${half}..${SEGMENTS - 1}`].map((sel, k) =>
        timedRun(['run', spec, '--cache', join(work, `cache-pair-${k}`), '--out', join(work, `out-pair-${k}`), '--workers', '1', '--concurrency', '1', '--segments', sel]),
      ),
    );
    const pairS = (performance.now() - t0) / 1000;
    const ceiling = one!.wallS / pairS;
    console.log(`machine ceiling: two independent 1-worker processes over half the segments each, at once: ${pairS.toFixed(1)} s, ${ceiling.toFixed(2)}x one process over all; 2 workers reach ${((one!.wallS / Number(two['wall s']) / ceiling) * 100).toFixed(0)}% of it`);
    console.log('\nwall-clock span of each kind of task, seconds from the run\'s first event:');
    console.table(Object.entries(timelines).flatMap(([workers, ps]) => ps.map((p) => ({ workers, phase: p.phase, tasks: p.tasks, from: p.fromS.toFixed(1), to: p.toS.toFixed(1) }))));
    console.log(`gunzip alone, same bytes, one core: ${(mb / gunzipS).toFixed(1)} MB/s compressed; the pipeline's per-core rate is ${((mb / one!.cpuS) / (mb / gunzipS)).toFixed(3)}x of it`);

    // Stage timings are in the run record the cache keeps under the manifest's root (runner/run-record.ts).
    const m = JSON.parse(await readFile(one!.manifest, 'utf8')) as { root: Digest };
    const [run] = await readRunRecords(new ObjectStore(join(work, 'cache-1')), m.root);
    const stageMs = Object.entries(run!.stageMs).sort((a, b) => b[1] - a[1]);
    const total = stageMs.reduce((n, [, v]) => n + v, 0);
    console.log('\nshare of wall time per stage (1 worker; chain stages include hashing their input edge):');
    console.table(stageMs.map(([stage, ms]) => ({ stage, s: (ms / 1000).toFixed(1), share: `${((ms / total) * 100).toFixed(1)}%` })));

    // Measured: 1-worker runs with and without the intermediate record edges encoded and hashed, alternated
    // (BENCH_E2E_HASH_ROUNDS pairs, default 3; the first "with" is the run above) and compared by median CPU:
    // single runs on this shared machine differ by more than the effect.
    const rounds = Math.max(1, Number(process.env.BENCH_E2E_HASH_ROUNDS ?? 3));
    const withCpu = [one!.cpuS];
    const withoutCpu: number[] = [];
    for (let r = 0; r < rounds; r++) {
      const run = (tag: string, env: Record<string, string>) => timedRun(['run', spec, '--cache', join(work, `cache-${tag}-${r}`), '--out', join(work, `out-${tag}-${r}`), '--workers', '1', '--concurrency', '1'], env);
      withoutCpu.push((await run('nohash', { REINGEST_BENCH_SKIP_EDGE_HASHING: '1' })).cpuS);
      if (r > 0) withCpu.push((await run('hash', {})).cpuS);
    }
    const w = median(withCpu);
    const wo = median(withoutCpu);
    console.log(`edge hashing, measured: median CPU ${w.toFixed(1)} s with [${withCpu.map((x) => x.toFixed(1)).join(', ')}], ${wo.toFixed(1)} s without [${withoutCpu.map((x) => x.toFixed(1)).join(', ')}] intermediate edge encoding and hashing: ${(((w - wo) / w) * 100).toFixed(1)}% of the run (raw-byte hashing, which keys the chains, is in both)`);
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}
