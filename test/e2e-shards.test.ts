import { join } from 'node:path';
import t from 'tap';
import { parseShard } from '../runner/shard.ts';
import { SAMPLE_ROOT, SAMPLE_TASKS } from './golden.ts';
import { runCli, runJson, SAMPLE_PIPELINE } from './helpers.ts';

for (const n of [1, 3, 7]) {
  t.test(`${n} shard(s) into one cache, then merge: the single-machine root`, async (t) => {
    const dir = t.testdir();
    const cache = join(dir, 'shared');
    const status0 = await runCli(['status', SAMPLE_PIPELINE, '--shards', String(n), '--cache', cache]);
    t.equal(status0.code, 1, 'nothing done yet');
    for (let k = n - 1; k >= 0; k--) {
      // Shards finish in any order; here the last one first.
      const r = await runCli(['run', SAMPLE_PIPELINE, '--shard', `${k}/${n}`, '--cache', cache, '--json']);
      t.equal(r.code, 0, r.stderr);
      const s = JSON.parse(r.stdout) as { segments: { index: number }[] };
      t.ok(s.segments.every((x) => x.index % n === k), `shard ${k}/${n} took its own segments`);
    }
    const st = await runCli(['status', SAMPLE_PIPELINE, '--shards', String(n), '--cache', cache, '--json']);
    t.match(JSON.parse(st.stdout), { shards: n, missing: [] });
    const merged = await runCli(['merge', SAMPLE_PIPELINE, '--cache', cache, '--out', join(dir, 'out'), '--json']);
    t.equal(merged.code, 0, merged.stderr);
    t.equal(runJson(merged.stdout).root, SAMPLE_ROOT);
    // The shards made the segments and their dedup summaries; the merge runs only the plan, the 8 applies
    // and the 3 aggregates, reading summaries instead of every segment's records.
    t.match(runJson(merged.stdout), { tasksRun: 12, tasksCached: SAMPLE_TASKS - 12 });
  });
}

t.test('merge before every shard is done names a missing segment; Slurm array variables pick the shard', async (t) => {
  const dir = t.testdir();
  const cache = join(dir, 'shared');
  const r = await runCli(['run', SAMPLE_PIPELINE, '--cache', cache, '--json'], { SLURM_ARRAY_TASK_ID: '1', SLURM_ARRAY_TASK_COUNT: '4' });
  t.same((JSON.parse(r.stdout) as { segments: { index: number }[] }).segments.map((s) => s.index), [1, 5]);
  const st = await runCli(['status', SAMPLE_PIPELINE, '--shards', '4', '--cache', cache]);
  t.match(st.stdout, /1 of 4 shards done; missing: 0, 2, 3/);
  const merged = await runCli(['merge', SAMPLE_PIPELINE, '--cache', cache, '--out', join(dir, 'out')]);
  t.equal(merged.code, 1);
  t.match(merged.stderr, /REINGEST_E_SHARD_MISSING: merge: segment \d+ \(crawl-data\/.*\) is not in the cache; the shard that owns it has not finished/);
  t.same(parseShard(undefined, { JOB_COMPLETION_INDEX: '2', REINGEST_SHARDS: '5' }), { index: 2, count: 5 }, 'a Kubernetes indexed job');
  t.throws(() => parseShard('7/7', {}), { code: 'REINGEST_E_USAGE' });
  t.equal(parseShard(undefined, {}), undefined);
});
