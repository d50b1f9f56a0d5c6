import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import t from 'tap';
import { loadPipeline, resolvePipeline } from '../runner/spec.ts';
import { builtinStages } from '../stages/index.ts';
import { SAMPLE_PIPELINE } from './helpers.ts';

const good = {
  name: 'tiny',
  source: { stage: 'cc-path-list', params: { pathList: 'crawl-data/X/warc.paths.gz' } },
  segment: [{ stage: 'http-fetch' }, { stage: 'warc-records' }, { stage: 'html-text' }, { stage: 'length-filter', params: { minChars: 10 } }],
  aggregate: [{ stage: 'jsonl', output: 'out.jsonl' }],
  mirror: { url: 'https://data.commoncrawl.org/' },
};

t.test('the sample pipeline module loads and validates', async (t) => {
  const p = await loadPipeline(SAMPLE_PIPELINE, builtinStages);
  t.equal(p.name, 'sample');
  t.same(p.segment.map((s) => s.stage.name).slice(0, 4), ['http-fetch', 'warc-records', 'html-text', 'lang-id']);
  t.ok('localDir' in p.mirror);
  t.match(p.source.params, { pathList: 'crawl-data/CC-SAMPLE/warc.paths.gz', sha256: /^sha256:[0-9a-f]{64}$/ });
});

t.test('a JSON pipeline is accepted and gets the same defaults', async (t) => {
  const dir = t.testdir();
  const file = join(dir, 'tiny.json');
  await writeFile(file, JSON.stringify(good));
  const p = await loadPipeline(file, builtinStages);
  t.same(p.segment[3]!.params, { minChars: 10, minWords: 0 });
  t.same(p.source.params, { pathList: 'crawl-data/X/warc.paths.gz', sha256: undefined, select: { start: 0, every: 1, count: Number.MAX_SAFE_INTEGER } });
});

t.test('bad specs name the file, the field, what was expected and what came', async (t) => {
  const dir = t.testdir();
  const cases: [string, unknown, RegExp][] = [
    ['misspelled stage', { ...good, segment: [good.segment[0], good.segment[1], { stage: 'html-txt' }] }, /bad\.json: segment\[2\]\.stage: expected a known stage .* got "html-txt"; did you mean "html-text"\?/],
    ['wrong kind', { ...good, segment: [{ stage: 'warc-records' }, good.segment[1]] }, /segment\[0\]\.stage: expected a fetch stage here \(http-fetch, zip-entry\), got "warc-records \(a decode stage\)"/],
    ['float param', { ...good, segment: [...good.segment.slice(0, 3), { stage: 'length-filter', params: { minChars: 2.5 } }] }, /segment\[3\]\.params\.minChars: expected an integer from 0 to \d+, got number 2\.5; hashed params allow no fractions/],
    ['unknown field', { ...good, segmnet: [] }, /pipeline\.segmnet: expected one of the fields .*; did you mean "segment"\?/],
    ['bad pin', { ...good, source: { stage: 'cc-path-list', params: { pathList: 'a/b.gz', sha256: 'abc' } } }, /source\.params\.sha256: expected sha256:<64 hex digits>, got "abc"/],
    ['duplicate output', { ...good, aggregate: [good.aggregate[0], good.aggregate[0]] }, /aggregate\[1\]\.output: expected a file name used once/],
    ['bad name', { ...good, name: 'Has Spaces' }, /name: expected a lower-case name/],
    ['number for a decimal string', { ...good, segment: [...good.segment.slice(0, 3), { stage: 'lang-id', params: { threshold: 0.65 } }] }, /segment\[3\]\.params\.threshold: expected a string, got number 0\.65; write it in quotes: "0\.65"/],
  ];
  for (const [what, spec, re] of cases) {
    const file = join(dir, 'bad.json');
    await writeFile(file, JSON.stringify(spec));
    await t.rejects(loadPipeline(file, builtinStages), { code: 'REINGEST_E_SPEC', message: re }, what);
  }
  await writeFile(join(dir, 'broken.json'), '{"name": ');
  await t.rejects(loadPipeline(join(dir, 'broken.json'), builtinStages), { code: 'REINGEST_E_SPEC', message: /broken\.json: expected JSON, got a syntax error/ });
  await t.rejects(loadPipeline(join(dir, 'missing.ts'), builtinStages), { code: 'REINGEST_E_SPEC_NOT_FOUND' });
});

t.test('non-NFC strings are refused rather than silently normalised', async (t) => {
  t.throws(() => resolvePipeline({ ...good, description: 'cafe\u0301' }, builtinStages, '/'), { code: 'REINGEST_E_SPEC', message: /description: expected an NFC-normalized string/ });
});

t.test('every stage\'s canonical params parse back to themselves (manifests rerun from them)', async (t) => {
  const samples: Record<string, unknown> = { 'cc-path-list': { pathList: 'crawl-data/X/warc.paths.gz', sha256: `sha256:${'a'.repeat(64)}` }, 'zip-entries': { zip: 'corpus.zip' } };
  for (const stage of Object.values(builtinStages)) {
    const once = stage.parseParams(samples[stage.name] ?? {}, 'p');
    const twice = stage.parseParams(JSON.parse(JSON.stringify(once)), 'p');
    t.same(twice, once, stage.name);
  }
});
