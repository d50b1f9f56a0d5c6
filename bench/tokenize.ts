/**
 * `npm run bench -- tokenize`: MB/s on one core for our BPE, tiktoken (the official WASM port) and
 * gpt-tokenizer (pure JS) on the same >= 20 MB of real text (bench/text-corpus.ts: half English, half
 * many-script), one encode per document. Each library runs BENCH_ROUNDS times (default 3), interleaved so
 * that machine noise hits all alike; the table shows the best round and the ratio to tiktoken. Ids are
 * compared with tiktoken's on every document first. env: BENCH_MB (default 21), BENCH_ENCODINGS.
 */
import { get_encoding, type TiktokenEncoding } from 'tiktoken';
import { BpeEncoder } from '../stages/tokenize/bpe.ts';
import type { EncodingName } from '../stages/tokenize/encodings.ts';
import { buildTextCorpus } from './text-corpus.ts';

type Encode = (text: string) => ArrayLike<number>;

async function gptTokenizer(name: EncodingName): Promise<Encode | null> {
  const mod: Record<string, string> = { cl100k_base: 'cl100k_base', o200k_base: 'o200k_base', r50k_base: 'r50k_base', gpt2: 'r50k_base' };
  try {
    const m = (await import(`gpt-tokenizer/encoding/${mod[name]}`)) as { encode: (t: string, o?: object) => number[] };
    return (t) => m.encode(t, { disallowedSpecial: new Set() });
  } catch {
    return null;
  }
}

export async function tokenizeBench(): Promise<void> {
  const corpus = buildTextCorpus(Number(process.env.BENCH_MB ?? 21) * 1e6);
  const mb = corpus.bytes / 1e6;
  console.log(`corpus: ${corpus.docs.length} documents, ${mb.toFixed(2)} MB UTF-8 (${(corpus.english / 1e6).toFixed(1)} MB English docs, ${(corpus.multilingual / 1e6).toFixed(1)} MB translations in many scripts)`);
  const rounds = Number(process.env.BENCH_ROUNDS ?? 3);
  for (const name of (process.env.BENCH_ENCODINGS ?? 'cl100k_base,o200k_base').split(',') as EncodingName[]) {
    const ref = get_encoding(name as TiktokenEncoding);
    const ours = new BpeEncoder(name);
    const gpt = await gptTokenizer(name);
    const libs: [string, Encode][] = [
      ['reingest BPE', (t) => ours.encode(t)],
      ['tiktoken (WASM)', (t) => ref.encode_ordinary(t)],
      ...(gpt ? [['gpt-tokenizer', gpt] as [string, Encode]] : []),
    ];
    // Correctness on every document, before timing (this also warms every library up).
    const mismatches = Object.fromEntries(libs.map(([l]) => [l, 0]));
    let tokens = 0;
    for (const d of corpus.docs) {
      const want = ref.encode_ordinary(d.text);
      tokens += want.length;
      for (const [l, enc] of libs) {
        const got = enc(d.text);
        if (got.length !== want.length || !Array.prototype.every.call(got, (x: number, i: number) => x === want[i])) mismatches[l]!++;
      }
    }
    const best = new Map<string, number>();
    for (let r = 0; r < rounds; r++) {
      for (const [l, enc] of r % 2 === 0 ? libs : [...libs].reverse()) {
        const t0 = performance.now();
        for (const d of corpus.docs) enc(d.text);
        const s = (performance.now() - t0) / 1000;
        best.set(l, Math.min(best.get(l) ?? Infinity, s));
      }
    }
    const base = best.get('tiktoken (WASM)')!;
    console.log(`\n${name}: ${tokens} tokens, best of ${rounds} interleaved rounds, one core`);
    console.table(
      libs.map(([l]) => ({
        library: l,
        'MB/s': (mb / best.get(l)!).toFixed(2),
        'x tiktoken': (base / best.get(l)!).toFixed(2),
        'docs with ids != tiktoken': `${mismatches[l]} / ${corpus.docs.length}`,
      })),
    );
    ref.free();
  }
}
