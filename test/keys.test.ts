import { createHash } from 'node:crypto';
import pino from 'pino';
import t from 'tap';
import { merkleRoot, sha256 } from '../cache/digest.ts';
import { ObjectStore } from '../cache/store.ts';
import type { ExecEnv } from '../runner/exec-common.ts';
import { EMPTY_DROP_LIST, runGlobalApply } from '../runner/exec-global.ts';
import { aggregatePreimage, chainPreimage, fetchPreimage, globalApplyPreimage, taskKey } from '../runner/keys.ts';
import { encodeFrame } from '../runner/record-codec.ts';
import type { ResolvedStep } from '../runner/spec.ts';
import type { AnyStage } from '../runner/stage.ts';

const stage = (name: string, version = '1') => ({ name, version, kind: 'transform' }) as unknown as AnyStage;
const step = (name: string, params: unknown, version = '1'): ResolvedStep => ({ stage: stage(name, version), params });
const D1 = sha256('one');
const D2 = sha256('two');

t.test('a key moves with stage name, version, params and input content', async (t) => {
  const base = taskKey(chainPreimage([step('html-text', { a: 1 })], D1));
  t.match(base, /^sha256:[0-9a-f]{64}$/);
  t.equal(taskKey(chainPreimage([step('html-text', { a: 1 })], D1)), base, 'stable');
  t.not(taskKey(chainPreimage([step('html-text', { a: 2 })], D1)), base, 'params');
  t.not(taskKey(chainPreimage([step('html-text', { a: 1 }, '2')], D1)), base, 'version');
  t.not(taskKey(chainPreimage([step('html-txt', { a: 1 })], D1)), base, 'name');
  t.not(taskKey(chainPreimage([step('html-text', { a: 1 })], D2)), base, 'input content');
});

t.test('a key ignores params key order; aggregate keys follow input order', async (t) => {
  t.equal(taskKey(chainPreimage([step('s', { a: 1, b: 'x' })], D1)), taskKey(chainPreimage([step('s', { b: 'x', a: 1 })], D1)));
  t.not(taskKey(aggregatePreimage(step('jsonl', {}), [D1, D2])), taskKey(aggregatePreimage(step('jsonl', {}), [D2, D1])));
});

t.test('a fetch key names the listing content and the path, never the mirror', async (t) => {
  const pre = fetchPreimage(step('http-fetch', {}), D1, 'crawl-data/X/segments/1/warc/a.warc.gz');
  t.notMatch(JSON.stringify(pre), /127\.0\.0\.1|http:|https:/);
  t.not(taskKey(pre), taskKey(fetchPreimage(step('http-fetch', {}), D1, 'crawl-data/X/segments/1/warc/b.warc.gz')));
});

t.test('an apply key names its segment\'s own drop list, not the whole plan', async (t) => {
  const dedup = step('dedup', {});
  const [dropsA, dropsB] = [sha256(encodeFrame({ ordinal: 0, reason: 'exact-duplicate' })), sha256(encodeFrame({ ordinal: 1, reason: 'exact-duplicate' }))];
  const key = (out: typeof D1, drops: typeof D1) => taskKey(globalApplyPreimage(dedup, out, drops));
  t.not(key(D1, dropsA), key(D1, dropsB), 'same records, different drop lists: different keys');
  t.not(key(D1, dropsA), key(D1, EMPTY_DROP_LIST), 'a segment that loses records is not keyed like one that loses none');
  t.equal(key(D1, dropsA), key(D1, dropsA), 'same records, same drop list: the same key (and the same output)');
  t.equal(EMPTY_DROP_LIST, 'sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855', 'the empty drop list is the sha256 of zero bytes');
});

t.test('runGlobalApply keys each segment by its drop list, the empty one when the plan drops nothing from it', async (t) => {
  const store = new ObjectStore(t.testdir());
  await store.init();
  const env: ExecEnv = { store, mirror: 'file:///nonexistent/', log: pino({ level: 'silent' }), emit: () => {} };
  const dedup = step('dedup', {});
  const signal = new AbortController().signal;
  const records = await store.putBytes(Buffer.concat([encodeFrame({ text: 'a' }), encodeFrame({ text: 'b' })]));
  const drops = await store.putBytes(encodeFrame({ ordinal: 0, reason: 'exact-duplicate' }));
  const apply = (index: number, d: typeof D1 | undefined) => runGlobalApply(env, dedup, 0, { index, path: `s${index}` }, records.digest, { drops: d }, signal);
  const keeps = await apply(0, undefined);
  t.same(keeps.result.preimage.inputs, [records.digest, EMPTY_DROP_LIST], 'no drops: the empty drop list is the second input');
  t.equal(keeps.result.output.records, 2);
  const loses = await apply(1, drops.digest);
  t.same(loses.result.preimage.inputs, [records.digest, drops.digest]);
  t.not(loses.result.key, keeps.result.key, 'identical records, different drops: different keys');
  t.equal(loses.result.output.records, 1);
  t.notOk(loses.cached, 'so the second segment runs instead of reusing the first one\'s output');
  const again = await apply(2, drops.digest);
  t.ok(again.cached, 'identical records and identical drops: the same key, and the cached output is right');
  t.equal(again.result.output.records, 1);
});

t.test('merkle root follows RFC 6962 hashing', async (t) => {
  const h = (...parts: (Buffer | number[])[]) => createHash('sha256').update(Buffer.concat(parts.map((p) => Buffer.from(p)))).digest();
  t.equal(merkleRoot([]), `sha256:${createHash('sha256').digest('hex')}`, 'empty tree');
  const [a, b, c] = [Buffer.from('a'), Buffer.from('b'), Buffer.from('c')];
  const la = h([0], a);
  const lb = h([0], b);
  const lc = h([0], c);
  t.equal(merkleRoot([a]), `sha256:${la.toString('hex')}`);
  t.equal(merkleRoot([a, b]), `sha256:${h([1], la, lb).toString('hex')}`);
  t.equal(merkleRoot([a, b, c]), `sha256:${h([1], h([1], la, lb), lc).toString('hex')}`, 'left subtree takes the largest power of two');
  t.not(merkleRoot([a, b]), merkleRoot([b, a]));
});
