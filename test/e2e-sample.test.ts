import { createHash } from 'node:crypto';
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import t from 'tap';
import type { Digest } from '../cache/digest.ts';
import { ObjectStore } from '../cache/store.ts';
import type { Manifest } from '../runner/manifest.ts';
import { SAMPLE_ROOT, SAMPLE_TASKS } from './golden.ts';
import { ROOT, runCli, runJson, SAMPLE_PIPELINE } from './helpers.ts';

const readManifest = async (p: string) => JSON.parse(await readFile(p, 'utf8')) as Manifest;

t.test('sample: cold run, warm run, other concurrency, other cache: one root', async (t) => {
  const dir = t.testdir();
  const cache = join(dir, 'cache');
  const first = await runCli(['run', SAMPLE_PIPELINE, '--cache', cache, '--out', join(dir, 'a'), '--concurrency', '2', '--json']);
  t.equal(first.code, 0, first.stderr);
  const a = runJson(first.stdout);
  t.match(a.root, /^sha256:[0-9a-f]{64}$/);
  t.equal(a.root, SAMPLE_ROOT, 'golden root (see the comment on SAMPLE_ROOT)');
  t.equal(a.tasksRun, SAMPLE_TASKS);
  t.equal(a.tasksCached, 0);

  const second = runJson((await runCli(['run', SAMPLE_PIPELINE, '--cache', cache, '--out', join(dir, 'b'), '--json'])).stdout);
  t.equal(second.root, a.root, 'warm cache: same root');
  t.equal(second.tasksRun, 0, 'every task is a cache hit');
  t.equal(second.tasksCached, SAMPLE_TASKS);

  const one = runJson((await runCli(['run', SAMPLE_PIPELINE, '--cache', join(dir, 'cache1'), '--out', join(dir, 'c'), '--concurrency', '1', '--json'])).stdout);
  t.equal(one.root, a.root, '--concurrency 1 on a cold cache: same root');
  const [ma, mb, mc] = await Promise.all([a, second, one].map((r) => readManifest(r.manifest)));
  t.same(mb, ma, 'manifests equal');
  t.same(mc, ma);
  const bytes = await Promise.all([a, second, one].map((r) => readFile(r.manifest)));
  t.ok(bytes[1]!.equals(bytes[0]!) && bytes[2]!.equals(bytes[0]!), 'manifest.json byte-identical: cold, warm, other concurrency and cache');
  // Run facts live in the cache, one line per run under the root: the warm rerun did not erase the cold run's timings.
  const runs = (await readFile(join(cache, 'runs', `${a.root.slice(7)}.jsonl`), 'utf8')).trim().split('\n').map((l) => JSON.parse(l));
  t.match(runs, [{ schema: 'reingest-run/1', root: a.root, tasksRun: SAMPLE_TASKS, concurrency: 2, stageMs: { 'html-text': Number } }, { tasksRun: 0, tasksCached: SAMPLE_TASKS }]);
  t.notOk('runFacts' in ma! || 'tool' in ma!, 'nothing about the run in the manifest');
  t.same(await readFile(join(dir, 'a', 'text.jsonl')), await readFile(join(dir, 'c', 'text.jsonl')), 'same output bytes');
});

t.test('time zone (UTC+14), Turkish locale, another cwd and HOME, concurrency 8 and shuffled task order change nothing; stderr stays silent', async (t) => {
  const dir = t.testdir();
  const home = join(dir, 'home');
  await mkdir(home);
  const r = await runCli(['run', SAMPLE_PIPELINE, '--cache', join(dir, 'cache'), '--out', join(dir, 'o'), '--concurrency', '8', '--shuffle', '42', '--json'], {
    TZ: 'Pacific/Kiritimati',
    LANG: 'tr_TR.UTF-8',
    LC_ALL: 'tr_TR.UTF-8',
    HOME: home,
  }, dir);
  t.equal(r.code, 0);
  t.equal(runJson(r.stdout).root, SAMPLE_ROOT);
  t.equal(r.stderr, '');
});

