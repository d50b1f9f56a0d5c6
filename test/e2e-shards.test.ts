import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import t from 'tap';
import { parseShard } from '../runner/shard.ts';
import { SAMPLE_ROOT, SAMPLE_TASKS } from './golden.ts';
import { runCli, runJson, SAMPLE_PIPELINE } from './helpers.ts';

/** The documented rule (cli/help.ts, docs/cluster.md): shard k of n runs list positions p with p mod n = k. */
const byPosition = (selected: readonly number[], k: number, n: number) => selected.filter((_, p) => p % n === k);
const ranIndexes = (stdout: string) => (JSON.parse(stdout) as { segments: { index: number }[] }).segments.map((s) => s.index);
const ALL = [0, 1, 2, 3, 4, 5, 6, 7];

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
      t.same(ranIndexes(r.stdout), byPosition(ALL, k, n), `shard ${k}/${n} took its own segments`);
    }
    const st = await runCli(['status', SAMPLE_PIPELINE, '--shards', String(n), '--cache', cache, '--json']);
    t.match(JSON.parse(st.stdout), { shards: n, segments: null, missing: [] });
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

t.test('a sparse --segments selection: shards split it by list position; status and merge remember it and refuse other flags', async (t) => {
  const dir = t.testdir();
  const cache = join(dir, 'shared');
  const sel = 'start=1,every=3'; // listed indexes 1, 4, 7 at list positions 0, 1, 2
  const selected = [1, 4, 7];
  for (let k = 0; k < 3; k++) {
    const r = await runCli(['run', SAMPLE_PIPELINE, '--segments', sel, '--shard', `${k}/3`, '--cache', cache, '--json']);
    t.equal(r.code, 0, r.stderr);
    t.same(ranIndexes(r.stdout), byPosition(selected, k, 3), `shard ${k}/3 ran list position ${k} (index ${selected[k]})`);
  }
  const marker = await runCli(['status', SAMPLE_PIPELINE, '--cache', cache]);
  t.equal(marker.code, 0, marker.stderr);
  t.equal(marker.stdout, `3 of 3 shards done; they ran with --segments "${sel}" --shards 3\n`, 'status without flags takes the selection and count from the markers');
  const st = await runCli(['status', SAMPLE_PIPELINE, '--cache', cache, '--json', '--segments', 'every=3,start=1', '--shards', '3']);
  t.same(JSON.parse(st.stdout), { shards: 3, segments: sel, done: [0, 1, 2], missing: [] }, 'the same selection spelled otherwise is the same list key');

  const ran = `\\(--segments "start=1,every=3" --shards 3\\)`;
  const otherSel = await runCli(['status', SAMPLE_PIPELINE, '--cache', cache, '--segments', '0..4']);
  t.equal(otherSel.code, 2);
  t.match(otherSel.stderr, new RegExp(`REINGEST_E_USAGE: status: expected the flags the shards in .*shared ran with ${ran}, got --segments "0..4"; pass theirs`));
  const otherCount = await runCli(['status', SAMPLE_PIPELINE, '--cache', cache, '--shards', '2']);
  t.equal(otherCount.code, 2);
  t.match(otherCount.stderr, new RegExp(`REINGEST_E_USAGE: status: expected the flags .* ran with ${ran}, got --shards 2;`));
  const noSel = await runCli(['status', SAMPLE_PIPELINE, '--cache', cache, '--segments', '0..7', '--shards', '3']);
  t.equal(noSel.code, 2, 'a selection of every segment is still another selection');
  const mergeOther = await runCli(['merge', SAMPLE_PIPELINE, '--cache', cache, '--out', join(dir, 'out'), '--segments', '0..4']);
  t.equal(mergeOther.code, 2);
  t.match(mergeOther.stderr, new RegExp(`REINGEST_E_USAGE: merge: expected the flags .* ran with ${ran}, got --segments "0..4";`));

  // Rerunning a finished shard rewrites its marker byte for byte (the marker holds no cache state).
  const file = join(cache, 'shards', ...(await markerPath(cache)), '0.json');
  const before = await readFile(file);
  t.equal((await runCli(['run', SAMPLE_PIPELINE, '--segments', sel, '--shard', '0/3', '--cache', cache])).code, 0);
  t.same(await readFile(file), before, 'the marker is deterministic');
  t.match(JSON.parse(before.toString()), { schema: 'reingest-shard/1', selection: { segments: sel }, shard: { index: 0, count: 3 } });

  const merged = await runCli(['merge', SAMPLE_PIPELINE, '--cache', cache, '--out', join(dir, 'out'), '--json']);
  t.equal(merged.code, 0, `merge without --segments runs the shards' selection: ${merged.stderr}`);
  const single = await runCli(['run', SAMPLE_PIPELINE, '--segments', sel, '--cache', cache, '--out', join(dir, 'single'), '--json']);
  t.equal(runJson(single.stdout).root, runJson(merged.stdout).root, 'the root of a single-machine run of that selection');
  t.equal(runJson(single.stdout).tasksRun, 0, 'which the merge had computed in full');
});

/** shards/<base>/<list>/3: the one split folder in the cache. */
async function markerPath(cache: string): Promise<string[]> {
  const [base] = await readdir(join(cache, 'shards'));
  const [list] = await readdir(join(cache, 'shards', base!));
  return [base!, list!, '3'];
}
