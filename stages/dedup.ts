import { createHash, hash } from 'node:crypto';
import { v, type DataRecord, type GlobalStage } from '../runner/stage.ts';
import { DropBuckets, KeyPartitions } from './dedup/partitions.ts';
import { foldCase, U } from './lib/unicode.ts';

/**
 * Deduplication across the whole run: exact (normalised text), URL, and MinHash near-duplicates
 * (FineWeb's setting: 5-word shingles, 14 buckets x 8 hashes). Segments are read in list order and
 * records in stream order, so "the first copy" is defined by that canonical order: the first document
 * carrying a key survives, every later one carrying any of its keys is dropped. Keys of dropped documents
 * still count, which makes near-duplicate chains collapse as connected components do.
 */
export interface DedupParams {
  readonly exact: boolean;
  readonly url: boolean;
  readonly minhash: { readonly enabled: boolean; readonly ngram: number; readonly buckets: number; readonly hashesPerBucket: number; readonly seed: string };
  /** Key partitions spilled to the work directory: memory holds one partition's keys (not key material). */
  readonly partitions: number;
}

const WORD = new RegExp(`[${U.L}${U.N}]+`, 'gu');

/**
 * Case-folded, whitespace-collapsed text: copies that differ only in case or spacing are one document.
 * Folding and letters come from the pinned Unicode tables (lib/unicode.ts), never the runtime's.
 */
function normalise(text: string): string {
  return foldCase(text).replace(/\s+/g, ' ').trim();
}

const FNV_OFFSET = 0x811c9dc5;
const SPACE = 0x20;

/** FNV-1a over the UTF-16 code units of words[from..to) joined by single spaces, without building that string. */
export function fnv1aJoined(words: readonly string[], from: number, to: number): number {
  let h = FNV_OFFSET;
  for (let w = from; w < to; w++) {
    if (w > from) h = Math.imul(h ^ SPACE, 0x01000193);
    const s = words[w]!;
    for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  }
  return h >>> 0;
}

/** Multipliers and offsets of the universal hashes, derived from the seed (never from Math.random). */
export function permutations(seed: string, count: number): { a: Uint32Array; b: Uint32Array } {
  const a = new Uint32Array(count);
  const b = new Uint32Array(count);
  for (let i = 0; i < count; i++) {
    const d = createHash('sha256').update(`reingest/minhash/${seed}/${i}`).digest();
    a[i] = d.readUInt32LE(0) | 1; // odd: a bijection modulo 2^32
    b[i] = d.readUInt32LE(4);
  }
  return { a, b };
}

export function minhashBands(text: string, p: DedupParams['minhash'], perms: { a: Uint32Array; b: Uint32Array }): string[] {
  const words = foldCase(text).match(WORD) ?? [];
  const shingles = new Set<number>();
  if (words.length <= p.ngram) shingles.add(fnv1aJoined(words, 0, words.length));
  else for (let i = 0; i + p.ngram <= words.length; i++) shingles.add(fnv1aJoined(words, i, i + p.ngram));
  const n = p.buckets * p.hashesPerBucket;
  const sig = new Uint32Array(n).fill(0xffffffff);
  for (const x of shingles) {
    for (let j = 0; j < n; j++) {
      const h = (Math.imul(perms.a[j]!, x) + perms.b[j]!) >>> 0;
      if (h < sig[j]!) sig[j] = h;
    }
  }
  const bands: string[] = [];
  for (let bkt = 0; bkt < p.buckets; bkt++) {
    const slice = Buffer.from(sig.buffer, bkt * p.hashesPerBucket * 4, p.hashesPerBucket * 4);
    bands.push(`${bkt}:${hash('sha1', slice, 'hex').slice(0, 16)}`);
  }
  return bands;
}

