import { canonicalJson, ReingestError, v, type DataRecord, type FilesStage, type OutputFile, type RecordValue, type SegmentInput } from '../runner/stage.ts';
import { llmcDtype, llmcHeader, megatronDtype, megatronIndex, packTokens } from './shards/formats.ts';
import { seededPermutation } from './shards/shuffle.ts';
import { ENCODING_NAMES, encodingVocabSize, isEncodingName, type EncodingName } from './tokenize/encodings.ts';

/**
 * Writes the `tokens` of every document (from the tokenize stage), in list order, into training shards:
 * Megatron-LM `.bin`+`.idx` pairs, llm.c `.bin` files, or JSONL documents. A shard takes whole documents
 * while it stays within `shardTokens` (a longer document gets a shard of its own), so boundaries depend
 * only on the documents. With `shuffleSeed`, each shard's documents are permuted by a permutation seeded
 * from that seed and the shard number, never from time or process.
 *
 * Each shard is held in memory while it is built (shuffling needs it whole, llm.c's header needs the
 * token count first), which `shardTokens` bounds: 2^24 tokens by default, 64 MiB at 4 bytes a token for
 * binary formats; jsonl shards also hold each document's fields.
 * Facts beside each shard: documents, tokens, dtype, and where its documents came from (segment, the
 * digest of that segment's record stream, and the range of record ordinals in it).
 */
export type ShardFormat = 'megatron' | 'llmc' | 'jsonl';

export interface TokenShardsParams {
  readonly format: ShardFormat;
  readonly encoding: EncodingName;
  readonly shardTokens: number;
  readonly shuffleSeed: string | null;
  /** jsonl only: the record fields each line carries (besides `tokens` as a count). */
  readonly fields: readonly string[];
  /** jsonl only: store canonical bytes, write `.jsonl.gz` (level 9, mtime 0) under --out. */
  readonly gzip: boolean;
}

const FORMATS: readonly ShardFormat[] = ['megatron', 'llmc', 'jsonl'];
const MAX_SHARD_TOKENS = 2 ** 27;

/** A binary shard's documents keep no fields (only jsonl lines carry them). */
const NO_FIELDS: DataRecord = {};

interface Doc {
  readonly tokens: Uint8Array;
  readonly record: DataRecord;
  readonly segment: SegmentInput['segment'];
  readonly digest: string;
  readonly ordinal: number;
}

export const tokenShards: FilesStage<TokenShardsParams> = {
  kind: 'files',
  name: 'token-shards',
  version: '1',
  description: 'Packs token ids into Megatron-LM (.bin/.idx), llm.c (.bin) or JSONL shards with deterministic boundaries and optional seeded shuffle.',
  parseParams(raw, field) {
    const o = v.object(raw, field, ['format', 'encoding', 'shardTokens', 'shuffleSeed', 'fields', 'gzip']);
    const format = v.string(o.format ?? 'megatron', `${field}.format`);
    if (!(FORMATS as readonly string[]).includes(format)) throw new v.SpecError(`${field}.format`, `one of ${FORMATS.join(', ')}`, format, v.closest(format, FORMATS));
    const encoding = v.string(o.encoding ?? 'cl100k_base', `${field}.encoding`);
    if (!isEncodingName(encoding)) throw new v.SpecError(`${field}.encoding`, `one of ${ENCODING_NAMES.join(', ')}`, encoding, v.closest(encoding, ENCODING_NAMES));
    const gzip = v.boolean(o.gzip, `${field}.gzip`, false);
    if (gzip && format !== 'jsonl') throw new v.SpecError(`${field}.gzip`, 'false unless format is "jsonl" (token shards are read by memory-mapping)', gzip);
    return {
      format: format as ShardFormat,
      encoding,
      shardTokens: v.optionalInteger(o.shardTokens, `${field}.shardTokens`, 2 ** 24, 1, MAX_SHARD_TOKENS),
      shuffleSeed: o.shuffleSeed === undefined || o.shuffleSeed === null ? null : v.string(o.shuffleSeed, `${field}.shuffleSeed`),
      fields: o.fields === undefined ? ['id', 'url', 'text'] : v.array(o.fields, `${field}.fields`).map((f, i) => v.string(f, `${field}.fields[${i}]`)),
      gzip,
    };
  },
  async *run(inputs, ctx) {
    const p = ctx.params;
    const vocabSize = encodingVocabSize(p.encoding); // the ids' range only: loading the ranks (~11 MB of heap) is not needed
    let shard: Doc[] = [];
    let shardTokens = 0;
    let number = 0;
    let firstDocument = 0;
    const flush = function* (): Generator<OutputFile> {
      const docs = p.shuffleSeed === null ? shard : [...seededPermutation(shard.length, p.shuffleSeed, number)].map((i) => shard[i]!);
      const facts = shardFacts(shard, shardTokens, firstDocument, p);
      yield* shardFiles(`shard-${String(number).padStart(5, '0')}`, docs, shardTokens, vocabSize, facts, p);
      firstDocument += shard.length;
      number++;
      shard = [];
      shardTokens = 0;
    };
    for await (const input of inputs) {
      let ordinal = -1;
      for await (const record of input.records) {
        ordinal++;
        ctx.signal.throwIfAborted();
        const tokens = record.tokens;
        if (!(tokens instanceof Uint8Array) || tokens.length % 4 !== 0) {
          throw new ReingestError(
            'REINGEST_E_NO_TOKENS',
            `segment ${input.segment.path}, record ${ordinal}: expected a "tokens" field of little-endian uint32 ids, got ${tokens === undefined ? 'none' : typeof tokens}; put the tokenize stage at the end of the segment chain`,
            { where: `${input.segment.path}#${ordinal}` },
          );
        }
        checkIds(tokens, vocabSize, p.encoding, input.segment.path, ordinal);
        const n = tokens.length / 4;
        if (shard.length > 0 && shardTokens + n > p.shardTokens) yield* flush();
        // Binary shards keep only a copy of the ids: the decoded record is a view into a read buffer that
        // also holds its text and fields, ~3x the ids' bytes, and two shard writers run side by side.
        const kept = p.format === 'jsonl' ? { tokens, record } : { tokens: new Uint8Array(tokens), record: NO_FIELDS };
        shard.push({ ...kept, segment: input.segment, digest: input.digest, ordinal });
        shardTokens += n;
        ctx.counters.add('documents');
        ctx.counters.add('tokens', n);
      }
    }
    if (shard.length > 0) yield* flush();
    ctx.counters.add('shards', number);
  },
};

