import { get_encoding } from 'tiktoken';
import { U } from '../../stages/lib/unicode.ts';
import { BpeEncoder } from '../../stages/tokenize/bpe.ts';
import { ENCODING_NAMES } from '../../stages/tokenize/encodings.ts';

/*
 * Run by test/node-matrix.test.ts on each Node of the matrix (`node --import tsx test/support/sweep-delta.ts`):
 * the code points where this Node's own Unicode tables (\p{…}) disagree with the pinned ones, which are
 * where a tokenizer reading the runtime's tables would go wrong, plus every 97th scalar value, tokenized in
 * four contexts by us and by tiktoken for every encoding. Prints one JSON line: what was checked, what differed.
 */
const CLASSES = ['L', 'Lu', 'Ll', 'Lt', 'Lm', 'Lo', 'M', 'N', 'White_Space'] as const;
const runtime = CLASSES.map((c) => new RegExp(`^\\p{${c}}$`, 'u'));
const pinned = CLASSES.map((c) => new RegExp(`^[${U[c]}]$`, 'u'));
const CONTEXTS = [(c: string) => c, (c: string) => ` ${c}`, (c: string) => `${c}'s`, (c: string) => `ab${c}cd`];

const delta: number[] = [];
const points: number[] = [];
for (let cp = 0; cp <= 0x10ffff; cp++) {
  if (cp >= 0xd800 && cp <= 0xdfff) continue;
  const c = String.fromCodePoint(cp);
  const differs = CLASSES.some((_, i) => runtime[i]!.test(c) !== pinned[i]!.test(c));
  if (differs) delta.push(cp);
  if (differs || cp % 97 === 0) points.push(cp);
}

const differences: string[] = [];
for (const name of ENCODING_NAMES) {
  const ours = new BpeEncoder(name);
  const ref = get_encoding(name);
  for (const wrap of CONTEXTS) {
    for (let i = 0; i < points.length; i += 2048) {
      const text = points.slice(i, i + 2048).map((cp) => `${wrap(String.fromCodePoint(cp))}\n`).join('');
      const a = ours.encode(text);
      const b = ref.encode_ordinary(text);
      if (a.length !== b.length || a.some((x, j) => x !== b[j])) differences.push(`${name} ${JSON.stringify(wrap('X'))} batch from U+${points[i]!.toString(16)}`);
    }
  }
  ref.free();
}
process.stdout.write(`${JSON.stringify({ node: process.version, unicode: process.versions.unicode, runtimeDiffersAt: delta.length, checked: points.length, differences })}\n`);
