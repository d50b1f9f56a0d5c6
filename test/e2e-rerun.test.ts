import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import t from 'tap';
import sample from '../pipelines/sample.ts';
import { manifestRoot, type Manifest } from '../runner/manifest.ts';
import { SAMPLE_ROOT, SAMPLE_TASKS } from './golden.ts';
import { ROOT, runCli, runJson, startCli } from './helpers.ts';
import { FakeCommonCrawl, routeFolder } from './support/fake-cc.ts';

/** As a publisher of an edited manifest would write it: with the root of its fields (else it is refused as tampered). */
function reRooted(m: Manifest): Manifest {
  const { root: _, ...body } = m;
  return { ...body, root: manifestRoot(body) };
}

async function fakeMirror(t: { teardown(fn: () => unknown): void }): Promise<string> {
  const cc = new FakeCommonCrawl();
  await routeFolder(cc, join(ROOT, 'sample'));
  t.teardown(() => cc.stop());
  return cc.start();
}

t.test('a manifest alone reruns the pipeline on a cold cache, from another mirror, to the same root', async (t) => {
  const dir = t.testdir();
  const first = runJson((await runCli(['run', join(ROOT, 'pipelines/sample.ts'), '--cache', join(dir, 'c1'), '--out', join(dir, 'a'), '--json'])).stdout);
  const mirror = await fakeMirror(t);
  const r = await runCli(['run', first.manifest, '--mirror', mirror, '--cache', join(dir, 'c2'), '--out', join(dir, 'b'), '--json']);
  t.equal(r.code, 0, r.stderr);
  t.equal(runJson(r.stdout).root, SAMPLE_ROOT);
  t.equal(runJson(r.stdout).tasksRun, SAMPLE_TASKS, 'everything was rebuilt');
  t.same(await readFile(join(dir, 'b', 'text.jsonl')), await readFile(join(dir, 'a', 'text.jsonl')));
});

t.test('a segment whose bytes differ from the manifest pin fails by name', async (t) => {
  const dir = t.testdir();
  const first = runJson((await runCli(['run', join(ROOT, 'pipelines/sample.ts'), '--cache', join(dir, 'c1'), '--out', join(dir, 'a'), '--json'])).stdout);
  const m = JSON.parse(await readFile(first.manifest, 'utf8')) as Manifest;
  const victim = m.inputs.segments[2]!;
  const forged = { ...m, inputs: { ...m.inputs, segments: m.inputs.segments.map((s) => (s === victim ? { ...s, sha256: `sha256:${'0'.repeat(64)}` as const } : s)) } };
  const file = join(dir, 'forged.json');
  await writeFile(file, JSON.stringify(reRooted(forged)));
  for (const cache of ['c2', 'c1']) {
    const r = await runCli(['run', file, '--cache', join(dir, cache), '--out', join(dir, 'b')]);
    t.equal(r.code, 1, `${cache === 'c1' ? 'warm' : 'cold'} cache`);
    t.match(r.stderr, new RegExp(`REINGEST_E_PIN_MISMATCH: segment ${victim.path}: the manifest pins sha256:0{64} .* the bytes fetched hash to ${victim.sha256}`));
  }
});

t.test('a manifest from another stage version is refused with the reason', async (t) => {
  const dir = t.testdir();
  const first = runJson((await runCli(['run', join(ROOT, 'pipelines/sample.ts'), '--cache', join(dir, 'c'), '--out', join(dir, 'a'), '--json'])).stdout);
  const m = JSON.parse(await readFile(first.manifest, 'utf8')) as Manifest & { pipeline: { segment: { version: string }[] } };
  m.pipeline.segment[2]!.version = '99';
  const file = join(dir, 'old.json');
  await writeFile(file, JSON.stringify(reRooted(m)));
  const r = await runCli(['run', file, '--cache', join(dir, 'c')]);
  t.equal(r.code, 1);
  t.match(r.stderr, /REINGEST_E_STAGE_VERSION: .*made with stage html-text version 99, this reingest has version \d+/);
});

t.test('adding or dropping a pin does not change any key or the root', async (t) => {
  const dir = t.testdir();
  const unpinned = join(dir, 'unpinned.json');
  const { sha256: _, ...params } = sample.source.params as { sha256?: string };
  await writeFile(unpinned, JSON.stringify({ ...sample, source: { ...sample.source, params }, mirror: { localDir: join(ROOT, 'sample') } }));
  const r = await runCli(['run', unpinned, '--cache', join(dir, 'c'), '--out', join(dir, 'o'), '--json']);
  t.equal(r.code, 0, r.stderr);
  t.equal(runJson(r.stdout).root, SAMPLE_ROOT);
});

t.test('two runs sharing one cache directory at once agree', async (t) => {
  const dir = t.testdir();
  const cache = join(dir, 'shared');
  const runs = [0, 1].map((i) => startCli(['run', join(ROOT, 'pipelines/sample.ts'), '--cache', cache, '--out', join(dir, `o${i}`), '--concurrency', String(i + 1), '--json']).done);
  const [a, b] = await Promise.all(runs);
  t.equal(a!.code, 0, a!.stderr);
  t.equal(b!.code, 0, b!.stderr);
  t.equal(runJson(a!.stdout).root, SAMPLE_ROOT);
  t.equal(runJson(b!.stdout).root, SAMPLE_ROOT);
  t.equal((await runCli(['cache', 'verify', '--cache', cache])).code, 0);
});
