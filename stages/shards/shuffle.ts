import { createHash } from 'node:crypto';
import { canonicalJson } from '../../runner/stage.ts';

/**
 * A seeded permutation for shuffling documents within a shard: Fisher-Yates driven by sha256 in counter
 * mode over canonical JSON of (seed, shard). Integers only, no Math.random, no floats: the same seed and
 * shard give the same order on every machine and Node version.
 */
export function seededPermutation(n: number, seed: string, shard: number): Uint32Array {
  const order = new Uint32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  const words = wordStream(createHash('sha256').update(canonicalJson({ seed, shard })).digest());
  for (let i = n - 1; i > 0; i--) {
    const j = uniformBelow(i + 1, words);
    const t = order[i]!;
    order[i] = order[j]!;
    order[j] = t;
  }
  return order;
}

/** Unbiased: rejects the top sliver of 2^32 that would favour small results. */
function uniformBelow(bound: number, words: () => number): number {
  const limit = 0x100000000 - (0x100000000 % bound);
  for (;;) {
    const w = words();
    if (w < limit) return w % bound;
  }
}

function wordStream(key: Buffer): () => number {
  let counter = 0;
  let block = Buffer.alloc(0);
  let at = 0;
  return () => {
    if (at >= block.length) {
      const c = Buffer.alloc(8);
      c.writeBigUInt64BE(BigInt(counter++));
      block = createHash('sha256').update(key).update(c).digest();
      at = 0;
    }
    const w = block.readUInt32BE(at);
    at += 4;
    return w;
  };
}
