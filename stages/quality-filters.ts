import { defineFilter } from './quality/filter-stage.ts';
import { duplicatedNgramCharFraction, duplicates, endsWithTerminal, hasAlpha, isSymbolWord, NgramIndex, topNgramCharFraction, words } from './quality/text-stats.ts';
import { foldCase } from './lib/unicode.ts';

/*
 * DataTrove's Gopher quality, Gopher repetition, C4 quality and FineWeb quality filters, with the same
 * default thresholds (datatrove a649de7, src/datatrove/pipeline/filters/*). Each drop is counted under a
 * stable reason, so the manifest shows the funnel per filter.
 */

const STOP_WORDS = new Set(['the', 'be', 'to', 'of', 'and', 'that', 'have', 'with']);
const BULLETS = ['•', '●', '○', '■', '□', '▪', '▫', '–', '-', '*', '·', '‣', '⁃'];

export const gopherQuality = defineFilter({
  name: 'gopher-quality',
  version: '2',
  description: "Gopher quality rules (word counts, word length, symbols, bullets, ellipses, alphabetic words, stop words) at DataTrove's defaults.",
  ratios: { maxSymbolWordRatio: '0.1', maxBulletLinesRatio: '0.9', maxEllipsisLinesRatio: '0.3', minAlphaWordsRatio: '0.8' },
  integers: { minDocWords: 50, maxDocWords: 100_000, minAvgWordLength: 3, maxAvgWordLength: 10, minStopWords: 2 },
  check(text, p) {
    const ws = words(text);
    const nonSymbol = ws.filter((w) => !isSymbolWord(w));
    const n = nonSymbol.length;
    if (n < p.minDocWords!) return { drop: 'gopher-below-min-words' };
    if (n > p.maxDocWords!) return { drop: 'gopher-above-max-words' };
    const avg = nonSymbol.reduce((s, w) => s + [...w].length, 0) / n;
    if (avg < p.minAvgWordLength!) return { drop: 'gopher-below-avg-word-length' };
    if (avg > p.maxAvgWordLength!) return { drop: 'gopher-above-avg-word-length' };
    const symbols = (text.match(/#/g)?.length ?? 0) + (text.match(/\.\.\.|…/g)?.length ?? 0);
    if (symbols / ws.length > p.maxSymbolWordRatio!) return { drop: 'gopher-symbol-word-ratio' };
    const lines = text.split('\n');
    if (lines.filter((l) => BULLETS.some((b) => l.trimStart().startsWith(b))).length / lines.length > p.maxBulletLinesRatio!) return { drop: 'gopher-bullet-lines' };
    if (lines.filter((l) => /(\.\.\.|…)\s*$/.test(l)).length / lines.length > p.maxEllipsisLinesRatio!) return { drop: 'gopher-ellipsis-lines' };
    if (ws.filter(hasAlpha).length / ws.length < p.minAlphaWordsRatio!) return { drop: 'gopher-alpha-words' };
    if (ws.filter((w) => STOP_WORDS.has(foldCase(w))).length < p.minStopWords!) return { drop: 'gopher-stop-words' };
    return { keep: text };
  },
});

export const gopherRepetition = defineFilter({
  name: 'gopher-repetition',
  version: '2',
  description: "Gopher repetition rules (duplicate lines and paragraphs, top and duplicated n-grams) at DataTrove's defaults.",
  ratios: {
    dupParaFrac: '0.3', dupParaCharFrac: '0.2', dupLineFrac: '0.3', dupLineCharFrac: '0.2',
    top2: '0.20', top3: '0.18', top4: '0.16',
    dup5: '0.15', dup6: '0.14', dup7: '0.13', dup8: '0.12', dup9: '0.11', dup10: '0.10',
  },
  integers: {},
  check(text, p) {
    const paragraphs = text.trim().split(/\n{2,}/);
    const pd = duplicates(paragraphs);
    if (pd.count / paragraphs.length > p.dupParaFrac!) return { drop: 'gopher-dup-paragraphs' };
    if (pd.chars / text.length > p.dupParaCharFrac!) return { drop: 'gopher-dup-paragraph-chars' };
    const lines = text.split('\n');
    const ld = duplicates(lines);
    if (ld.count / lines.length > p.dupLineFrac!) return { drop: 'gopher-dup-lines' };
    if (ld.chars / text.length > p.dupLineCharFrac!) return { drop: 'gopher-dup-line-chars' };
    const ws = words(text);
    const chars = ws.reduce((s, w) => s + w.length, 0);
    const index = new NgramIndex(ws);
    for (const n of [2, 3, 4]) if (topNgramCharFraction(index, n, chars) > p[`top${n}`]!) return { drop: `gopher-top-${n}-gram` };
    for (const n of [5, 6, 7, 8, 9, 10]) if (duplicatedNgramCharFraction(index, n, chars) > p[`dup${n}`]!) return { drop: `gopher-dup-${n}-grams` };
    return { keep: text };
  },
});

const POLICY = ['terms of use', 'privacy policy', 'cookie policy', 'uses cookies', 'use of cookies', 'use cookies'];
const CITATION = /\[\d+\]|\[edit\]|\[citation needed\]/gi;

export const c4Quality = defineFilter({
  name: 'c4-quality',
  version: '2',
  description: "C4's line rules (terminal punctuation, >= 3 words, no javascript or policy lines, no overlong words) and document rules (lorem ipsum, '{', >= 5 sentences), at DataTrove's defaults.",
  ratios: {},
  integers: { minNumSentences: 5, minWordsPerLine: 3, maxWordLength: 1000, filterNoTerminalPunct: 1 },
  check(text, p) {
    const lower = foldCase(text);
    if (lower.includes('lorem ipsum')) return { drop: 'c4-lorem-ipsum' };
    if (text.includes('{')) return { drop: 'c4-curly-bracket' };
    const kept: string[] = [];
    for (const raw of text.split('\n')) {
      const line = raw.replace(CITATION, '').trim();
      const ws = line.split(/\s+/).filter(Boolean);
      const l = foldCase(line);
      if (ws.some((w) => w.length > p.maxWordLength!)) continue;
      if (p.filterNoTerminalPunct && (!endsWithTerminal(line) || line.endsWith('...'))) continue;
      if (ws.length < p.minWordsPerLine!) continue;
      if (l.includes('javascript')) continue;
      if (POLICY.some((x) => l.includes(x))) continue;
      kept.push(line);
    }
    const out = kept.join('\n');
    const sentences = out.split(/(?<=[.!?。！？])\s+/).filter((s) => s.trim().length > 0).length;
    if (kept.length === 0 || sentences < p.minNumSentences!) return { drop: 'c4-too-few-sentences' };
    return { keep: out };
  },
});

export const finewebQuality = defineFilter({
  name: 'fineweb-quality',
  version: '2',
  description: "FineWeb's rules (lines ending in punctuation, short lines, duplicated-line characters, newlines per word) at DataTrove's defaults.",
  ratios: { linePunctThr: '0.12', shortLineThr: '0.67', charDuplicatesRatio: '0.01', newLineRatio: '0.3' },
  integers: { shortLineLength: 30 },
  check(text, p) {
    const lines = text.split('\n').filter((l) => l.trim().length > 0);
    if (lines.length === 0) return { drop: 'fineweb-empty' };
    if (lines.filter(endsWithTerminal).length / lines.length < p.linePunctThr!) return { drop: 'fineweb-line-punct-ratio' };
    if (lines.filter((l) => l.length <= p.shortLineLength!).length / lines.length > p.shortLineThr!) return { drop: 'fineweb-short-line-ratio' };
    const nonEmpty = lines.join('\n');
    if (duplicates(lines).chars / nonEmpty.replace(/\n/g, '').length > p.charDuplicatesRatio!) return { drop: 'fineweb-char-dup-ratio' };
    const ws = words(text);
    if ((text.match(/\n/g)?.length ?? 0) / Math.max(1, ws.length) > p.newLineRatio!) return { drop: 'fineweb-newline-ratio' };
    return { keep: text };
  },
});
