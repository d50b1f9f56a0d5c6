import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import type { DataRecord, SegmentInput } from '../runner/stage.ts';
import { dedup, fnv1aJoined, minhashBands, permutations } from '../stages/dedup.ts';
import { stageCtx } from './helpers.ts';

const para = (seed: number, n = 120) => Array.from({ length: n }, (_, i) => `w${(i * 7 + seed * 13) % 997}x${i}`).join(' ');

async function plan(segments: DataRecord[][], raw: object = {}) {
  const ctx = stageCtx(dedup.parseParams(raw, 'p'), { workDir: mkdtempSync(join(tmpdir(), 'reingest-dedup-')) });
  async function* inputs(): AsyncGenerator<SegmentInput> {
    for (const [index, recs] of segments.entries()) {
      async function* records() {
        yield* recs;
      }
      // As the runner does: each segment summarized on its own, the plan over the summaries.
      yield { segment: { index, path: `s${index}` }, digest: `sha256:${'0'.repeat(64)}`, records: dedup.summarize!(records(), ctx) };
    }
  }
  const out = [];
  for await (const { segment, drops } of dedup.plan(inputs(), ctx)) out.push([segment, drops.map(([o, r]) => [o, r])]);
  return out;
}

t.test('exact copies (up to case and spacing) and same-URL copies: the first in list order survives', async (t) => {
  const a = para(1);
  const got = await plan([
    [{ url: 'https://a.example/1', text: a }, { url: 'https://b.example/', text: para(2) }],
    [{ url: 'https://c.example/', text: `  ${a.toUpperCase()}\n` }, { url: 'https://b.example/', text: para(3) }],
  ]);
  t.same(got, [[1, [[0, 'exact-duplicate'], [1, 'url-duplicate']]]]);
});

t.test('near duplicates: one word changed in a long page is dropped, an unrelated page is kept', async (t) => {
  const base = para(5, 300);
  const edited = base.replace('w', 'CHANGED');
  const got = await plan([[{ url: 'u1', text: base }], [{ url: 'u2', text: edited }, { url: 'u3', text: para(9, 300) }]]);
  t.same(got, [[1, [[0, 'near-duplicate']]]]);
  const off = await plan([[{ url: 'u1', text: base }], [{ url: 'u2', text: edited }]], { minhash: { enabled: false } });
  t.same(off, [], 'with MinHash off, only exact and URL copies go');
});

t.test('survivors follow list order, not arrival order: reversing the segments flips the survivor', async (t) => {
  const text = para(4);
  t.same(await plan([[{ url: 'x', text }], [{ url: 'y', text }]]), [[1, [[0, 'exact-duplicate']]]]);
  t.same(await plan([[{ url: 'y', text }], [{ url: 'x', text }]]), [[1, [[0, 'exact-duplicate']]]], 'always the later segment loses');
});

t.test('shingle hashes are FNV-1a of the words joined by spaces, computed without joining them', async (t) => {
  // The reference: the string the shingle used to be built as, hashed code unit by code unit.
  const reference = (s: string) => {
    let h = 0x811c9dc5;
    for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
    return h >>> 0;
  };
  const words = ['the', 'Über', 'naïve', '日本語', '𝒳y', 'a', 'x'.repeat(300), '42', 'ß'];
  for (let from = 0; from < words.length; from++) {
    for (let to = from; to <= words.length; to++) t.equal(fnv1aJoined(words, from, to), reference(words.slice(from, to).join(' ')), `words[${from}..${to})`);
  }
  t.equal(fnv1aJoined(['hello', 'world'], 0, 2), 0xd58b3fa7, 'the published FNV-1a 32-bit value of "hello world"');
});

