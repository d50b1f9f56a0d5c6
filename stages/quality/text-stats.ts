import { U } from '../lib/unicode.ts';

/**
 * Text statistics shared by the quality filters. Words are runs of letters, marks and digits plus runs of
 * other non-space characters, which DataTrove counts as "symbol words"; this is simpler than DataTrove's
 * per-language NLTK/spaCy word splitters, so counts can differ on some scripts. The classes are the pinned
 * Unicode tables (lib/unicode.ts), not the runtime's, so a word is a word on every Node version.
 */
const LMN = `${U.L}${U.M}${U.N}`;
const WORD_RE = new RegExp(`[${LMN}_'’-]+|[^${U.White_Space}${LMN}]+`, 'gu');
const HAS_ALPHA = new RegExp(`[${U.L}]`, 'u');
const SYMBOL_ONLY = new RegExp(`^[^${LMN}]+$`, 'u');

export function words(text: string): string[] {
  return text.match(WORD_RE) ?? [];
}

export function isSymbolWord(w: string): boolean {
  return SYMBOL_ONLY.test(w);
}

export function hasAlpha(w: string): boolean {
  return HAS_ALPHA.test(w);
}

/** Ends of lines that count as a finished sentence, in several scripts. */
export const TERMINAL_PUNCTUATION = ['.', '!', '?', '"', "'", '…', '。', '！', '？', '؟', '।', '॥', '」', '』', '”', '’'];

export function endsWithTerminal(line: string): boolean {
  const t = line.trimEnd();
  return TERMINAL_PUNCTUATION.some((p) => t.endsWith(p));
}

/** Number of items that repeat an earlier one, and the characters in those repeats (DataTrove's find_duplicates). */
export function duplicates(items: readonly string[]): { count: number; chars: number } {
  const seen = new Set<string>();
  let count = 0;
  let chars = 0;
  for (const x of items) {
    if (seen.has(x)) {
      count++;
      chars += x.length;
    } else seen.add(x);
  }
  return { count, chars };
}

/**
 * Word n-grams as small integer ids, n = 1..max, each level from the previous: the n-gram at position i
 * is the pair (its (n-1)-gram's id, the id of word i+n-1), interned, so two positions share an id exactly
 * when their n words are equal. One pass per n, no strings built (the repetition filter looks at n = 2..10
 * on every document).
 */
export class NgramIndex {
  readonly #words: Int32Array;
  #ids: Int32Array;
  /** How many distinct n-grams the current level has (ids are 0..distinct-1). */
  #distinct: number;
  #n = 1;
  readonly lengths: number[];
  constructor(ws: readonly string[]) {
    const dict = new Map<string, number>();
    this.#words = new Int32Array(ws.length);
    for (let i = 0; i < ws.length; i++) {
      let id = dict.get(ws[i]!);
      if (id === undefined) dict.set(ws[i]!, (id = dict.size));
      this.#words[i] = id;
    }
    this.#ids = this.#words;
    this.#distinct = dict.size;
    this.lengths = ws.map((w) => w.length);
  }
  /** Ids of the n-grams starting at each position, and how many distinct ones (advances from the last n; n only grows). */
  ids(n: number): { readonly ids: Int32Array; readonly distinct: number } {
    while (this.#n < n) {
      const prev = this.#ids;
      const next = new Int32Array(Math.max(0, prev.length - 1));
      const pairs = new Map<number, number>();
      // Both parts are below the word count, so the pair as one number is exact (< 2^53 for any text).
      const base = this.#words.length;
      for (let i = 0; i < next.length; i++) {
        const key = prev[i]! * base + this.#words[i + this.#n]!;
        let id = pairs.get(key);
        if (id === undefined) pairs.set(key, (id = pairs.size));
        next[i] = id;
      }
      this.#ids = next;
      this.#distinct = pairs.size;
      this.#n++;
    }
    return { ids: this.#ids, distinct: this.#distinct };
  }
}

/** The most frequent word n-gram's characters times its count, over all characters (find_top_duplicate). */
export function topNgramCharFraction(index: NgramIndex, n: number, totalChars: number): number {
  const { ids, distinct } = index.ids(n);
  if (ids.length === 0 || totalChars === 0) return 0;
  const counts = new Int32Array(distinct);
  const first = new Int32Array(distinct).fill(-1);
  for (let i = 0; i < ids.length; i++) {
    const g = ids[i]!;
    const seen = counts[g]!;
    counts[g] = seen + 1;
    if (seen === 0) first[g] = i;
  }
  let bestChars = 0;
  let bestCount = 0;
  for (let g = 0; g < distinct; g++) {
    const count = counts[g]!;
    if (count < bestCount) continue;
    let chars = 0;
    for (let k = first[g]!; k < first[g]! + n; k++) chars += index.lengths[k]!;
    // Ties go to the longer n-gram, so the result never depends on id order.
    if (count > bestCount || chars > bestChars) {
      bestCount = count;
      bestChars = chars;
    }
  }
  if (bestCount < 2) return 0;
  return (bestChars * bestCount) / totalChars;
}

/** Characters of words covered by n-grams that occur more than once (find_all_duplicate), over all characters. */
export function duplicatedNgramCharFraction(index: NgramIndex, n: number, totalChars: number): number {
  const { ids, distinct } = index.ids(n);
  if (ids.length === 0 || totalChars === 0) return 0;
  const seen = new Uint8Array(distinct);
  const covered = new Uint8Array(index.lengths.length);
  let i = 0;
  while (i < ids.length) {
    const g = ids[i]!;
    if (seen[g] === 1) {
      covered.fill(1, i, i + n);
      i += n;
    } else {
      seen[g] = 1;
      i++;
    }
  }
  let chars = 0;
  for (let k = 0; k < covered.length; k++) if (covered[k]) chars += index.lengths[k]!;
  return chars / totalChars;
}
