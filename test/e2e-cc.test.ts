import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import t from 'tap';
import { ROOT, runCli, runJson } from './helpers.ts';
import { FakeCommonCrawl } from './support/fake-cc.ts';

/**
 * The real CC-MAIN-2025-18 pipelines, run against a loopback imitation of data.commoncrawl.org that serves
 * real Common Crawl records (the whirlwind CC-MAIN-2024-22 capture) and the sample's CC-like files under
 * CC-MAIN-2025-18 names.
 */
async function fakeCrawl(t: { teardown(fn: () => unknown): void }): Promise<{ url: string; cc: FakeCommonCrawl }> {
  const cc = new FakeCommonCrawl();
  const seg = 'crawl-data/CC-MAIN-2025-18/segments/1744889000000.1';
  const sample = (await readFile(join(ROOT, 'sample/SHA256SUMS'), 'utf8')).trim().split('\n').map((l) => l.split('  ')[1]!).filter((p) => p.endsWith('.warc.gz'));
  const warcs: string[] = [];
  for (const [i, p] of sample.slice(0, 3).entries()) {
    const name = `${seg}/warc/CC-MAIN-20250418000000-20250418010000-${String(i).padStart(5, '0')}.warc.gz`;
    cc.routes.set(name, { body: await readFile(join(ROOT, 'sample', p)) });
    warcs.push(name);
  }
  const real = `${seg}/warc/CC-MAIN-20250418000000-20250418010000-00003.warc.gz`;
  cc.routes.set(real, { body: await readFile(join(ROOT, 'test/fixtures/whirlwind/whirlwind.warc.gz')) });
  warcs.push(real);
  cc.routes.set('crawl-data/CC-MAIN-2025-18/warc.paths.gz', { body: gzipSync(`${warcs.join('\n')}\n`) });
  const wet = `${seg}/wet/CC-MAIN-20250418000000-20250418010000-00000.warc.wet.gz`;
  cc.routes.set(wet, { body: await readFile(join(ROOT, 'test/fixtures/whirlwind/whirlwind.warc.wet.gz')) });
  cc.routes.set('crawl-data/CC-MAIN-2025-18/wet.paths.gz', { body: gzipSync(`${wet}\n`) });
  const url = await cc.start();
  t.teardown(() => cc.stop());
  return { url, cc };
}

t.test('cc-main-2025-18: --segments picks files, streamed with one GET each, the real record extracted', async (t) => {
  const { url, cc } = await fakeCrawl(t);
  const dir = t.testdir();
  const r = await runCli(['run', join(ROOT, 'pipelines/cc-main-2025-18.ts'), '--mirror', url, '--segments', '1,3', '--cache', join(dir, 'c'), '--out', join(dir, 'o'), '--json']);
  t.equal(r.code, 0, r.stderr);
  const m = JSON.parse(await readFile(runJson(r.stdout).manifest, 'utf8')) as { inputs: { segments: { index: number }[] } };
  t.same(m.inputs.segments.map((s) => s.index), [1, 3]);
  const warcGets = cc.requests.filter((q) => q.path.endsWith('.warc.gz'));
  t.equal(warcGets.length, 2, 'one whole-file GET per segment');
  t.ok(cc.requests.every((q) => /^reingest\//.test(String(q.headers['user-agent']))));
  const text = await readFile(join(dir, 'o', 'text.jsonl'), 'utf8');
  t.match(text, /"url":"https:\/\/an\.wikipedia\.org\/wiki\/Escopete"/, 'the genuine Common Crawl page is in the output');
});

t.test('cc-main-2025-18-wet: WET conversion records become documents', async (t) => {
  const { url } = await fakeCrawl(t);
  const dir = t.testdir();
  // The imitation lists one WET file; the pipeline's default 0..9 would be refused as past the end.
  const r = await runCli(['run', join(ROOT, 'pipelines/cc-main-2025-18-wet.ts'), '--mirror', url, '--segments', '0', '--cache', join(dir, 'c'), '--out', join(dir, 'o'), '--json']);
  t.equal(r.code, 0, r.stderr);
  const lines = (await readFile(join(dir, 'o', 'text.jsonl'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as { url: string; text: string });
  t.equal(lines.length, 1);
  t.match(lines[0]!.text, /Escopete/);
});