t.test('the manifest pins inputs, keys every task and digests every edge', async (t) => {
  const dir = t.testdir();
  const r = await runCli(['run', SAMPLE_PIPELINE, '--cache', join(dir, 'cache'), '--out', join(dir, 'out'), '--json']);
  const m = await readManifest(runJson(r.stdout).manifest);
  const sums = new Map((await readFile(join(ROOT, 'sample/SHA256SUMS'), 'utf8')).trim().split('\n').map((l) => l.split('  ').reverse() as [string, string]));
  t.equal(m.inputs.listing.sha256, `sha256:${sums.get('crawl-data/CC-SAMPLE/warc.paths.gz')}`);
  t.equal(m.inputs.segments.length, 8);
  for (const s of m.inputs.segments) t.equal(s.sha256, `sha256:${sums.get(s.path)}`, `raw digest of ${s.path} = sha256 of the file`);
  t.same(m.tasks.map((x) => x.kind), ['list', ...Array.from({ length: 8 }, () => ['fetch', 'chain']).flat(), ...Array.from({ length: 8 }, () => 'global-summary'), 'global-plan', ...Array.from({ length: 8 }, () => 'global-apply'), 'aggregate', 'aggregate', 'aggregate']);
  for (const task of m.tasks) {
    t.match(task.key, /^sha256:[0-9a-f]{64}$/);
    for (const e of task.edges) t.match(e.digest, /^sha256:[0-9a-f]{64}$/, `${task.id} ${e.stage} edge`);
  }
  const chain = m.tasks.find((x) => x.kind === 'chain')!;
  const stages = ['warc-records', 'html-text', 'lang-id', 'gopher-repetition', 'gopher-quality', 'c4-quality', 'fineweb-quality', 'pii', 'tokenize'];
  t.same(chain.edges.map((e) => [e.stage, e.stored]), stages.map((s, i) => [s, i === stages.length - 1]), 'every edge digested, only the chain output kept');
  for (const e of chain.edges.slice(0, -1)) t.equal(e.digest, e.recordsRoot, `${e.stage}: an edge not kept is named by its Merkle root`);
  const out = chain.edges.at(-1)!;
  t.not(out.digest, out.recordsRoot, 'the kept output is named by the sha256 of its bytes');
  t.equal(`sha256:${createHash('sha256').update(await readFile(new ObjectStore(join(dir, 'cache')).objectPath(out.digest as Digest))).digest('hex')}`, out.digest);
  const records = chain.edges.map((e) => e.records!);
  t.ok(records.every((n, i) => i === 0 || n <= records[i - 1]!), `a funnel: ${records.join(' > ')}`);
  t.ok(chain.edges[1]!.counters!.drops['not-html']! >= 0);
  t.equal(m.outputs[0]!.file, 'text.jsonl');
  const text = await readFile(join(dir, 'out', 'text.jsonl'), 'utf8');
  t.equal(text.trim().split('\n').length, m.tasks.filter((x) => x.kind === 'global-apply').reduce((n, x) => n + x.output.records!, 0), 'one line per record that survived dedup');
  const dropped = m.tasks.filter((x) => x.kind === 'global-apply').reduce((n, x) => n + Object.values(x.output.counters!.drops).reduce((a, b) => a + b, 0), 0);
  t.ok(dropped > 0, `dedup dropped ${dropped} copies (the sample has exact and near duplicates)`);
  const serialized = JSON.stringify(m);
  t.notMatch(serialized, /127\.0\.0\.1|\/tmp\/|\.tap\//, 'no host, port or path anywhere in the manifest');
  for (const lang of ['Привет|Весной', '町|港', 'Wiosną|Biblioteka', 'الميناء|المكتبة']) t.match(text, new RegExp(lang), `decoded text in ${lang}`);
  t.notMatch(text, /We use cookies|cookie policy|All rights reserved/, 'boilerplate removed');
});

t.test('plan lists the DAG with keys and cache state', async (t) => {
  const dir = t.testdir();
  const cache = join(dir, 'cache');
  const before = await runCli(['plan', SAMPLE_PIPELINE, '--cache', cache]);
  t.equal(before.code, 0, before.stderr);
  t.match(before.stdout, /segment:0 +chain +pending/);
  t.match(before.stdout, /37 tasks, 0 cached, 37 to run/);
  const starts = before.stdout.split('\n').filter((l) => /sha256:|pending/.test(l)).map((l) => l.search(/sha256:|pending/));
  t.equal(new Set(starts).size, 1, 'the key column lines up, global-apply rows included');
  await runCli(['run', SAMPLE_PIPELINE, '--cache', cache, '--out', join(dir, 'out')]);
  const after = await runCli(['plan', SAMPLE_PIPELINE, '--cache', cache, '--json']);
  const plan = JSON.parse(after.stdout) as { tasks: { id: string; key: string | null; cached: boolean }[] };
  t.equal(plan.tasks.length, 37);
  t.ok(plan.tasks.every((x) => x.cached && x.key), 'all cached after a run');
  const m = await readManifest(join(dir, 'out', 'manifest.json'));
  t.same(plan.tasks.map((x) => x.key), m.tasks.map((x) => x.key), 'plan keys are the run keys');
});

t.test('npm start: runs the sample and prints the root', async (t) => {
  const dir = t.testdir();
  const r = await runCli(['run', SAMPLE_PIPELINE, '--cache', join(dir, 'cache'), '--out', join(dir, 'out')]);
  t.equal(r.code, 0);
  t.match(r.stdout, new RegExp(`^root ${SAMPLE_ROOT}\\nmanifest .*manifest\\.json\\ntasks ${SAMPLE_TASKS} run, 0 cached\\n$`));
  t.equal(r.stderr, '', 'quiet on stderr at the default log level when not a TTY');
});

t.test('--events FILE: one typed JSON line per task event', async (t) => {
  const dir = t.testdir();
  const events = join(dir, 'events.ndjson');
  const r = await runCli(['run', SAMPLE_PIPELINE, '--cache', join(dir, 'cache'), '--out', join(dir, 'o'), '--events', events]);
  t.equal(r.code, 0, r.stderr);
  const lines = (await readFile(events, 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as { type: string; id: string; time: string });
  t.equal(lines.filter((e) => e.type === 'task-done').length, SAMPLE_TASKS);
  t.equal(lines.filter((e) => e.type === 'task-start').length, SAMPLE_TASKS);
  t.match(lines.find((e) => e.type === 'run-plan'), { tasks: SAMPLE_TASKS, segments: 8 }, 'the run announces its size (for progress and ETAs)');
  t.ok(lines.every((e) => (e.type === 'run-plan' || typeof e.id === 'string') && !Number.isNaN(Date.parse(e.time))));
  await runCli(['run', SAMPLE_PIPELINE, '--cache', join(dir, 'cache'), '--out', join(dir, 'o'), '--events', events]);
  const again = (await readFile(events, 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as { type: string });
  t.equal(again.filter((e) => e.type === 'task-cached').length, SAMPLE_TASKS, 'a warm run reports cache hits');
});
