import { createHash } from 'node:crypto';
import { cp, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import t from 'tap';
import pino from 'pino';
import sample from '../pipelines/sample.ts';
import { dependencyUri } from '../runner/attest.ts';
import { compareManifests } from '../runner/compare.ts';
import { manifestRoot, type Manifest } from '../runner/manifest.ts';
import { runPipeline } from '../runner/run.ts';
import { loadPipeline } from '../runner/spec.ts';
import type { StageRegistry, TransformStage } from '../runner/stage.ts';
import { verifyManifest } from '../runner/verify.ts';
import { builtinStages } from '../stages/index.ts';
import { SAMPLE_ROOT } from './golden.ts';
import { ROOT, runCli, runJson } from './helpers.ts';

let calls = 0;
/** Test-only: a stage whose output depends on how often it ran in this process — the oracle's culprit. */
const flaky: TransformStage<Record<string, never>> = {
  kind: 'transform',
  name: 'flaky',
  version: '1',
  description: 'test only: nondeterministic',
  parseParams: () => ({}),
  async *run(input) {
    calls++;
    let i = 0;
    for await (const rec of input) yield i++ === 2 ? { ...rec, text: `${String(rec.text)} #${calls}` } : rec;
  },
};
const registry: StageRegistry = { ...builtinStages, flaky: flaky as TransformStage };
const quiet = pino({ level: 'silent' });

t.test('verify: a clean rebuild matches every edge; --sample rebuilds only some chains', async (t) => {
  const dir = t.testdir();
  const made = runJson((await runCli(['run', join(ROOT, 'pipelines/sample.ts'), '--cache', join(dir, 'c'), '--out', join(dir, 'o'), '--json'])).stdout);
  t.equal(made.root, SAMPLE_ROOT);
  const full = await runCli(['verify', made.manifest, '--json']);
  t.equal(full.code, 0, full.stderr);
  const r = JSON.parse(full.stdout);
  t.match(r, { same: true, exit: 0, compared: 37, segments: [0, 1, 2, 3, 4, 5, 6, 7] });
  const one = JSON.parse((await runCli(['verify', made.manifest, '--sample', '1', '--seed', '7', '--json'])).stdout);
  t.match(one, { same: true, exit: 0, compared: 2 });
  t.equal(one.segments.length, 1);
  t.comment(`full verify ${r.seconds} s, --sample 1 ${one.seconds} s`);
});

t.test('oracle: a nondeterministic stage is caught, named, and exits with bit 2', async (t) => {
  const dir = t.testdir();
  const file = join(dir, 'flaky.json');
  const [fetch, decode, html, ...rest] = sample.segment;
  await writeFile(file, JSON.stringify({ ...sample, mirror: { localDir: join(ROOT, 'sample') }, segment: [fetch, decode, html, { stage: 'flaky' }, ...rest] }));
  const opts = { concurrency: 2, signal: new AbortController().signal, log: quiet, toolVersion: 'test' };
  const made = await runPipeline(await loadPipeline(file, registry), { ...opts, cacheDir: join(dir, 'c'), outDir: join(dir, 'o') });
  const rerun = { ...(await loadPipeline(made.manifestPath, registry)), mirror: { localDir: join(ROOT, 'sample') } };
  const { report } = await verifyManifest(made.manifest, rerun, { ...opts, referenceCache: join(dir, 'c') });
  t.equal(report.exit & 2, 2, 'bit 2: nondeterministic');
  t.match(report.first, { kind: 'nondeterministic', stage: 'flaky', task: /^segment:\d+$/, segment: { index: Number } });
  // With the publisher's cache at hand, the per-record indexes name the record: flaky alters record #2.
  const m = JSON.parse(await readFile(made.manifestPath, 'utf8')) as Manifest;
  const before = m.tasks.find((x) => x.id === report.first!.task)!.edges.find((e) => e.stage === 'html-text')!;
  t.match(report.first!.record, { index: 2, offset: Number });
  t.ok(report.first!.record!.offset > 0 && report.first!.record!.offset < before.bytes, `record #2 starts at byte ${report.first!.record!.offset} of the flaky stage's stream`);
  const { report: plain } = await verifyManifest(made.manifest, rerun, opts);
  t.equal(plain.first!.record, undefined, 'without the reference cache: stage and segment only');
  t.notOk(report.divergences.some((d) => d.kind === 'nondeterministic' && d.stage !== 'flaky'), 'no other stage is blamed');
  t.ok(report.divergences.some((d) => d.kind === 'upstream'), 'downstream tasks are reported as upstream changes, not blamed');
});

t.test('compare: source moved, nondeterminism, missing tasks, each with its bit', async (t) => {
  const dir = t.testdir();
  const made = runJson((await runCli(['run', join(ROOT, 'pipelines/sample.ts'), '--cache', join(dir, 'c'), '--out', join(dir, 'o'), '--json'])).stdout);
  const m = JSON.parse(await readFile(made.manifest, 'utf8')) as Manifest;
  const fake = `sha256:${'e'.repeat(64)}` as const;
  // As another run would write it: the edited tasks with their own root.
  const edit = (id: string, f: (x: Manifest['tasks'][number]) => Manifest['tasks'][number]): Manifest => {
    const { root: _, ...rest } = { ...m, tasks: m.tasks.map((x) => (x.id === id ? f(x) : x)) };
    return { ...rest, root: manifestRoot(rest) };
  };
  const chainOut = edit('segment:3', (x) => ({ ...x, output: { ...x.output, digest: fake }, edges: x.edges.map((e, i) => (i >= 4 ? { ...e, digest: fake } : e)) }));
  const r1 = compareManifests(m, chainOut);
  t.match(r1.first, { task: 'segment:3', kind: 'nondeterministic', stage: 'gopher-quality', segment: { index: 3 } });
  t.equal(r1.exit, 2);
  const moved = compareManifests(m, edit('fetch:5', (x) => ({ ...x, output: { ...x.output, digest: fake } })));
  t.match(moved.first, { task: 'fetch:5', kind: 'source-changed' });
  t.equal(moved.exit, 1);
  const fewer = m.tasks.filter((x) => x.id !== 'aggregate:0');
  t.equal(compareManifests(m, { ...m, tasks: fewer }).exit, 4);
  t.same(compareManifests(m, m).divergences, []);
  const file = join(dir, 'b.json');
  await writeFile(file, JSON.stringify(chainOut));
  const cli = await runCli(['compare', made.manifest, file]);
  t.equal(cli.code, 2);
  t.match(cli.stdout, /-> FIRST segment:3 segment 3 \(crawl-data\/.*\) at stage gopher-quality, digest: expected sha256:[0-9a-f]{64} \(\d+ records\), found sha256:e{64} .*NONDETERMINISTIC/);
  const recipe = compareManifests(m, { ...m, pipeline: { ...m.pipeline, name: 'other' } });
  t.match(recipe, { exit: 8, first: { task: 'pipeline', kind: 'recipe', field: 'pipeline.name' } }, 'a recipe divergence has its own bit');
});

t.test('compare: two unrelated pipelines differ in their recipe (bit 8), not in "content"', async (t) => {
  const dir = t.testdir();
  const made = runJson((await runCli(['run', join(ROOT, 'pipelines/sample.ts'), '--cache', join(dir, 'c'), '--out', join(dir, 'o'), '--json'])).stdout);
  const other = join(dir, 'other.json');
  // Another pipeline over the same crawl: no PII step, another name.
  await writeFile(other, JSON.stringify({ ...sample, name: 'other', mirror: { localDir: join(ROOT, 'sample') }, segment: sample.segment.filter((s) => s.stage !== 'pii') }));
  const b = runJson((await runCli(['run', other, '--cache', join(dir, 'c'), '--out', join(dir, 'p'), '--json'])).stdout);
  const r = await runCli(['compare', made.manifest, b.manifest, '--json']);
  const report = JSON.parse(r.stdout);
  t.equal((r.code ?? 0) & 8, 8, `the recipe bit is set (exit ${r.code})`);
  t.equal(r.code, report.exit);
  t.match(report.first, { task: 'pipeline', kind: 'recipe' });
  t.ok(report.divergences.some((d: { task: string; kind: string }) => d.task.startsWith('segment:') && d.kind === 'recipe'), 'each chain: same inputs, another recipe');
  t.notOk(report.divergences.some((d: { kind: string }) => d.kind === 'nondeterministic'), 'nothing is called nondeterministic');
});

t.test('verify: a pinned source whose bytes changed is named, exit bit 1', async (t) => {
  const dir = t.testdir();
  const made = runJson((await runCli(['run', join(ROOT, 'pipelines/sample.ts'), '--cache', join(dir, 'c'), '--out', join(dir, 'o'), '--json'])).stdout);
  const m = JSON.parse(await readFile(made.manifest, 'utf8')) as Manifest;
  const segments = m.inputs.segments.map((s, i) => (i === 1 ? { ...s, sha256: `sha256:${'1'.repeat(64)}` as const } : s));
  const file = join(dir, 'forged.json');
  await writeFile(file, JSON.stringify({ ...m, inputs: { ...m.inputs, segments } }));
  const unrooted = await runCli(['verify', file, '--json']);
  t.equal(unrooted.code, 32, 'an edited pin without a new root: tampered');
  t.match(JSON.parse(unrooted.stdout), { exit: 32, failure: { code: 'REINGEST_E_MANIFEST_TAMPERED' } });
  const { root: _, ...rest } = { ...m, inputs: { ...m.inputs, segments } };
  await writeFile(file, JSON.stringify({ ...rest, root: manifestRoot(rest) }));
  const r = await runCli(['verify', file, '--json']);
  t.equal(r.code, 1);
  t.match(JSON.parse(r.stdout), { exit: 1, failure: { code: 'REINGEST_E_PIN_MISMATCH', message: /the manifest pins sha256:1{64}/ } });
});

/** The sample plus gzip JSONL token shards (written as .jsonl.gz), as a JSON spec in `dir`. */
async function sampleWithGzip(dir: string): Promise<string> {
  const file = join(dir, 'gzip.json');
  const docs = { stage: 'token-shards', params: { format: 'jsonl', gzip: true, shardTokens: 32768, fields: ['id'] }, output: 'docs' };
  await writeFile(file, JSON.stringify({ ...sample, mirror: { localDir: join(ROOT, 'sample') }, aggregate: [...sample.aggregate, docs] }));
  return file;
}

const sha256Of = async (file: string) => createHash('sha256').update(await readFile(file)).digest('hex');

t.test('attest: an in-toto Statement v1 with a SLSA provenance v1 predicate, naming the files as written', async (t) => {
  const dir = t.testdir();
  const made = runJson((await runCli(['run', await sampleWithGzip(dir), '--cache', join(dir, 'c'), '--out', join(dir, 'o'), '--json'])).stdout);
  const m = JSON.parse(await readFile(made.manifest, 'utf8')) as Manifest;
  const r = await runCli(['attest', made.manifest, '--cache', join(dir, 'c')]);
  t.equal(r.code, 0, r.stderr);
  const s = JSON.parse(r.stdout);
  t.equal(s._type, 'https://in-toto.io/Statement/v1');
  t.equal(s.predicateType, 'https://slsa.dev/provenance/v1');
  const onDisk = await Promise.all(m.outputs.map((o) => sha256Of(join(dir, 'o', o.file))));
  t.same(s.subject.map((x: { name: string; digest: { sha256: string } }) => [x.name, x.digest.sha256]), m.outputs.map((o, i) => [o.file, onDisk[i]]), 'every subject is a file under --out, by the sha256 of its bytes');
  t.same(s.subject.map((x: { name: string }) => x.name).slice(0, 3), ['text.jsonl', 'megatron/shard-00000.bin', 'megatron/shard-00000.idx'], 'every output file, shards included');
  const gz = m.outputs.filter((o) => o.compression === 'gzip');
  t.ok(gz.length >= 2 && gz.every((o) => o.file.endsWith('.jsonl.gz')), `${gz.length} .jsonl.gz files`);
  for (const o of gz) {
    const subject = s.subject.find((x: { name: string }) => x.name === o.file);
    t.same(subject.annotations, { compression: 'gzip', uncompressedSha256: o.digest.slice(7), uncompressedSize: o.size }, `${o.file}: the content's digest and size, as the manifest commits to them, are annotations`);
    t.not(subject.digest.sha256, o.digest.slice(7), `${o.file}: its subject digest is of the compressed bytes`);
  }
  t.match(s.predicate.buildDefinition, { buildType: /^https:\/\//, externalParameters: { pipeline: { name: 'sample' } }, resolvedDependencies: Array });
  const deps = s.predicate.buildDefinition.resolvedDependencies as { name: string; uri: string; digest: { sha256: string } }[];
  t.equal(deps.length, 9, 'the listing and 8 segments');
  t.ok(deps.every((d) => /^[0-9a-f]{64}$/.test(d.digest.sha256)));
  t.same(deps.map((d) => d.uri), deps.map((d) => `pkg:npm/reingest#sample/${d.name}`), "the sample's inputs are files of the reingest package, not the mirror the run read");
  t.notOk(r.stdout.includes(dir) || r.stdout.includes(ROOT) || r.stdout.includes('file:'), 'no local path anywhere');
  t.match(s.predicate.runDetails, { builder: { id: /^https:\/\// }, metadata: { invocationId: m.root, startedOn: String, finishedOn: String } });
  const elsewhere = JSON.parse((await runCli(['attest', made.manifest, '--cache', join(dir, 'other')])).stdout);
  t.same(elsewhere.predicate.runDetails.metadata, { invocationId: m.root }, 'without this run\'s record: no times are claimed');
  t.same([elsewhere.subject, elsewhere.predicate.buildDefinition], [s.subject, s.predicate.buildDefinition], 'subjects and dependencies do not depend on the run record');
  t.same(Object.keys(s).sort(), ['_type', 'predicate', 'predicateType', 'subject'], 'no fields beyond the Statement layer');

  // The same manifest, run record and files, each somewhere else, attested from another working directory.
  const [manifest, out, cache] = [join(dir, 'published', 'manifest.json'), join(dir, 'moved', 'o2'), join(dir, 'moved', 'c2')];
  await cp(made.manifest, manifest);
  await cp(join(dir, 'o'), out, { recursive: true });
  await cp(join(dir, 'c'), cache, { recursive: true });
  const moved = await runCli(['attest', manifest, '--out', out, '--cache', cache], {}, join(dir, 'moved'));
  t.equal(moved.code, 0, moved.stderr);
  t.equal(moved.stdout, r.stdout, 'byte-identical from other --out, --cache and working directory');

  const bad = async (why: string, found: RegExp) => {
    const x = await runCli(['attest', manifest, '--out', out, '--cache', cache]);
    t.equal(x.code, 1, `${why}: exit 1`);
    t.match(x.stderr, new RegExp(`REINGEST_E_OUTPUT_FILE: .*docs/shard-00000\\.jsonl\\.gz: expected the gzip file .*, found ${found.source}; .*pass --out`), why);
  };
  const first = join(out, gz[0]!.file);
  const t0 = await runCli(['attest', manifest, '--cache', cache]);
  t.match(t0, { code: 1, stderr: /REINGEST_E_OUTPUT_FILE: .*published\/docs\/shard-00000\.jsonl\.gz: .*found nothing/ }, 'the default --out is the manifest\'s folder, which holds no .gz files');
  await writeFile(first, 'not gzip');
  await bad('bytes that are not gzip', /a file that is not gzip/);
  await writeFile(first, gzipSync('{"id":"other"}\n'));
  await bad('a gzip file of other content', /a gzip file that inflates to sha256:[0-9a-f]{64} \(15 bytes\)/);
  await rm(first);
  await bad('a missing file', /nothing/);
});

t.test("attest: a dependency's URI is where anyone fetches its path, never a mirror", async (t) => {
  const cc = 'crawl-data/CC-MAIN-2025-18/segments/1745000000000.0/warc/CC-MAIN-20250418000000-20250418010000-00000.warc.gz';
  t.equal(dependencyUri(cc), `https://data.commoncrawl.org/${cc}`);
  t.equal(dependencyUri('crawl-data/CC-MAIN-2025-18/warc.paths.gz'), 'https://data.commoncrawl.org/crawl-data/CC-MAIN-2025-18/warc.paths.gz');
  t.equal(dependencyUri('crawl-data/CC-SAMPLE/warc.paths.gz'), 'pkg:npm/reingest#sample/crawl-data/CC-SAMPLE/warc.paths.gz');
  t.equal(dependencyUri('archives/crawl-sample.zip'), undefined, 'a zip archive on the mirror: no public location');
  t.equal(dependencyUri('crawl-data/own.zip!/a.warc.gz'), undefined, 'an entry of a zip, even under crawl-data/');
});

t.test('compare and verify refuse a manifest whose fields its root does not commit to, with their own exit bits', async (t) => {
  const dir = t.testdir();
  const made = runJson((await runCli(['run', join(ROOT, 'pipelines/sample.ts'), '--cache', join(dir, 'c'), '--out', join(dir, 'o'), '--json'])).stdout);
  const m = JSON.parse(await readFile(made.manifest, 'utf8')) as Manifest;
  const file = join(dir, 'badroot.json');
  await writeFile(file, JSON.stringify({ ...m, root: `sha256:${'0'.repeat(64)}` }));
  const cli = await runCli(['compare', made.manifest, file]);
  t.equal(cli.code, 32);
  t.match(cli.stdout, /^REINGEST_E_MANIFEST_TAMPERED: manifest .*badroot\.json: the recorded root sha256:0{64} is not the root of the manifest's fields \(sha256:[0-9a-f]{64}\): the manifest was edited after it was written, or is corrupt.*\nexit 32 \(32: manifest tampered\)/);
  const v = await runCli(['verify', file, '--sample', '1', '--json']);
  t.equal(v.code, 32, 'verify refuses it before rebuilding anything');
  t.match(JSON.parse(v.stdout), { same: false, exit: 32, failure: { code: 'REINGEST_E_MANIFEST_TAMPERED' } });
  await writeFile(file, JSON.stringify(m).slice(0, 500));
  t.equal((await runCli(['compare', made.manifest, file])).code, 16, 'a truncated manifest: unreadable, not "content differs"');
  t.equal((await runCli(['verify', join(dir, 'none.json')])).code, 16, 'a missing manifest: unreadable');
});
