import t from 'tap';
import { foldCase, U, UNICODE_VERSION } from '../stages/lib/unicode.ts';
import { hasAlpha, words } from '../stages/quality/text-stats.ts';

/*
 * Stages read Unicode properties and case folding from the pinned tables (stages/lib/unicode.ts), never the
 * running Node's ICU. Characters added in Unicode 17 are the probe: this Node's ICU may know them (Node
 * 20.20 and 24 ship Unicode 17), the pinned 16.0 tables do not, and a stage must agree with the tables.
 */
const CJK_EXT_J = '\u{323B0}'; // Unicode 17.0: a letter to Node 20.20's ICU, not yet assigned in 16.0
const GARAY_CAPITAL_A = '\u{10D50}'; // Unicode 16.0: a cased letter (small: U+10D70), unknown to Node 20.15's ICU

t.test('the tables are Unicode 16.0.0, as tiktoken 1.0.22 build', async (t) => {
  t.equal(UNICODE_VERSION, '16.0.0');
  const letter = new RegExp(`[${U.L}]`, 'u');
  t.ok(letter.test(GARAY_CAPITAL_A), 'a Unicode 16 letter is a letter');
  t.notOk(letter.test(CJK_EXT_J), 'a Unicode 17 letter is not, whatever this Node says');
});

t.test('word splitting follows the tables, not the runtime', async (t) => {
  t.same(words(`ab${GARAY_CAPITAL_A}cd`), [`ab${GARAY_CAPITAL_A}cd`], 'a Unicode 16 letter inside a word');
  t.same(words(`ab${CJK_EXT_J}cd`), ['ab', CJK_EXT_J, 'cd'], 'an unassigned (in 16.0) code point is a symbol word of its own');
  t.notOk(hasAlpha(CJK_EXT_J));
  t.ok(hasAlpha(GARAY_CAPITAL_A));
});

t.test('case folding: Unicode simple folding from the tables, with no context or locale', async (t) => {
  t.equal(foldCase('Hello WORLD'), 'hello world');
  t.equal(foldCase('ΣΑΣ ς'), 'σασ σ', 'final sigma folds like any sigma');
  t.equal(foldCase('ſ K ẞ'), 's k ß', 'long s, Kelvin sign, capital sharp s');
  t.equal(foldCase('\u{AB70}'), '\u{13A0}', 'Cherokee small letters fold to the capitals');
  t.equal(foldCase(`x${GARAY_CAPITAL_A}y`), 'x\u{10D70}y', 'a Unicode 16 case pair, astral');
  t.equal(foldCase('İ'), 'İ', 'no simple folding for dotted capital I (only the Turkic and full ones)');
  t.equal(foldCase('plain ascii, unchanged'), 'plain ascii, unchanged');
  const s = 'A\u{D800}B';
  t.equal(foldCase(s), 'a\u{D800}b', 'a lone surrogate passes through');
});

t.test("JavaScript's \\s (also trim and split(/\\s+/)) is White_Space without U+0085, plus U+FEFF, on this Node too", async (t) => {
  // Stages keep \s where its set is the same on every Node: it is this fixed list plus category Zs, which no
  // Unicode version since 6.3 has changed. If a Node ever differed, this fails on that cell of the matrix.
  const ws = new RegExp(`^[${U.White_Space}]$`, 'u');
  const differs: string[] = [];
  for (let cp = 0; cp <= 0x10ffff; cp++) {
    if (cp >= 0xd800 && cp <= 0xdfff) continue;
    const c = String.fromCodePoint(cp);
    const expected = (ws.test(c) && cp !== 0x85) || cp === 0xfeff;
    if (/^\s$/u.test(c) !== expected) differs.push(`U+${cp.toString(16)}`);
  }
  t.same(differs, []);
});
