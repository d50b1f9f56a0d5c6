import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { U } from '../lib/unicode.ts';

/**
 * The byte-level BPE encodings we reproduce, with their vocabularies read from the `tiktoken` npm package
 * (its `encoders/NAME.json`, the files `tiktoken/lite` loads), so nothing is downloaded at run time.
 *
 * Identity: the ranks are re-serialised as OpenAI's published `NAME.tiktoken` file (one "base64 rank" line
 * per token, in rank order) and hashed. That sha256 is the one tiktoken's Python package pins for the
 * download (`expected_hash` in tiktoken_ext/openai_public.py), so a manifest's ranks digest can be checked
 * against OpenAI's file by anyone, whatever package they load it from. A package that ships other ranks
 * under the same name is refused.
 *
 * Pre-tokenisation: tiktoken's patterns use Rust regex semantics and the Unicode tables of tiktoken's
 * build. They are rewritten for JavaScript with the same meaning, with every character class spelled out
 * from the pinned Unicode data (stages/lib/unicode.ts), never `\p{…}`, which follows the running Node's
 * ICU. `\s` is Unicode White_Space in Rust (JS's `\s` adds U+FEFF and drops U+0085); `(?i:'s|...)` has
 * no JS equivalent in Node 20, so the case variants are listed, including U+017F LATIN SMALL LETTER LONG S,
 * which Unicode simple case folding maps to `s`. r50k_base and p50k_base match contractions case-sensitively,
 * as their patterns do.
 */
export type EncodingName = 'cl100k_base' | 'o200k_base' | 'p50k_base' | 'r50k_base' | 'gpt2';

export interface EncodingIdentity {
  readonly name: EncodingName;
  /** Where the ranks came from: npm package, version, file. */
  readonly package: string;
  readonly version: string;
  readonly file: string;
  /** sha256 of the ranks as OpenAI's `.tiktoken` file. */
  readonly ranksSha256: `sha256:${string}`;
  /** One more than the largest token id, special tokens included (what sizes a shard's dtype). */
  readonly vocabSize: number;
  readonly endOfText: number;
}

const S = `[${U.White_Space}]`;
const NOT_S = `[^${U.White_Space}]`;
const L = `[${U.L}]`;
const N = `[${U.N}]`;
const LN = `${U.L}${U.N}`;
/** `(?i:'s|'t|'re|'ve|'m|'ll|'d)` with Unicode simple case folding spelled out. */
const CONTRACTION = String.raw`'(?:[sS\u017F]|[tT]|[rR][eE]|[vV][eE]|[mM]|[lL][lL]|[dD])`;
const CONTRACTION_CASED = String.raw`'(?:[sdmt]|ll|ve|re)`;

interface EncodingDef {
  readonly file: string;
  readonly pattern: string;
  readonly ranksSha256: `sha256:${string}`;
  readonly vocabSize: number;
  readonly endOfText: number;
}

const R50K_PATTERN = `${CONTRACTION_CASED}| ?${L}+| ?${N}+| ?[^${U.White_Space}${LN}]+|${S}+(?!${NOT_S})|${S}+`;

const R50K: EncodingDef = {
  file: 'encoders/r50k_base.json',
  pattern: R50K_PATTERN,
  ranksSha256: 'sha256:306cd27f03c1a714eca7108e03d66b7dc042abe8c258b44c199a7ed9838dd930',
  vocabSize: 50257,
  endOfText: 50256,
};