function checkIds(tokens: Uint8Array, vocabSize: number, encoding: string, path: string, ordinal: number): void {
  const view = Buffer.from(tokens.buffer, tokens.byteOffset, tokens.byteLength);
  for (let i = 0; i < view.length; i += 4) {
    const id = view.readUInt32LE(i);
    if (id >= vocabSize) {
      throw new ReingestError(
        'REINGEST_E_TOKEN_RANGE',
        `segment ${path}, record ${ordinal}: token id ${id} is outside ${encoding} (vocabulary ${vocabSize}); give token-shards the encoding the tokenize stage used`,
        { where: `${path}#${ordinal}` },
      );
    }
  }
}

/** Counts and provenance: runs of consecutive records from the same segment stream. */
function shardFacts(docs: readonly Doc[], tokens: number, firstDocument: number, p: TokenShardsParams): { [k: string]: RecordValue } {
  const sources: { segment: number; path: string; records: string; first: number; count: number }[] = [];
  for (const d of docs) {
    const last = sources.at(-1);
    if (last && last.records === d.digest && last.first + last.count === d.ordinal) last.count++;
    else sources.push({ segment: d.segment.index, path: d.segment.path, records: d.digest, first: d.ordinal, count: 1 });
  }
  return { format: p.format, encoding: p.encoding, documents: docs.length, tokens, firstDocument, shuffleSeed: p.shuffleSeed, sources };
}

function* shardFiles(
  base: string,
  docs: readonly Doc[],
  tokens: number,
  vocabSize: number,
  facts: { [k: string]: RecordValue },
  p: TokenShardsParams,
): Generator<OutputFile> {
  if (p.format === 'megatron') {
    const { dtype, code, bytes } = megatronDtype(vocabSize);
    yield file(`${base}.bin`, () => docs.map((d) => packTokens(d.tokens, bytes)), { ...facts, dtype });
    yield file(`${base}.idx`, () => [megatronIndex(docs.map((d) => d.tokens.length / 4), bytes, code)], { ...facts, dtype });
  } else if (p.format === 'llmc') {
    const { dtype, version, bytes } = llmcDtype(vocabSize);
    yield file(`${base}.bin`, function* () {
      yield llmcHeader(tokens, version);
      for (const d of docs) yield packTokens(d.tokens, bytes);
    }, { ...facts, dtype });
  } else {
    const lines = function* () {
      for (const d of docs) {
        const line: Record<string, unknown> = { segment: d.segment.path, tokens: d.tokens.length / 4 };
        for (const f of p.fields) line[f] = d.record[f];
        yield Buffer.from(`${canonicalJson(line)}\n`, 'utf8');
      }
    };
    yield { ...file(`${base}.jsonl`, lines, facts), ...(p.gzip ? { compress: 'gzip' as const } : {}) };
  }
}

/** Chunks are made as the runner reads them, so a shard is packed one document at a time. */
function file(name: string, parts: () => Iterable<Uint8Array>, facts: { [k: string]: RecordValue }): OutputFile {
  return {
    name,
    chunks: (async function* () {
      yield* parts();
    })(),
    facts: () => facts,
  };
}
