import { copyFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import t, { type Test } from 'tap';
import type { Manifest } from '../runner/manifest.ts';
import { ROOT, runCli, runJson, type CliResult } from './helpers.ts';

/**
 * Segments whose records are byte-identical but whose dedup drops differ: the later copy loses every
 * document to the earlier one. Real crawls and mirrors have them (a listing that names a file twice, one
 * WARC under two names). Each apply must be keyed by its own drop list, or the copies share a key with
 * different outputs: the first run fails as nondeterministic and a rerun silently skips dedup.
 */

/** One small sample WARC (~290 KB, 110 documents after html-text); the chain stops soon after to stay fast. */
const WARC = join(ROOT, 'sample/crawl-data/CC-SAMPLE/segments/1735689600000.11/warc/CC-SAMPLE-20250101000000-20250101001400-00000.warc.gz');
const LISTING = 'crawl-data/T/warc.paths.gz';
/** The digest of a drop list with no frames (sha256 of zero bytes): the apply input of a segment that loses nothing. */
const EMPTY_DROP_LIST = 'sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';

/** A local mirror holding a copy of WARC at each of `copies`, and a listing naming `listed` in order. */
async function mirror(dir: string, copies: readonly string[], listed: readonly string[]): Promise<string> {
  const root = join(dir, 'mirror');
  for (const path of copies) {
    await mkdir(join(root, path, '..'), { recursive: true });
    await copyFile(WARC, join(root, path));
  }
  await mkdir(join(root, 'crawl-data/T'), { recursive: true });
  await writeFile(join(root, LISTING), gzipSync(`${listed.join('\n')}\n`));
  return root;
}

type Step = { stage: string; params?: object };

async function pipeline(dir: string, name: string, mirrorDir: string, more: readonly Step[]): Promise<string> {
  const file = join(dir, `${name}.json`);
  await writeFile(
    file,
    JSON.stringify({
      name,
      mirror: { localDir: mirrorDir },
      source: { stage: 'cc-path-list', params: { pathList: LISTING } },
      segment: [{ stage: 'http-fetch' }, { stage: 'warc-records' }, { stage: 'html-text' }, ...more],
      global: [{ stage: 'dedup' }],
      aggregate: [{ stage: 'jsonl', output: 'text.jsonl' }],
    }),
  );
  return file;
}

const lines = async (file: string) => (await readFile(file, 'utf8')).split('\n').filter((l) => l !== '').length;
const manifestOf = async (file: string) => JSON.parse(await readFile(file, 'utf8')) as Manifest;
const task = (m: Manifest, id: string) => m.tasks.find((x) => x.id === id)!;
const dropTotal = (x: Manifest['tasks'][number]) => Object.values(x.output.counters?.drops ?? {}).reduce((a, b) => a + b, 0);
/** What each apply kept and dropped (by reason): what a rerun must reproduce. */
const applyCounts = (m: Manifest) => m.tasks.filter((x) => x.kind === 'global-apply').map((x) => ({ id: x.id, key: x.key, records: x.output.records, drops: x.output.counters?.drops }));
const json = (r: CliResult) => (r.code === 0 ? runJson(r.stdout) : null);

/** Documents the chain + dedup keep from the WARC listed once: what two copies must come to as well. */
async function singleCopyDocuments(dir: string, more: readonly Step[]): Promise<number> {
  const path = 'crawl-data/T/segments/1/warc/a.warc.gz';
  const file = await pipeline(dir, 'once', await mirror(join(dir, 'once'), [path], [path]), more);
  const r = await runCli(['run', file, '--cache', join(dir, 'once', 'c'), '--out', join(dir, 'once', 'o'), '--json']);
  if (r.code !== 0) throw new Error(`the single-copy run failed: ${r.stderr}`);
  return lines(join(dir, 'once', 'o', 'text.jsonl'));
}

/** Run, rerun on the same cache, `reingest plan`, then `reingest verify` on a fresh cache; the first run's manifest. */
async function checkCopies(t: Test, copies: readonly string[], listed: readonly [string, string], more: readonly Step[] = []): Promise<Manifest | null> {
  const dir = t.testdir();
  const expected = await singleCopyDocuments(dir, more);
  t.ok(expected > 0, `one copy keeps ${expected} documents`);
  const file = await pipeline(dir, 'copies', await mirror(dir, copies, listed), more);
  const cache = join(dir, 'c');

  const r1 = await runCli(['run', file, '--cache', cache, '--out', join(dir, 'o1'), '--json']);
  t.equal(r1.code, 0, `the first run exits 0 ${r1.stderr.trim()}`);
  const first = json(r1);
  const m = first && (await manifestOf(first.manifest));
  if (m) {
    t.equal(task(m, 'segment:0').output.digest, task(m, 'segment:1').output.digest, 'the two chain outputs are byte-identical');
    t.equal(await lines(join(dir, 'o1', 'text.jsonl')), expected, 'two copies keep what one copy keeps');
    const [a0, a1] = [task(m, 'apply:0:0'), task(m, 'apply:0:1')];
    t.equal(a0.output.records, expected, 'the first copy keeps its documents');
    t.equal(a1.output.records, 0, 'the second copy keeps none');
    t.same(a1.output.counters?.drops, { 'exact-duplicate': task(m, 'segment:1').output.records }, 'every document of the second copy is dropped as an exact duplicate');
    t.equal(a0.output.records! + dropTotal(a0), task(m, 'segment:0').output.records, 'the first copy: kept + dropped = its documents');
    t.not(a0.key, a1.key, 'same records, different drop lists: different apply keys');
    t.same(
      m.tasks.filter((x) => x.kind === 'global-apply').map((x) => x.inputs[1]),
      [0, 1].map((i) => task(m, 'global:0').edges.find((e) => e.stage === `dedup:drops:${i}`)?.digest ?? EMPTY_DROP_LIST),
      "each apply's second input is its segment's drop list, named by an edge of the plan task (or the empty list's digest)",
    );
    const plan = await runCli(['plan', file, '--cache', cache, '--json']);
    const planned = (JSON.parse(plan.stdout) as { tasks: { id: string; key: string | null }[] }).tasks;
    t.same(planned.map((x) => x.key), m.tasks.map((x) => x.key), '`reingest plan` prints the keys the run used');
  }

  const r2 = await runCli(['run', file, '--cache', cache, '--out', join(dir, 'o2'), '--json']);
  t.equal(r2.code, 0, `the rerun exits 0 ${r2.stderr.trim()}`);
  const again = json(r2);
  t.ok(again, 'the rerun printed its summary');
  if (!again) return m;
  const m2 = await manifestOf(again.manifest);
  t.equal(again.tasksRun, 0, 'the rerun runs nothing');
  t.equal(again.tasksCached, m2.tasks.length - 2, 'every task cached (fetch and chain count as one)');
  t.equal(await lines(join(dir, 'o2', 'text.jsonl')), expected, 'the rerun keeps as many documents');
  if (first && m) {
    t.equal(again.root, first.root, 'the rerun gives the same root');
    t.same(applyCounts(m2), applyCounts(m), 'and the same apply keys and counts');
  }

  // A manifest never names a mirror: the verifier says where the pinned sources are.
  const v = await runCli(['verify', again.manifest, '--mirror', join(dir, 'mirror'), '--json']);
  t.equal(v.code, 0, `verify on a fresh cache: ${v.stdout.trim()} ${v.stderr.trim()}`);
  return m;
}

t.test('a listing that names the same WARC twice', async (t) => {
  const path = 'crawl-data/T/segments/1/warc/a.warc.gz';
  await checkCopies(t, [path], [path, path]);
});

t.test('byte-identical copies of a WARC under two names', async (t) => {
  const a = 'crawl-data/T/segments/1/warc/a.warc.gz';
  const b = 'crawl-data/T/segments/2/warc/b.warc.gz';
  await checkCopies(t, [a, b], [a, b]);
});

t.test('a file listed twice whose first copy loses nothing: that apply is keyed by the empty drop list', async (t) => {
  // Only the 9 longest documents of the WARC pass, and none of them duplicates another.
  const path = 'crawl-data/T/segments/1/warc/a.warc.gz';
  const m = await checkCopies(t, [path], [path, path], [{ stage: 'length-filter', params: { minChars: 1200 } }]);
  if (!m) return;
  t.equal(dropTotal(task(m, 'apply:0:0')), 0, 'the first copy loses nothing');
  t.equal(task(m, 'apply:0:0').inputs[1], EMPTY_DROP_LIST, 'its apply input is the empty drop list');
});
