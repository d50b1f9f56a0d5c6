import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { manifestRoot, type Manifest } from '../runner/manifest.ts';
import { SAMPLE_ROOT } from './golden.ts';
import { runCli, runJson } from './helpers.ts';

t.test('reingest init: a commented pipeline that plan and run accept unchanged, giving the sample root', async (t) => {
  // Outside the reingest folder, as a user's project would be (tap's testdir sits inside it).
  const dir = await mkdtemp(join(tmpdir(), 'reingest-init-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const made = await runCli(['init', 'my-crawl', '--dir', join(dir, 'p'), '--json']);
  t.equal(made.code, 0, made.stderr);
  const file = (JSON.parse(made.stdout) as { pipeline: string }).pipeline;
  t.equal(file, join(dir, 'p', 'my-crawl.mts'), 'outside the reingest folder: .mts, an ES module wherever it sits');
  const text = await readFile(file, 'utf8');
  t.match(text, /name: 'my-crawl'/);
  t.ok(text.split('\n').filter((l) => /\/\/ |^ \* /.test(l)).length >= 15, 'commented');

  const plan = await runCli(['plan', file, '--cache', join(dir, 'cache')], {}, dir);
  t.equal(plan.code, 0, plan.stderr);
  t.match(plan.stdout, /37 tasks, 0 cached, 37 to run/);
  const run = await runCli(['run', file, '--cache', join(dir, 'cache'), '--out', join(dir, 'out'), '--json'], {}, dir);
  t.equal(run.code, 0, run.stderr);
  // The pipeline's name is part of the recipe the root commits to; under the sample's name it is the sample.
  const m = JSON.parse(await readFile(runJson(run.stdout).manifest, 'utf8')) as Manifest;
  t.equal(m.pipeline.name, 'my-crawl');
  const { root: _, ...body } = { ...m, pipeline: { ...m.pipeline, name: 'sample' } };
  t.equal(manifestRoot(body), SAMPLE_ROOT, 'same recipe as the sample but for its name: the sample root under the sample\'s name');

  // A wrong listing pin fails even when the listing is already in the cache.
  const { writeFile } = await import('node:fs/promises');
  const badPin = join(dir, 'p', 'bad-pin.mts');
  await writeFile(badPin, text.replace('sha256:0a07f22f', 'sha256:1a07f22f'));
  const pinned = await runCli(['run', badPin, '--cache', join(dir, 'cache'), '--out', join(dir, 'out2')], {}, dir);
  t.equal(pinned.code, 1);
  t.match(pinned.stderr, /REINGEST_E_PIN_MISMATCH: crawl-data\/CC-SAMPLE\/warc\.paths\.gz: the spec pins sha256:1a07f22f\w+ but the listing \(as fetched earlier and cached\) hashes to sha256:0a07f22f/);

  const again = await runCli(['init', 'my-crawl', '--dir', join(dir, 'p')]);
  t.equal(again.code, 1);
  t.match(again.stderr, /REINGEST_E_EXISTS: init: .*my-crawl\.mts already exists/);
  t.equal(await readFile(file, 'utf8'), text, 'never overwritten');
  const bad = await runCli(['init', 'My Crawl']);
  t.equal(bad.code, 2);
  t.match(bad.stderr, /init: expected a pipeline name of lowercase letters, digits and "-", got "My Crawl"/);
});
