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

/** The most frequent word n-gram's characters times its count, over all characters (find_top_duplicate). */
export function topNgramCharFraction(ws: readonly string[], n: number, totalChars: number): number {
  if (ws.length < n || totalChars === 0) return 0;
  const counts = new Map<string, number>();
  for (let i = 0; i + n <= ws.length; i++) {
    const g = ws.slice(i, i + n).join(' ');
    counts.set(g, (counts.get(g) ?? 0) + 1);
  }
  let best = '';
  let bestCount = 0;
  for (const [g, c] of counts) {
    // Ties go to the longer, then byte-smaller n-gram, so the result never depends on map order.
    if (c > bestCount || (c === bestCount && (g.length > best.length || (g.length === best.length && g < best)))) {
      best = g;
      bestCount = c;
    }
  }
  if (bestCount < 2) return 0;
  return (best.replace(/ /g, '').length * bestCount) / totalChars;
}

/** Characters of words covered by n-grams that occur more than once (find_all_duplicate), over all characters. */
export function duplicatedNgramCharFraction(ws: readonly string[], n: number, totalChars: number): number {
  if (ws.length < n || totalChars === 0) return 0;
  const seen = new Set<string>();
  const covered = new Uint8Array(ws.length);
  let i = 0;
  while (i + n <= ws.length) {
    const g = ws.slice(i, i + n).join(' ');
    if (seen.has(g)) {
      covered.fill(1, i, i + n);
      i += n;
    } else {
      seen.add(g);
      i++;
    }
  }
  let chars = 0;
  for (let k = 0; k < ws.length; k++) if (covered[k]) chars += ws[k]!.length;
  return chars / totalChars;
}
