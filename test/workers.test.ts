import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import t from 'tap';
import { SAMPLE_ROOT, SAMPLE_TASKS } from './golden.ts';
import { runCli, runJson, SAMPLE_PIPELINE } from './helpers.ts';
import { servedSample } from './support/served-sample.ts';

/** Segment chains on worker threads: same bytes, typed failures, and one run-wide cap on streams. */
t.test('--workers 2 (and shuffled) gives the single-thread root; a warm rerun is all cache hits', async (t) => {
  const dir = t.testdir();
  const r = await runCli(['run', SAMPLE_PIPELINE, '--cache', join(dir, 'c'), '--out', join(dir, 'o'), '--json', '--workers', '2', '--shuffle', '7']);
  t.equal(r.code, 0, r.stderr);
  t.match(runJson(r.stdout), { root: SAMPLE_ROOT, tasksRun: SAMPLE_TASKS });
  const again = await runCli(['run', SAMPLE_PIPELINE, '--cache', join(dir, 'c'), '--out', join(dir, 'o'), '--json', '--workers', 'auto']);
  t.match(runJson(again.stdout), { root: SAMPLE_ROOT, tasksRun: 0 });
  // Shards on worker threads, then the merge: still the one root.
  for (const k of [0, 1]) t.equal((await runCli(['run', SAMPLE_PIPELINE, '--cache', join(dir, 's'), '--shard', `${k}/2`, '--workers', '2'])).code, 0);
  const merged = await runCli(['merge', SAMPLE_PIPELINE, '--cache', join(dir, 's'), '--out', join(dir, 'm'), '--json']);
  t.equal(runJson(merged.stdout).root, SAMPLE_ROOT, 'shards run on workers merge to the same root');
  const bad = await runCli(['run', SAMPLE_PIPELINE, '--workers', 'many']);
  t.equal(bad.code, 2);
  t.match(bad.stderr, /--workers: expected a number of threads from 0 to 256 or "auto", got "many"/);
});

const streamCapped = (t: Parameters<typeof servedSample>[0], maxStreams: number) => servedSample(t, { trickle: { bytes: 16 * 1024, ms: 5 }, fetchParams: { maxStreams } });

t.test('the stream cap holds across worker threads (maxStreams 1, 3 workers)', async (t) => {
  const { cc, dir, file } = await streamCapped(t, 1);
  const r = await runCli(['run', file, '--cache', join(dir, 'c'), '--out', join(dir, 'o'), '--json', '--workers', '3', '--concurrency', '3']);
  t.equal(r.code, 0, r.stderr);
  t.equal(runJson(r.stdout).root, SAMPLE_ROOT);
  t.equal(cc.maxInFlight, 1, 'never more than one stream to the service at once');
  t.ok(cc.requests.filter((q) => q.path.endsWith('.warc.gz')).length >= 8);
});

t.test('a failure inside a worker is the same typed error, naming the segment; nothing half-written', async (t) => {
  const { cc, dir, file } = await streamCapped(t, 2);
  const victim = [...cc.routes.keys()].filter((p) => p.endsWith('.warc.gz')).sort()[3]!;
  cc.routes.get(victim)!.faults = [{ kind: 'status', status: 404 }];
  const r = await runCli(['run', file, '--cache', join(dir, 'c'), '--out', join(dir, 'o'), '--workers', '2']);
  t.equal(r.code, 1, r.stderr);
  t.match(r.stderr, new RegExp(`REINGEST_E_SOURCE_MISSING: GET http://127\\.0\\.0\\.1:\\d+/${victim.replace(/\./g, '\\.')}: expected status 200, got 404`));
  t.notMatch(r.stderr, /internal error|\n\s+at /);
  t.same(await readdir(join(dir, 'c', 'tmp')), [], 'no temp file left');
});
