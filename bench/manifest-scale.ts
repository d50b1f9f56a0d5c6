/**
 * `npm run bench -- manifest`: how the manifest grows with the crawl, and what verifying costs. Runs the
 * sample at 1x, 4x and 16x its segments (copies under new names) and reports segments, manifest bytes
 * (and per segment), the wall time of the run, of a full `verify` and of `verify --sample 1`.
 */
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { scaledSample } from './scaled-sample.ts';

const BIN = join(import.meta.dirname ?? new URL('.', import.meta.url).pathname, '..', 'bin', 'reingest.mjs');

function timed(args: string[]): number {
  const t0 = performance.now();
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${args.join(' ')}: ${r.stderr}`);
  return (performance.now() - t0) / 1000;
}

export async function manifestBench(): Promise<void> {
  const work = await mkdtemp(join(tmpdir(), 'reingest-manifest-'));
  try {
    const rows = [];
    for (const copies of (process.env.BENCH_COPIES ?? '1,4,16').split(',').map(Number)) {
      const dir = join(work, `x${copies}`);
      const pipeline = await scaledSample(dir, copies);
      const out = join(dir, 'out');
      const runS = timed(['run', pipeline, '--cache', join(dir, 'cache'), '--out', out, '--json']);
      const manifest = join(out, 'manifest.json');
      const size = (await stat(manifest)).size;
      const fullS = timed(['verify', manifest, '--json']);
      const oneS = timed(['verify', manifest, '--sample', '1', '--seed', '1', '--json']);
      rows.push({ copies, segments: 8 * copies, 'manifest KB': (size / 1024).toFixed(0), 'bytes/segment': Math.round(size / (8 * copies)), 'run s': runS.toFixed(1), 'verify s': fullS.toFixed(1), 'verify --sample 1 s': oneS.toFixed(1) });
    }
    console.table(rows);
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}
