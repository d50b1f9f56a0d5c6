import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import t from 'tap';
import sample from '../pipelines/sample.ts';
import type { Manifest } from '../runner/manifest.ts';
import { zipEntries, zipEntry } from '../stages/zip-sources.ts';
import { collect, ROOT, runCli, runJson, stageCtx } from './helpers.ts';
import { FakeCommonCrawl } from './support/fake-cc.ts';
import { makeZip, type ZipEntry } from './support/zip-writer.ts';

async function sampleEntries(): Promise<ZipEntry[]> {
  const sums = (await readFile(join(ROOT, 'sample/SHA256SUMS'), 'utf8')).trim().split('\n').map((l) => l.split('  ')[1]!);
  const warcs = sums.filter((p) => p.endsWith('.warc.gz'));
  const entries: ZipEntry[] = [{ name: 'README.txt', data: Buffer.from('not a segment\n') }];
  for (const p of warcs) entries.push({ name: `corpus/${p.split('/').pop()}`, data: await readFile(join(ROOT, 'sample', p)), store: true });
  return entries;
}

async function zipPipeline(dir: string, mirror: object, extra: object = {}): Promise<string> {
  const file = join(dir, `zip-${Math.random().toString(36).slice(2)}.json`);
  const [, ...chain] = sample.segment;
  await writeFile(file, JSON.stringify({ ...sample, name: 'sample-zip', mirror, source: { stage: 'zip-entries', params: { zip: 'corpus.zip', ...extra } }, segment: [{ stage: 'zip-entry' }, ...chain] }));
  return file;
}

t.test('a zip of WARC files: one segment per entry, same chain outputs as the loose files, same root local or remote', async (t) => {
  const dir = t.testdir();
  const mirrorDir = join(dir, 'mirror');
  await mkdir(mirrorDir);
  await writeFile(join(mirrorDir, 'corpus.zip'), makeZip(await sampleEntries()));
  const local = runJson((await runCli(['run', await zipPipeline(dir, { localDir: mirrorDir }), '--cache', join(dir, 'c1'), '--out', join(dir, 'o1'), '--json'])).stdout);
  const m = JSON.parse(await readFile(local.manifest, 'utf8')) as Manifest;
  t.equal(m.inputs.segments.length, 8, 'README.txt is not a segment');
  t.match(m.inputs.segments[0]!.path, /^corpus\.zip!\/corpus\/CC-SAMPLE-.*-00000\.warc\.gz$/);

  const loose = runJson((await runCli(['run', join(ROOT, 'pipelines/sample.ts'), '--cache', join(dir, 'c2'), '--out', join(dir, 'o2'), '--json'])).stdout);
  const ml = JSON.parse(await readFile(loose.manifest, 'utf8')) as Manifest;
  const chains = (x: Manifest) => x.tasks.filter((k) => k.kind === 'chain').map((k) => [k.key, k.output.digest]);
  t.same(chains(m), chains(ml), 'entries hash like the files they hold, so every chain task is the same task');
  t.same(m.inputs.segments.map((s) => s.sha256), ml.inputs.segments.map((s) => s.sha256));

  const cc = new FakeCommonCrawl();
  cc.routes.set('corpus.zip', { body: await readFile(join(mirrorDir, 'corpus.zip')) });
  const url = await cc.start();
  t.teardown(() => cc.stop());
  const remote = runJson((await runCli(['run', await zipPipeline(dir, { url }), '--cache', join(dir, 'c3'), '--out', join(dir, 'o3'), '--json'])).stdout);
  t.equal(remote.root, local.root, 'fetched into the cache first, then read: same root');
  t.equal(cc.requests.length, 1, 'the archive is downloaded once');
});