t.test('MinHash bands are deterministic, seeded, and FineWeb-shaped (14 x 8)', async (t) => {
  const p = dedup.parseParams({}, 'p').minhash;
  t.same(p, { enabled: true, ngram: 5, buckets: 14, hashesPerBucket: 8, seed: '1' });
  const perms = (seed: string) => permutations(seed, 112);
  const bands = minhashBands(para(1), p, perms('1'));
  t.equal(bands.length, 14);
  t.same(minhashBands(para(1), p, perms('1')), bands);
  t.notSame(minhashBands(para(1), p, perms('2')), bands, 'another seed, other bands');
});

t.test('keys spill into partitions on disk: any partition count gives the same plan, and the spill is removed', async (t) => {
  const segs = [0, 1, 2].map((s) => Array.from({ length: 30 }, (_, i) => ({ url: `https://x.example/${(s * 7 + i) % 40}`, text: para((s * 11 + i) % 17) })));
  const plans = [];
  for (const partitions of [1, 7, 256]) plans.push(await plan(segs, { partitions }));
  t.same(plans[1], plans[0], '7 partitions = 1');
  t.same(plans[2], plans[0], '256 partitions = 1');
  t.ok(plans[0]!.length > 0, 'the crafted segments do hold duplicates');
  const work = mkdtempSync(join(tmpdir(), 'reingest-dedup-'));
  const ctx = stageCtx(dedup.parseParams({ partitions: 4 }, 'p'), { workDir: work });
  async function* inputs(): AsyncGenerator<SegmentInput> {
    yield { segment: { index: 0, path: 's0' }, digest: `sha256:${'0'.repeat(64)}`, records: dedup.summarize!((async function* () { yield* segs[0]!; })(), ctx) };
  }
  for await (const _ of dedup.plan(inputs(), ctx));
  t.same(readdirSync(work), [], 'nothing left in the work directory');
  t.same(dedup.keyParams!(dedup.parseParams({ partitions: 4 }, 'p')), dedup.keyParams!(dedup.parseParams({}, 'p')), 'the partition count is not key material');
});

t.test('a summary is the document\'s key hashes only: 17 bytes per key, one summary per document, and plan refuses raw records', async (t) => {
  const ctx = stageCtx(dedup.parseParams({}, 'p'), { workDir: mkdtempSync(join(tmpdir(), 'reingest-dedup-')) });
  const docs = [{ url: 'https://a.example/', text: para(1) }, { text: 'no url here' }, {}];
  const sums: DataRecord[] = [];
  for await (const s of dedup.summarize!((async function* () { yield* docs; })(), ctx)) sums.push(s);
  t.equal(sums.length, 3, 'one summary per document, so ordinals line up with the segment');
  t.same(sums.map((s) => (s.keys as Uint8Array).byteLength), [17 * 16, 17 * 15, 17 * 15], 'exact + url + 14 bands; no url key without a url');
  t.same([...(sums[0]!.keys as Uint8Array)].filter((_, i) => i % 17 === 0), [0, 1, ...Array(14).fill(2)], 'kinds in checking order');
  async function* raw(): AsyncGenerator<SegmentInput> {
    yield { segment: { index: 0, path: 's0' }, digest: `sha256:${'0'.repeat(64)}`, records: (async function* () { yield* docs; })() };
  }
  await t.rejects(async () => {
    for await (const _ of dedup.plan(raw(), ctx));
  }, /dedup\.plan expects summaries/);
});

t.test('the plan streams in list order whatever the bucket count: 40 segments, 1, 3 and 256 buckets agree', async (t) => {
  const segs = Array.from({ length: 40 }, (_, s) => Array.from({ length: 6 }, (_, i) => ({ url: `https://y.example/${(s * 5 + i) % 90}`, text: para((s * 3 + i) % 23) })));
  const plans = [];
  for (const partitions of [1, 3, 256]) plans.push(await plan(segs, { partitions }));
  t.same(plans[1], plans[0], '3 buckets = 1');
  t.same(plans[2], plans[0], '256 buckets = 1');
  const order = plans[0]!.map((x) => x[0] as number);
  t.same(order, [...order].sort((a, b) => a - b), 'segments ascend');
  t.ok(order.length > 20, `${order.length} segments lose documents`);
});
