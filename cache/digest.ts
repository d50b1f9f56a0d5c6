import { createHash, type Hash } from 'node:crypto';

/** A content digest as written everywhere in reingest: `sha256:` + 64 lower-case hex digits. */
export type Digest = `sha256:${string}`;

const DIGEST_RE = /^sha256:[0-9a-f]{64}$/;

export function isDigest(value: unknown): value is Digest {
  return typeof value === 'string' && DIGEST_RE.test(value);
}

export function sha256(data: Uint8Array | string): Digest {
  return `sha256:${createHash('sha256').update(data).digest('hex')}`;
}

export function digestHex(d: Digest): string {
  return d.slice('sha256:'.length);
}

/** Incremental hasher that also counts bytes, so every edge digest comes with its size. */
export class StreamDigest {
  #hash: Hash = createHash('sha256');
  bytes = 0;
  update(chunk: Uint8Array): void {
    this.#hash.update(chunk);
    this.bytes += chunk.byteLength;
  }
  #final: Digest | null = null;
  /** Finishes the hash (once; later calls return the same value); the object must not be updated afterwards. */
  digest(): Digest {
    this.#final ??= `sha256:${this.#hash.digest('hex')}`;
    return this.#final;
  }
}

/**
 * Binary Merkle root in the style of RFC 6962: leaf = H(0x00 || leaf bytes), node = H(0x01 || left || right),
 * the left subtree holding the largest power of two below n. The empty tree hashes the empty string.
 */
export function merkleRoot(leaves: readonly Uint8Array[]): Digest {
  const hex = merkleNode(leaves, 0, leaves.length).toString('hex');
  return `sha256:${hex}`;
}

function merkleNode(leaves: readonly Uint8Array[], start: number, end: number): Buffer {
  const n = end - start;
  if (n === 0) return createHash('sha256').digest();
  if (n === 1) return createHash('sha256').update(Buffer.of(0)).update(leaves[start]!).digest();
  let split = 1;
  while (split * 2 < n) split *= 2;
  const left = merkleNode(leaves, start, start + split);
  const right = merkleNode(leaves, start + split, end);
  return createHash('sha256').update(Buffer.of(1)).update(left).update(right).digest();
}
