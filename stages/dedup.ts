import { createHash } from 'node:crypto';
import { v, type GlobalPlan, type GlobalStage } from '../runner/stage.ts';

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
}

const WORD = /[\p{L}\p{N}]+/gu;

/** Lower-cased, whitespace-collapsed text: copies that differ only in case or spacing are one document. */
function normalise(text: string): string {
  return text.toLowerCase().replace(/\s+/g, ' ').trim();
}

const FNV_OFFSET = 0x811c9dc5;
function fnv1a(s: string): number {
  let h = FNV_OFFSET;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
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
  const words = text.toLowerCase().match(WORD) ?? [];
  const shingles = new Set<number>();
  if (words.length <= p.ngram) shingles.add(fnv1a(words.join(' ')));
  else for (let i = 0; i + p.ngram <= words.length; i++) shingles.add(fnv1a(words.slice(i, i + p.ngram).join(' ')));
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
    bands.push(`${bkt}:${createHash('sha1').update(slice).digest('hex').slice(0, 16)}`);
  }
  return bands;
}

export const dedup: GlobalStage<DedupParams> = {
  kind: 'global',
  name: 'dedup',
  version: '1',
  description: 'Drops exact, same-URL and MinHash near-duplicate documents across the whole run; the first in list order survives.',
  parseParams(raw, field) {
    const o = v.object(raw, field, ['exact', 'url', 'minhash']);
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
    };
  },
  async plan(inputs, ctx) {
    const { params } = ctx;
    const perms = permutations(params.minhash.seed, params.minhash.buckets * params.minhash.hashesPerBucket);
    const seen = new Set<string>();
    const plan = new Map<number, Map<number, string>>();
    let docs = 0;
    for await (const { segment, records } of inputs) {
      let ordinal = 0;
      for await (const rec of records) {
        const text = typeof rec.text === 'string' ? rec.text : '';
        const keys: [string, string][] = [];
        if (params.exact) keys.push(['exact-duplicate', `t:${createHash('sha256').update(normalise(text)).digest('hex').slice(0, 32)}`]);
        if (params.url && typeof rec.url === 'string') keys.push(['url-duplicate', `u:${rec.url}`]);
        if (params.minhash.enabled) for (const band of minhashBands(text, params.minhash, perms)) keys.push(['near-duplicate', `m:${band}`]);
        const hit = keys.find(([, k]) => seen.has(k));
        for (const [, k] of keys) seen.add(k);
        if (hit) {
          let drops = plan.get(segment.index);
          if (!drops) plan.set(segment.index, (drops = new Map()));
          drops.set(ordinal, hit[0]);
        }
        ordinal++;
        docs++;
      }
    }
    ctx.counters.add('documents', docs);
    ctx.counters.add('keys', seen.size);
    return plan as GlobalPlan;
  },
};