export const dedup: GlobalStage<DedupParams> = {
  kind: 'global',
  name: 'dedup',
  version: '4',
  description: 'Drops exact, same-URL and MinHash near-duplicate documents across the whole run; the first in list order survives.',
  parseParams(raw, field) {
    const o = v.object(raw, field, ['exact', 'url', 'minhash', 'partitions']);
    const m = v.object(o.minhash ?? {}, `${field}.minhash`, ['enabled', 'ngram', 'buckets', 'hashesPerBucket', 'seed']);
    return {
      exact: v.boolean(o.exact, `${field}.exact`, true),
      url: v.boolean(o.url, `${field}.url`, true),
      minhash: {
        enabled: v.boolean(m.enabled, `${field}.minhash.enabled`, true),
        ngram: v.optionalInteger(m.ngram, `${field}.minhash.ngram`, 5, 1, 64),
        buckets: v.optionalInteger(m.buckets, `${field}.minhash.buckets`, 14, 1, 256),
        hashesPerBucket: v.optionalInteger(m.hashesPerBucket, `${field}.minhash.hashesPerBucket`, 8, 1, 256),
        seed: v.string(m.seed ?? '1', `${field}.minhash.seed`),
      },
      partitions: v.optionalInteger(o.partitions, `${field}.partitions`, 256, 1, 4096),
    };
  },
  keyParams: ({ exact, url, minhash }) => ({ exact, url, minhash }),
  runSettings: ['partitions'],
  async *summarize(records, ctx) {
    const { params } = ctx;
    const perms = permutations(params.minhash.seed, params.minhash.buckets * params.minhash.hashesPerBucket);
    for await (const rec of records) {
      ctx.signal.throwIfAborted();
      yield { keys: documentKeys(rec, params, perms) };
    }
  },
  async *plan(inputs, ctx) {
    const parts = new KeyPartitions(ctx.workDir, ctx.params.partitions);
    let drops: DropBuckets | null = null;
    let docs = 0;
    try {
      // Pass 1: every document's key hashes (its summary), in canonical order, spilled into partitions by key.
      const segments: number[] = []; // list position -> segment index
      for await (const { segment, records } of inputs) {
        const position = segments.push(segment.index) - 1;
        let ordinal = 0;
        for await (const rec of records) {
          ctx.signal.throwIfAborted();
          if (!(rec.keys instanceof Uint8Array) || rec.keys.byteLength % KEY_ENTRY !== 0) {
            throw new Error(`Internal error: dedup.plan expects summaries ({keys: bytes}) from dedup.summarize, got ${Object.keys(rec).join(',')}`);
          }
          for (let o = 0; o < rec.keys.byteLength; o += KEY_ENTRY) parts.add(rec.keys.subarray(o + 1, o + KEY_ENTRY), position, ordinal, rec.keys[o]!);
          ordinal++;
          docs++;
        }
      }
      // Pass 2, one key partition at a time: every later holder of a key is a drop, spilled by segment.
      drops = new DropBuckets(ctx.workDir, ctx.params.partitions, segments.length);
      const bucketed = drops;
      const { unique, peak } = parts.duplicates((position, ord, kind) => bucketed.add(position, ord, kind));
      ctx.counters.add('documents', docs);
      ctx.counters.add('keys', unique);
      ctx.log.debug({ partitions: ctx.params.partitions, keys: unique, peakKeysInMemory: peak }, 'dedup plan');
      // Pass 3, in list order: a document is dropped if any of its keys had an earlier holder; the reason is
      // its first such key in checking order (exact, url, near), as one seen-set pass would have decided.
      for (const [position, ords] of drops.byPosition()) {
        yield { segment: segments[position]!, drops: ords.map(([ord, kind]) => [ord, REASONS[kind]!] as const) };
      }
    } finally {
      parts.close();
      drops?.close();
    }
  },
};

const REASONS = ['exact-duplicate', 'url-duplicate', 'near-duplicate'];

/** A summary entry: the key's kind (0 exact, 1 url, 2 near — the order keys are checked) and its 16-byte hash. */
const KEY_ENTRY = 17;

/**
 * One document's dedup keys as its summary: kind byte + the first 16 bytes of sha256 of the key string,
 * per key, in checking order. 16 bytes make an accidental collision (~2^-64 per pair at a crawl's scale)
 * negligible, and the summary is ~250 bytes per document instead of its text.
 */
function documentKeys(rec: DataRecord, params: DedupParams, perms: { a: Uint32Array; b: Uint32Array }): Uint8Array {
  const text = typeof rec.text === 'string' ? rec.text : '';
  const keys: [number, string][] = [];
  if (params.exact) keys.push([0, `t:${hash('sha256', normalise(text), 'hex').slice(0, 32)}`]);
  if (params.url && typeof rec.url === 'string') keys.push([1, `u:${rec.url}`]);
  if (params.minhash.enabled) for (const band of minhashBands(text, params.minhash, perms)) keys.push([2, `m:${band}`]);
  const out = Buffer.allocUnsafe(keys.length * KEY_ENTRY);
  keys.forEach(([kind, key], i) => {
    out[i * KEY_ENTRY] = kind;
    hash('sha256', key, 'buffer').copy(out, i * KEY_ENTRY + 1, 0, 16);
  });
  return out;
}
