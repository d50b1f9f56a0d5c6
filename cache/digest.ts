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

const LEAF = Buffer.of(0);
const NODE = Buffer.of(1);

/**
 * Binary Merkle root in the style of RFC 6962: leaf = H(0x00 || leaf bytes), node = H(0x01 || left || right),
 * the left subtree holding the largest power of two below n. The empty tree hashes the empty string.
 */
export function merkleRoot(leaves: readonly Uint8Array[]): Digest {
  return merkleRootOfLeafHashes(leaves.length, (i) => createHash('sha256').update(LEAF).update(leaves[i]!).digest());
}

/**
 * The same root from n leaf hashes, read left to right with a stack of perfect subtrees (at most log2 n
 * hashes held, nothing memoised): that split rule makes the tree exactly those subtrees, largest first,
 * joined from the right. A record index folds ~55,000 leaves per edge of a 1 GiB segment this way.
 */
export function merkleRootOfLeafHashes(n: number, leafHash: (i: number) => Buffer): Digest {
  const stack: { hash: Buffer; size: number }[] = [];
  for (let i = 0; i < n; i++) {
    let top = { hash: leafHash(i), size: 1 };
    while (stack.length > 0 && stack[stack.length - 1]!.size === top.size) {
      const left = stack.pop()!;
      top = { hash: createHash('sha256').update(NODE).update(left.hash).update(top.hash).digest(), size: left.size * 2 };
    }
    stack.push(top);
  }
  let h = stack.pop()?.hash ?? createHash('sha256').digest();
  while (stack.length > 0) h = createHash('sha256').update(NODE).update(stack.pop()!.hash).update(h).digest();
  return `sha256:${h.toString('hex')}`;
}
