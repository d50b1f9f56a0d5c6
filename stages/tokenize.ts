import { ReingestError, v, type TransformStage } from '../runner/stage.ts';
import { BpeEncoder } from './tokenize/bpe.ts';
import { ENCODING_NAMES, EncodingMismatchError, isEncodingName, loadEncoding, type EncodingName } from './tokenize/encodings.ts';

/**
 * Byte-level BPE tokenisation with tiktoken's encodings (ids identical to the `tiktoken` package), done in
 * each segment's chain so it runs beside the other per-segment work and is cached with it. Special-token
 * strings inside documents are ordinary text (web pages contain "<|endoftext|>"); the end-of-text token is
 * appended to each document when `endOfDocument` is set.
 *
 * Each kept record gains `tokens` (little-endian uint32 ids, as bytes) and `tokenCount`.
 */
export interface TokenizeParams {
  readonly encoding: EncodingName;
  /** The record field holding the text. */
  readonly field: string;
  readonly endOfDocument: boolean;
  /** Where the ranks came from and their digest (as OpenAI's `.tiktoken` file); filled in from the installed package. */
  readonly ranks: { readonly package: string; readonly version: string; readonly file: string; readonly sha256: string };
}

function ranksOf(name: EncodingName, field: string): TokenizeParams['ranks'] {
  try {
    const id = loadEncoding(name).identity;
    return { package: id.package, version: id.version, file: id.file, sha256: id.ranksSha256 };
  } catch (err) {
    if (err instanceof EncodingMismatchError) throw new ReingestError('REINGEST_E_TOKENIZER_RANKS', `${field}: ${err.message}`, { where: field });
    throw err;
  }
}

export const tokenize: TransformStage<TokenizeParams> = {
  kind: 'transform',
  name: 'tokenize',
  version: '2',
  description: "Appends tiktoken-identical token ids (cl100k_base, o200k_base, p50k_base, r50k_base/gpt2) to each document, with the Unicode 16.0 classes of tiktoken's build.",
  parseParams(raw, field) {
    const o = v.object(raw, field, ['encoding', 'field', 'endOfDocument', 'ranks']);
    const encoding = v.string(o.encoding ?? 'cl100k_base', `${field}.encoding`);
    if (!isEncodingName(encoding)) {
      throw new v.SpecError(`${field}.encoding`, `one of ${ENCODING_NAMES.join(', ')}`, encoding, v.closest(encoding, ENCODING_NAMES));
    }
    const ranks = ranksOf(encoding, `${field}.encoding`);
    if (o.ranks !== undefined) {
      // A manifest pins the digest: other ranks under the same name must not pass silently.
      const pinned = v.string(v.object(o.ranks, `${field}.ranks`, ['package', 'version', 'file', 'sha256']).sha256, `${field}.ranks.sha256`);
      if (pinned !== ranks.sha256) {
        throw new ReingestError(
          'REINGEST_E_TOKENIZER_RANKS',
          `${field}.ranks.sha256: expected ${encoding} ranks with digest ${pinned}, the installed ${ranks.package}@${ranks.version} ${ranks.file} has ${ranks.sha256}; install the version the spec was made with`,
          { where: `${field}.ranks.sha256` },
        );
      }
    }
    return {
      encoding,
      field: v.string(o.field ?? 'text', `${field}.field`),
      endOfDocument: v.boolean(o.endOfDocument, `${field}.endOfDocument`, true),
      ranks,
    };
  },
  keyParams(p) {
    // Which package delivered the ranks does not change a single id; their digest does.
    return { encoding: p.encoding, field: p.field, endOfDocument: p.endOfDocument, ranks: p.ranks.sha256 };
  },
  async *run(input, ctx) {
    const encoder = new BpeEncoder(ctx.params.encoding);
    const eot = encoder.identity.endOfText;
    for await (const rec of input) {
      ctx.signal.throwIfAborted();
      const text = rec[ctx.params.field];
      if (typeof text !== 'string') {
        ctx.counters.drop('no-text-field', rec);
        continue;
      }
      let ids = encoder.encode(text);
      if (ctx.params.endOfDocument) {
        const withEot = new Uint32Array(ids.length + 1);
        withEot.set(ids);
        withEot[ids.length] = eot;
        ids = withEot;
      }
      ctx.counters.add('tokens', ids.length);
      yield { ...rec, tokens: uint32le(ids), tokenCount: ids.length };
    }
  },
};

/** Little-endian bytes of the ids, whatever the host's byte order. */
export function uint32le(ids: Uint32Array): Uint8Array {
  const out = Buffer.allocUnsafe(ids.length * 4);
  for (let i = 0; i < ids.length; i++) out.writeUInt32LE(ids[i]!, i * 4);
  return out;
}
