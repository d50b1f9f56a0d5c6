/**
 * Text statistics shared by the quality filters. Words are runs of letters, marks and digits (Unicode
 * aware) plus runs of other non-space characters, which DataTrove counts as "symbol words"; this is simpler
 * than DataTrove's per-language NLTK/spaCy word splitters, so counts can differ on some scripts.
 */
const WORD_RE = /[\p{L}\p{M}\p{N}_'’-]+|[^\s\p{L}\p{M}\p{N}]+/gu;
const HAS_ALPHA = /\p{L}/u;
const SYMBOL_ONLY = /^[^\p{L}\p{M}\p{N}]+$/u;

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
 * Word n-grams as keys built from small word ids, n = 1..max, each from the previous: one pass per n and
 * no per-n-gram slicing (the repetition filter looks at n = 2..10 on every document).
 */
export class NgramIndex {
  readonly #ids: number[];
  #keys: string[];
  #n = 1;
  readonly lengths: number[];
  constructor(ws: readonly string[]) {
    const dict = new Map<string, number>();
    this.#ids = ws.map((w) => {
      let id = dict.get(w);
      if (id === undefined) dict.set(w, (id = dict.size));
      return id;
    });
    this.#keys = this.#ids.map(String);
    this.lengths = ws.map((w) => w.length);
  }
  /** Keys of the n-grams starting at each position (advances from the last n asked for; n only grows). */
  keys(n: number): readonly string[] {
    while (this.#n < n) {
      const next: string[] = [];
      for (let i = 0; i + this.#n < this.#ids.length; i++) next.push(`${this.#keys[i]},${this.#ids[i + this.#n]}`);
      this.#keys = next;
      this.#n++;
    }
    return this.#keys;
  }
}

/** The most frequent word n-gram's characters times its count, over all characters (find_top_duplicate). */
export function topNgramCharFraction(index: NgramIndex, n: number, totalChars: number): number {
  const keys = index.keys(n);
  if (keys.length === 0 || totalChars === 0) return 0;
  const counts = new Map<string, { count: number; first: number }>();
  keys.forEach((k, i) => {
    const c = counts.get(k);
    if (c) c.count++;
    else counts.set(k, { count: 1, first: i });
  });
  let bestChars = 0;
  let bestCount = 0;
  for (const { count, first } of counts.values()) {
    if (count < bestCount) continue;
    let chars = 0;
    for (let k = first; k < first + n; k++) chars += index.lengths[k]!;
    // Ties go to the longer n-gram, so the result never depends on map order.
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
  const keys = index.keys(n);
  if (keys.length === 0 || totalChars === 0) return 0;
  const seen = new Set<string>();
  const covered = new Uint8Array(index.lengths.length);
  let i = 0;
  while (i < keys.length) {
    const g = keys[i]!;
    if (seen.has(g)) {
      covered.fill(1, i, i + n);
      i += n;
    } else {
      seen.add(g);
      i++;
    }
  }
  let chars = 0;
  for (let k = 0; k < covered.length; k++) if (covered[k]) chars += index.lengths[k]!;
  return chars / totalChars;
}
