import t from 'tap';
import { get_encoding } from 'tiktoken';
import { BpeEncoder } from '../stages/tokenize/bpe.ts';
import { U } from '../stages/lib/unicode.ts';
import { ENCODING_NAMES, loadEncoding } from '../stages/tokenize/encodings.ts';
import { buildTextCorpus } from '../bench/text-corpus.ts';

/*
 * Unicode scalar values, in four contexts, tokenized by us and by the tiktoken package (its WASM build
 * carries its own Unicode tables): zero differences for every encoding we offer, on whatever Node runs the
 * test. Every code point of planes 0-3 and 14 is tried, where every assigned character is; planes 4-13
 * (unassigned) and 15-16 (private use) hold no letter, number, mark or space in the pinned tables (checked
 * below), so every 257th of theirs stands for the rest. `npm run bench -- unicode` sweeps all of them.
 * Code points are batched (one context, then a newline, 2,048 to a call); a batch that differs is searched
 * for the first code point that differs on its own.
 */
const CONTEXTS: readonly (readonly [string, (c: string) => string])[] = [
  ['alone', (c) => c],
  ['after a space', (c) => ` ${c}`],
  ["before 's", (c) => `${c}'s`],
  ['inside a word', (c) => `ab${c}cd`],
];
const BATCH = 2048;
/** REINGEST_SWEEP_ALL=1 (`npm run bench -- unicode`) tries every scalar value of every plane. */
const EVERY = (cp: number) => process.env.REINGEST_SWEEP_ALL === '1' || cp < 0x40000 || (cp >= 0xe0000 && cp < 0xf0000);
const STRIDE = 257;

function* scalarValues(): Generator<number[]> {
  let batch: number[] = [];
  for (let cp = 0; cp <= 0x10ffff; cp++) {
    if ((cp >= 0xd800 && cp <= 0xdfff) || (!EVERY(cp) && cp % STRIDE !== 0 && cp !== 0x10ffff)) continue;
    batch.push(cp);
    if (batch.length === BATCH) {
      yield batch;
      batch = [];
    }
  }
  if (batch.length) yield batch;
}

const same = (a: ArrayLike<number>, b: ArrayLike<number>) => a.length === b.length && Array.prototype.every.call(a, (x: number, i: number) => x === b[i]);

t.test('the pre-tokenizer names no runtime Unicode property: its classes are the pinned tables', async (t) => {
  for (const name of ENCODING_NAMES) t.notMatch(loadEncoding(name).pattern.source, /\\[pP]\{|\\s|\\S|\\w|\\d/, `${name}: no \\p{…}, \\s, \\w or \\d`);
});

t.test('the sampled planes hold no character of any class the patterns use', async (t) => {
  const inClass = new RegExp(`[${Object.values(U).join('')}]`, 'u');
  const found: string[] = [];
  for (let cp = 0x40000; cp <= 0x10ffff; cp++) if (!EVERY(cp) && inClass.test(String.fromCodePoint(cp))) found.push(`U+${cp.toString(16)}`);
  t.same(found, []);
});

for (const name of ENCODING_NAMES.filter((n) => n !== 'gpt2')) {
  t.test(`${name}: every scalar value in ${CONTEXTS.length} contexts gives tiktoken's ids`, async (t) => {
    const ours = new BpeEncoder(name);
    const ref = get_encoding(name);
    t.teardown(() => ref.free());
    const differs: string[] = [];
    let checked = 0;
    for (const [context, wrap] of CONTEXTS) {
      for (const batch of scalarValues()) {
        const text = batch.map((cp) => `${wrap(String.fromCodePoint(cp))}\n`).join('');
        checked += batch.length;
        if (same(ours.encode(text), ref.encode_ordinary(text))) continue;
        const first = batch.find((cp) => !same(ours.encode(wrap(String.fromCodePoint(cp))), ref.encode_ordinary(wrap(String.fromCodePoint(cp)))));
        differs.push(`${context}: batch from U+${batch[0]!.toString(16).toUpperCase()}${first === undefined ? '' : `, first alone U+${first.toString(16).toUpperCase()}`}`);
      }
    }
    t.same(differs, [], `${name}: ${checked} texts, ${differs.length} batches differ`);
  });
}

t.test("r50k_base and p50k_base match contractions case-sensitively, as tiktoken does", async (t) => {
  for (const name of ['r50k_base', 'p50k_base', 'gpt2'] as const) {
    const ref = get_encoding(name === 'gpt2' ? 'gpt2' : name);
    for (const text of ["O'Sullivan", "DON'T", "it'S", "we'LL", "I'm"]) t.same([...new BpeEncoder(name).encode(text)], [...ref.encode_ordinary(text)], `${name} ${text}`);
    ref.free();
  }
  t.same([...new BpeEncoder('gpt2').encode("O'Sullivan")], [46, 6, 47572]);
});

t.test('whole documents in many scripts (the translations of every installed package, Debian docs): tiktoken\'s ids', async (t) => {
  // Texts under their packages' licences (/usr/share/doc/*/copyright), on every Debian machine, CI's too.
  const corpus = buildTextCorpus(1024 * 1024);
  t.ok(corpus.multilingual > 256 * 1024, `${corpus.docs.length} documents, ${corpus.multilingual} bytes of translations, ${corpus.english} of English`);
  for (const name of ENCODING_NAMES) {
    const ours = new BpeEncoder(name);
    const ref = get_encoding(name);
    const differ = corpus.docs.filter((d) => !same(ours.encode(d.text), ref.encode_ordinary(d.text))).map((d) => d.source);
    ref.free();
    t.same(differ, [], `${name}: ${corpus.docs.length - differ.length} of ${corpus.docs.length} documents identical`);
  }
});
