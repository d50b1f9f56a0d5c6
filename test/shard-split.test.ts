import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import t from 'tap';
import { digestHex } from '../cache/digest.ts';
import { listKeyOf, MARKER_SCHEMA, writeMarker } from '../runner/shard-markers.ts';
import { chooseSplit } from '../runner/shard-split.ts';
import { loadPipeline, selectSegments, type ResolvedPipeline } from '../runner/spec.ts';
import { builtinStages } from '../stages/index.ts';
import { SAMPLE_PIPELINE } from './helpers.ts';

/** Markers as `run --shard` writes them, without running anything: chooseSplit reads only markers. */
async function shardsRan(cache: string, base: ResolvedPipeline, segments: string | null, count: number, indexes: readonly number[]): Promise<void> {
  await mkdir(join(cache, 'tmp'), { recursive: true });
  const listKey = listKeyOf(segments === null ? base : selectSegments(base, segments));
  for (const index of indexes) await writeMarker(cache, listKeyOf(base), { schema: MARKER_SCHEMA, selection: { segments, listKey }, shard: { index, count }, segments: [] });
}

t.test('status and merge take the selection and count the shards ran with, and refuse other flags', async (t) => {
  const base = await loadPipeline(SAMPLE_PIPELINE, builtinStages);
  const cache = t.testdir();
  const none = await chooseSplit('status', base, { shards: 3 }, cache);
  t.match(none, { segments: null, count: 3, done: [] }, 'no marker yet: the flags as given');
  t.equal(listKeyOf(none.pipeline), listKeyOf(base));

  await shardsRan(cache, base, 'start=1,every=3', 3, [0, 2]);
  const st = await chooseSplit('status', base, {}, cache);
  t.match(st, { segments: 'start=1,every=3', count: 3, done: [0, 2] });
  t.equal(listKeyOf(st.pipeline), listKeyOf(selectSegments(base, 'start=1,every=3')), 'narrowed as the shards were');
  t.match(await chooseSplit('merge', base, { segments: 'every=3,start=1' }, cache), { segments: 'start=1,every=3' }, 'compared by list key, not by spelling');
  const ran = /the shards in .* ran with \(--segments "start=1,every=3" --shards 3\)/;
  await t.rejects(chooseSplit('status', base, { segments: '0..4' }, cache), { code: 'REINGEST_E_USAGE', message: ran });
  await t.rejects(chooseSplit('status', base, { shards: 2 }, cache), { code: 'REINGEST_E_USAGE', message: /got --shards 2; pass theirs, or leave --segments and --shards out/ });
  await t.rejects(chooseSplit('merge', base, { segments: '0..4', shards: 3 }, cache), { code: 'REINGEST_E_USAGE', message: /^merge: expected .* got --segments "0\.\.4" --shards 3;/ });
});

t.test('several splits of one pipeline: a choice the flags must make', async (t) => {
  const base = await loadPipeline(SAMPLE_PIPELINE, builtinStages);
  const cache = t.testdir();
  await shardsRan(cache, base, '0..3', 2, [0, 1]);
  await shardsRan(cache, base, null, 4, [1]);
  await t.rejects(chooseSplit('status', base, {}, cache), { code: 'REINGEST_E_USAGE', message: /ran as 2 different splits of this pipeline \(--segments "0\.\.3" --shards 2; no --segments --shards 4\); pass --segments and --shards/ });
  await t.rejects(chooseSplit('merge', base, {}, cache), { code: 'REINGEST_E_USAGE', message: /pass --segments to pick one/ });
  t.match(await chooseSplit('status', base, { shards: 4 }, cache), { segments: null, count: 4, done: [1] });
  t.match(await chooseSplit('merge', base, { segments: '0..3' }, cache), { segments: '0..3', count: 2 });

  await shardsRan(cache, base, '0..3', 3, [2]);
  t.match(await chooseSplit('merge', base, { segments: '0..3' }, cache), { segments: '0..3', count: undefined }, 'merge needs the selection only: two counts of it are one choice');
  await t.rejects(chooseSplit('status', base, { segments: '0..3' }, cache), { code: 'REINGEST_E_USAGE', message: /2 different splits/ }, 'status needs the count too');
  t.match(await chooseSplit('status', base, { segments: '0..3', shards: 3 }, cache), { count: 3, done: [2] });
});

t.test('a marker that is not one, or that its folder contradicts, is cache corruption', async (t) => {
  const base = await loadPipeline(SAMPLE_PIPELINE, builtinStages);
  const cache = t.testdir();
  const dir = join(cache, 'shards', digestHex(listKeyOf(base)), digestHex(listKeyOf(base)), '2');
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, '0.json'), '{"shard":{"index":0,"count":2},"segments":[]}\n');
  await t.rejects(chooseSplit('status', base, {}, cache), { code: 'REINGEST_E_CACHE_CORRUPT', message: /0\.json: expected a reingest-shard\/1 marker/ });

  const other = t.testdir();
  await mkdir(join(other, 'tmp'));
  await writeMarker(other, listKeyOf(base), { schema: MARKER_SCHEMA, selection: { segments: '0..3', listKey: listKeyOf(base) }, shard: { index: 0, count: 1 }, segments: [] });
  await t.rejects(chooseSplit('merge', base, {}, other), { code: 'REINGEST_E_CACHE_CORRUPT', message: /--segments "0\.\.3" gives list key sha256:\w+, but the markers are filed under/ });
});
