import t from 'tap';
import { duplicatedNgramCharFraction, NgramIndex, topNgramCharFraction } from '../stages/quality/text-stats.ts';

// DataTrove's find_top_duplicate and find_all_duplicate written the plain way, over n-grams as joined
// strings: the interned-id version must give exactly these numbers.
function grams(ws: readonly string[], n: number): string[] {
  const out: string[] = [];
  for (let i = 0; i + n <= ws.length; i++) out.push(ws.slice(i, i + n).join('\u0000'));
  return out;
}

function topReference(ws: readonly string[], n: number, total: number): number {
  const counts = new Map<string, number>();
  for (const g of grams(ws, n)) counts.set(g, (counts.get(g) ?? 0) + 1);
  let bestCount = 0;
  let bestChars = 0;
  for (const [g, count] of counts) {
    const chars = g.split('\u0000').reduce((a, w) => a + w.length, 0);
    if (count > bestCount || (count === bestCount && chars > bestChars)) {
      bestCount = count;
      bestChars = chars;
    }
  }
  return bestCount < 2 || total === 0 ? 0 : (bestChars * bestCount) / total;
}

function dupReference(ws: readonly string[], n: number, total: number): number {
  const gs = grams(ws, n);
  if (gs.length === 0 || total === 0) return 0;
  const seen = new Set<string>();
  const covered = new Array<boolean>(ws.length).fill(false);
  for (let i = 0; i < gs.length; ) {
    if (seen.has(gs[i]!)) {
      for (let k = i; k < i + n; k++) covered[k] = true;
      i += n;
    } else {
      seen.add(gs[i]!);
      i++;
    }
  }
  return covered.reduce((a, c, k) => a + (c ? ws[k]!.length : 0), 0) / total;
}

t.test('n-gram repetition statistics equal the joined-string definitions on random texts', async (t) => {
  let seed = 12345;
  const rand = (m: number) => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return seed % m;
  };
  const vocab = ['a', 'bb', 'ccc', 'the', 'spam', 'x', 'yy', 'Über', '日本', 'end.'];
  let checked = 0;
  for (let doc = 0; doc < 300; doc++) {
    const len = rand(60);
    const v = 1 + rand(vocab.length); // small vocabularies repeat a lot, large ones rarely
    const ws = Array.from({ length: len }, () => vocab[rand(v)]!);
    const total = ws.reduce((a, w) => a + w.length, 0);
    const index = new NgramIndex(ws);
    for (const n of [2, 3, 4]) {
      if (topNgramCharFraction(index, n, total) !== topReference(ws, n, total)) t.fail(`top ${n}-gram differs on ${JSON.stringify(ws)}`);
      checked++;
    }
    for (const n of [5, 6, 7, 8, 9, 10]) {
      if (duplicatedNgramCharFraction(index, n, total) !== dupReference(ws, n, total)) t.fail(`duplicated ${n}-grams differ on ${JSON.stringify(ws)}`);
      checked++;
    }
  }
  t.equal(checked, 2700, 'every document and n checked');
  const repeated = 'buy cheap pills now '.repeat(5).trim().split(' ');
  t.ok(topNgramCharFraction(new NgramIndex(repeated), 2, 75) > 0, 'a repeated phrase has a top 2-gram');
  t.equal(duplicatedNgramCharFraction(new NgramIndex(['one', 'two']), 5, 6), 0, 'fewer words than n: nothing duplicated');
});