const DEFS: Record<EncodingName, EncodingDef> = {
  cl100k_base: {
    file: 'encoders/cl100k_base.json',
    pattern: `${CONTRACTION}|[^\r\n${LN}]?${L}+|${N}{1,3}| ?[^${U.White_Space}${LN}]+[\r\n]*|${S}*[\r\n]+|${S}+(?!${NOT_S})|${S}+`,
    ranksSha256: 'sha256:223921b76ee99bde995b7ff738513eef100fb51d18c93597a113bcffe865b2a7',
    vocabSize: 100277,
    endOfText: 100257,
  },
  o200k_base: {
    file: 'encoders/o200k_base.json',
    pattern: [
      `[^\r\n${LN}]?[${U.Lu}${U.Lt}${U.Lm}${U.Lo}${U.M}]*[${U.Ll}${U.Lm}${U.Lo}${U.M}]+(?:${CONTRACTION})?`,
      `[^\r\n${LN}]?[${U.Lu}${U.Lt}${U.Lm}${U.Lo}${U.M}]+[${U.Ll}${U.Lm}${U.Lo}${U.M}]*(?:${CONTRACTION})?`,
      `${N}{1,3}`,
      ` ?[^${U.White_Space}${LN}]+[\r\n/]*`,
      `${S}*[\r\n]+`,
      `${S}+(?!${NOT_S})`,
      `${S}+`,
    ].join('|'),
    ranksSha256: 'sha256:446a9538cb6c348e3516120d7c08b09f57c36495e2acfffe59a5bf8b0cfb1a2d',
    vocabSize: 200019,
    endOfText: 199999,
  },
  p50k_base: {
    file: 'encoders/p50k_base.json',
    pattern: R50K_PATTERN,
    ranksSha256: 'sha256:94b5ca7dff4d00767bc256fdd1b27e5b17361d7b8a5f968547f9f23eb70d2069',
    vocabSize: 50281,
    endOfText: 50256,
  },
  r50k_base: R50K,
  // GPT-2's encoding is r50k_base under another name (same ranks, pattern and end-of-text token).
  gpt2: R50K,
};

export const ENCODING_NAMES = Object.keys(DEFS) as EncodingName[];

export function isEncodingName(s: string): s is EncodingName {
  return Object.hasOwn(DEFS, s);
}

/** One more than the largest token id, from the encoding's definition: no need to load its ranks. */
export function encodingVocabSize(name: EncodingName): number {
  return DEFS[name].vocabSize;
}

export interface LoadedEncoding {
  readonly identity: EncodingIdentity;
  /** Global, unicode-aware pre-tokeniser. */
  readonly pattern: RegExp;
  /** Token bytes as a latin1 string (one char per byte) -> rank. */
  readonly ranks: Map<string, number>;
  /** rank -> token bytes as a latin1 string (one char per byte); built on first use (decoding only). */
  tokenBytes(): readonly string[];
}

export class EncodingMismatchError extends Error {
  readonly code = 'REINGEST_E_TOKENIZER_RANKS';
}

const loaded = new Map<EncodingName, LoadedEncoding>();

/** Loads (once per process) and checks an encoding's ranks from the installed `tiktoken` package. */
export function loadEncoding(name: EncodingName): LoadedEncoding {
  const hit = loaded.get(name);
  if (hit) return hit;
  const def = DEFS[name];
  const require = createRequire(import.meta.url);
  // package.json is not exported; registry.json is, and sits beside it.
  const root = dirname(require.resolve('tiktoken/registry.json'));
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { name: string; version: string };
  const json = JSON.parse(readFileSync(require.resolve(`tiktoken/${def.file}`), 'utf8')) as { bpe_ranks: string };
  const ranks = new Map<string, number>();
  const hash = createHash('sha256');
  // Runs are separated by a space, or by a newline before a "! N" header (p50k_base's gap at 50256).
  const fields = json.bpe_ranks.split(/[ \n]/);
  let rank = 0;
  for (let i = 0; i < fields.length; i++) {
    const f = fields[i]!;
    if (f === '!') {
      // "! N" starts a run of consecutive ranks at N (the lite format's header; gaps would open new runs).
      rank = Number(fields[++i]);
      continue;
    }
    ranks.set(Buffer.from(f, 'base64').toString('latin1'), rank);
    hash.update(`${f} ${rank}\n`);
    rank++;
  }
  const ranksSha256 = `sha256:${hash.digest('hex')}` as const;
  const file = `${def.file}`;
  if (ranksSha256 !== def.ranksSha256) {
    throw new EncodingMismatchError(
      `${pkg.name}@${pkg.version} ${file}: expected the ${name} ranks OpenAI publishes (${def.ranksSha256}), found ${ranksSha256}; install a tiktoken version that ships the official ranks`,
    );
  }
  let byRank: string[] | undefined;
  const enc: LoadedEncoding = {
    identity: { name, package: pkg.name, version: pkg.version, file, ranksSha256, vocabSize: def.vocabSize, endOfText: def.endOfText },
    pattern: new RegExp(def.pattern, 'gu'),
    ranks,
    // Kept as the ranks' own strings, not 100,000 Buffers (~8 MB of heap in every thread that tokenizes).
    tokenBytes: () => (byRank ??= invert(ranks)),
  };
  loaded.set(name, enc);
  return enc;
}

function invert(ranks: ReadonlyMap<string, number>): string[] {
  const out: string[] = [];
  for (const [bytes, rank] of ranks) out[rank] = bytes;
  return out;
}