t.test('entry names that would escape the folder are refused', async (t) => {
  const dir = t.testdir();
  for (const name of ['../evil.warc.gz', '/etc/evil.warc.gz', 'a/../../evil.warc.gz', 'C:evil.warc.gz', 'dir\\evil.warc.gz']) {
    const mirrorDir = join(dir, `m${Math.random().toString(36).slice(2)}`);
    await mkdir(mirrorDir);
    await writeFile(join(mirrorDir, 'corpus.zip'), makeZip([{ name, data: Buffer.from('WARC/1.0\r\n') }]));
    const ctx = stageCtx(zipEntries.parseParams({ zip: 'corpus.zip' }, 'p'), { mirror: `file://${mirrorDir}/`, workDir: join(dir, 'work') });
    await t.rejects(zipEntries.list(ctx), { code: 'REINGEST_E_ZIP_UNSAFE_NAME', message: /would escape the output folder/ }, name);
  }
});

t.test('zip bombs: a high declared ratio, a huge declared size, an entry that inflates past what it declares', async (t) => {
  const dir = t.testdir();
  const mirrorDir = join(dir, 'mirror');
  await mkdir(mirrorDir);
  const work = join(dir, 'work');
  const mirror = `file://${mirrorDir}/`;
  await writeFile(join(mirrorDir, 'ratio.zip'), makeZip([{ name: 'zeros.warc', data: Buffer.alloc(20 * 1024 * 1024) }]));
  await t.rejects(zipEntries.list(stageCtx(zipEntries.parseParams({ zip: 'ratio.zip' }, 'p'), { mirror, workDir: work })), { code: 'REINGEST_E_ZIP_BOMB', message: /ratio \d+, limit 200/ });
  await t.rejects(zipEntries.list(stageCtx(zipEntries.parseParams({ zip: 'ratio.zip', maxRatio: 100000, maxEntryBytes: 1024 * 1024 }, 'p'), { mirror, workDir: work })), {
    code: 'REINGEST_E_ZIP_BOMB',
    message: /declares 20971520 bytes, above the limit of 1048576/,
  });
  const real = Buffer.from('x'.repeat(300_000));
  await writeFile(join(mirrorDir, 'liar.zip'), makeZip([{ name: 'liar.warc', data: real, declaredSize: 1000 }]));
  const params = zipEntries.parseParams({ zip: 'liar.zip', maxRatio: 1_000_000 }, 'p');
  const listed = await zipEntries.list(stageCtx(params, { mirror, workDir: work }));
  const fetchCtx = stageCtx(zipEntry.parseParams({ maxRatio: 1_000_000 }, 'p'), { mirror, workDir: work });
  let got = 0;
  await t.rejects(
    (async () => {
      for await (const c of zipEntry.open(listed.segments[0]!, fetchCtx)) got += c.byteLength;
    })(),
    { code: /REINGEST_E_ZIP_(BOMB|ENTRY)/ },
  );
  t.ok(got <= 1000, `no more than the declared bytes were passed on (${got})`);
});

t.test('a pinned archive digest that does not match fails; a fetch of a listed entry streams it', async (t) => {
  const dir = t.testdir();
  const mirrorDir = join(dir, 'mirror');
  await mkdir(mirrorDir);
  const data = Buffer.from('WARC/1.0\r\nWARC-Type: resource\r\nContent-Length: 2\r\n\r\nhi\r\n\r\n');
  await writeFile(join(mirrorDir, 'one.zip'), makeZip([{ name: 'one.warc', data }]));
  const mirror = `file://${mirrorDir}/`;
  const work = join(dir, 'work');
  await t.rejects(zipEntries.list(stageCtx(zipEntries.parseParams({ zip: 'one.zip', sha256: `sha256:${'0'.repeat(64)}` }, 'p'), { mirror, workDir: work })), { code: 'REINGEST_E_PIN_MISMATCH' });
  const listed = await zipEntries.list(stageCtx(zipEntries.parseParams({ zip: 'one.zip', include: ['.warc'] }, 'p'), { mirror, workDir: work }));
  t.same(listed.segments, [{ index: 0, path: 'one.zip!/one.warc' }]);
  t.same(Buffer.concat(await collect(zipEntry.open(listed.segments[0]!, stageCtx(zipEntry.parseParams({}, 'p'), { mirror, workDir: work })))), data);
  t.same((await readdir(join(work, 'zip'))).filter((n) => n.startsWith('.tmp')), [], 'no temp file left in the work directory');
});
