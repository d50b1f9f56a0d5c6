/**
 * Benchmarks that report ratios measured in the same run (timings on shared machines are noisy).
 *
 *   npm run bench -- memory     peak RSS of the sample vs the sample with 8 copies of its segments
 *   npm run bench -- cache      wall time of a cold run vs a warm (all cache hits) run
 *   npm run bench -- warc       our WARC reader vs zlib gunzip vs npm warcio on a >= 200 MB generated WARC
 *   npm run bench -- big        one 1 GiB segment through the sample chain: peak RSS (< 256 MB) and throughput
 *   npm run bench -- text       docs/s and MB/s of each text stage on the sample pages, with time shares
 *   npm run bench -- tokenize   MB/s of our BPE vs tiktoken (WASM) vs gpt-tokenizer on >= 20 MB of real text
 *   npm run bench -- manifest   manifest size and verify cost at 1x, 4x, 16x the sample
 *   npm run bench -- unicode    every Unicode scalar value of every plane, 4 contexts, each encoding vs tiktoken (minutes)
 *   npm run bench -- e2e        the whole pipeline on >= 256 MB of generated WARC: MB/s per core, 1 vs 2 workers, RSS, stage shares
 *   env: BENCH_COPIES=1,8,32 (scales for memory), BENCH_NODE_ARGS="--max-old-space-size=48" (node flags for the runs)
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { scaledSample } from './scaled-sample.ts';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const BIN = join(ROOT, 'bin', 'reingest.mjs');

function timedRun(pipeline: string, cache: string, out: string): { maxRssKb: number; wallMs: number; root: string } {
  const t0 = performance.now();
  const nodeArgs = (process.env.BENCH_NODE_ARGS ?? '').split(' ').filter(Boolean);
  const r = spawnSync('/usr/bin/time', ['-v', process.execPath, ...nodeArgs, BIN, 'run', pipeline, '--cache', cache, '--out', out, '--json'], { encoding: 'utf8' });
  const wallMs = performance.now() - t0;
  if (r.status !== 0) throw new Error(`run failed: ${r.stderr}`);
  const maxRssKb = Number(/Maximum resident set size \(kbytes\): (\d+)/.exec(r.stderr)?.[1]);
  return { maxRssKb, wallMs, root: (JSON.parse(r.stdout) as { root: string }).root };
}

async function memory(): Promise<void> {
  const work = await mkdtemp(join(tmpdir(), 'reingest-bench-'));
  try {
    const rows = [];
    for (const copies of (process.env.BENCH_COPIES ?? "1,8").split(",").map(Number)) {
      const dir = join(work, `x${copies}`);
      const pipeline = await scaledSample(dir, copies);
      const bytes = Number(execFileSync('du', ['-sb', join(dir, 'crawl-data')], { encoding: 'utf8' }).split('\t')[0]);
      const r = timedRun(pipeline, join(dir, 'cache'), join(dir, 'out'));
      rows.push({ copies, inputMB: (bytes / 1e6).toFixed(1), peakRssMB: (r.maxRssKb / 1024).toFixed(1), wallS: (r.wallMs / 1000).toFixed(2) });
    }
    console.table(rows);
    console.log(`peak RSS ratio 8x/1x: ${(Number(rows[1]!.peakRssMB) / Number(rows[0]!.peakRssMB)).toFixed(2)} (input ratio ${(Number(rows[1]!.inputMB) / Number(rows[0]!.inputMB)).toFixed(1)})`);
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

async function cache(): Promise<void> {
  const work = await mkdtemp(join(tmpdir(), 'reingest-bench-'));
  try {
    const pipeline = join(ROOT, 'pipelines/sample.ts');
    const cold = timedRun(pipeline, join(work, 'cache'), join(work, 'out'));
    const warm = timedRun(pipeline, join(work, 'cache'), join(work, 'out'));
    console.table([
      { run: 'cold', wallS: (cold.wallMs / 1000).toFixed(2), root: cold.root.slice(0, 20) },
      { run: 'warm', wallS: (warm.wallMs / 1000).toFixed(2), root: warm.root.slice(0, 20) },
    ]);
    console.log(`warm/cold wall-time ratio: ${(warm.wallMs / cold.wallMs).toFixed(2)} (includes ~0.5 s of process start-up and TS loading in both)`);
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

const which = process.argv[2] ?? 'all';
if (which === 'memory' || which === 'all') await memory();
if (which === 'cache' || which === 'all') await cache();
if (which === 'warc' || which === 'all') await (await import('./warc.ts')).warcBench();
if (which === 'big' || which === 'all') await (await import('./big-segment.ts')).bigSegmentBench();
if (which === 'text' || which === 'all') await (await import('./text.ts')).textBench();
if (which === 'tokenize' || which === 'all') await (await import('./tokenize.ts')).tokenizeBench();
if (which === 'e2e') await (await import('./e2e.ts')).e2eBench();
if (which === 'manifest') await (await import('./manifest-scale.ts')).manifestBench();
if (which === 'unicode') unicodeSweep();

/** The tokenizer sweep of test/tokenize-unicode.test.ts over all 17 planes (the test samples planes 4-13 and 15-16). */
function unicodeSweep(): void {
  const t0 = performance.now();
  const r = spawnSync('npx', ['tap', 'test/tokenize-unicode.test.ts', '--reporter', 'terse', '--timeout', '3600'], { cwd: ROOT, env: { ...process.env, REINGEST_SWEEP_ALL: '1' }, encoding: 'utf8', stdio: 'inherit' });
  console.log(`full sweep ${r.status === 0 ? 'passed' : 'FAILED'} in ${((performance.now() - t0) / 1000).toFixed(0)} s`);
  if (r.status !== 0) process.exitCode = 1;
}
