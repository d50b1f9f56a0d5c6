import { createHash } from 'node:crypto';
import t from 'tap';
import { merkleRoot, sha256 } from '../cache/digest.ts';
import { aggregatePreimage, chainPreimage, fetchPreimage, taskKey } from '../runner/keys.ts';
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
