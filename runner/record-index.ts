import { createHash } from 'node:crypto';
import { merkleRootOfLeafHashes, type Digest } from '../cache/digest.ts';

/**
 * Per-record digests of a record edge, so a divergence can be narrowed to one record and one record can be
 * checked without the rest. For each record frame (u32 length + canonical bytes) the index holds its
 * RFC 6962 leaf hash sha256(0x00 ‖ frame) and the frame's length (u32 big-endian): 36 bytes a record.
 * `recordsRoot` is the Merkle tree hash over those leaves (same split rule as the manifest root).
 */
export const ENTRY = 36;

export class RecordIndexBuilder {
  #buf = Buffer.allocUnsafe(ENTRY * 256);
  #n = 0;

  add(frame: Uint8Array): void {
    this.addParts([frame], frame.byteLength);
  }

  /** A frame given as consecutive parts (encodeFrameParts) of `length` bytes in all; returns its leaf hash. */
  addParts(parts: readonly Uint8Array[], length: number): Buffer {
    const h = createHash('sha256').update(LEAF);
    for (const p of parts) h.update(p);
    const leaf = h.digest();
    this.addLeaf(leaf, length);
    return leaf;
  }

  /** A frame whose leaf hash is already known (the same frame on an earlier edge). */
  addLeaf(leaf: Uint8Array, length: number): void {
    if ((this.#n + 1) * ENTRY > this.#buf.length) {
      const next = Buffer.allocUnsafe(this.#buf.length * 2);
      this.#buf.copy(next, 0, 0, this.#n * ENTRY);
      this.#buf = next;
    }
    this.#buf.set(leaf, this.#n * ENTRY);
    this.#buf.writeUInt32BE(length, this.#n * ENTRY + 32);
    this.#n++;
  }

  get count(): number {
    return this.#n;
  }

  bytes(): Buffer {
    return this.#buf.subarray(0, this.#n * ENTRY);
  }
}

const LEAF = Buffer.of(0);
const NODE = Buffer.of(1);

export class RecordIndex {
  readonly count: number;
  readonly #bytes: Buffer;
  readonly #memo = new Map<string, Buffer>();

  constructor(bytes: Buffer) {
    if (bytes.length % ENTRY !== 0) throw new Error(`record index: ${bytes.length} bytes is not a multiple of ${ENTRY}`);
    this.#bytes = bytes;
    this.count = bytes.length / ENTRY;
  }

  leaf(i: number): Buffer {
    return this.#bytes.subarray(i * ENTRY, i * ENTRY + 32);
  }

  frameLength(i: number): number {
    return this.#bytes.readUInt32BE(i * ENTRY + 32);
  }

  /** Byte offset of record i in the edge's canonical stream (the concatenated frames). */
  offset(i: number): number {
    let o = 0;
    for (let k = 0; k < i; k++) o += this.frameLength(k);
    return o;
  }

  /** Tree hash of leaves [start, end). */
  node(start: number, end: number): Buffer {
    const n = end - start;
    if (n === 0) return createHash('sha256').digest();
    if (n === 1) return this.leaf(start);
    const id = `${start}:${end}`;
    const hit = this.#memo.get(id);
    if (hit) return hit;
    const k = split(n);
    const h = createHash('sha256').update(NODE).update(this.node(start, start + k)).update(this.node(start + k, end)).digest();
    this.#memo.set(id, h);
    return h;
  }

  /** The tree hash over all leaves, without memoising inner nodes (node() does, for descending). */
  root(): Digest {
    return merkleRootOfLeafHashes(this.count, (i) => this.leaf(i));
  }

  /** The sibling hashes from leaf i up to the root (RFC 6962 audit path), for a one-record proof. */
  auditPath(i: number, start = 0, end = this.count): Buffer[] {
    const n = end - start;
    if (n <= 1) return [];
    const k = split(n);
    return i < start + k ? [...this.auditPath(i, start, start + k), this.node(start + k, end)] : [...this.auditPath(i, start + k, end), this.node(start, start + k)];
  }
}

function split(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

/**
 * The first record where two indexes differ, found by descending the trees: at each level compare the
 * left subtrees' hashes and go where they differ, O(log n) hash comparisons. Both trees split the same
 * way only while their sizes allow; past the shorter one's end, the first extra record is the answer.
 */
export function firstDifferentRecord(a: RecordIndex, b: RecordIndex): number | null {
  const n = Math.min(a.count, b.count);
  if (n > 0 && a.node(0, n).equals(b.node(0, n))) return a.count === b.count ? null : n;
  if (n === 0) return a.count === b.count ? null : 0;
  let start = 0;
  let end = n;
  while (end - start > 1) {
    const k = split(end - start);
    if (!a.node(start, start + k).equals(b.node(start, start + k))) end = start + k;
    else start += k;
  }
  return start;
}

/** Checks one record against an edge's recordsRoot with its audit path (what a third party needs). */
export function verifyRecord(frame: Uint8Array, index: number, count: number, path: readonly Buffer[], root: Digest): boolean {
  // The descent below only narrows ranges, so an index past the end would be read as the last record's.
  if (!Number.isSafeInteger(index) || index < 0 || index >= count) return false;
  let h = createHash('sha256').update(LEAF).update(frame).digest();
  const steps: boolean[] = [];
  // Recompute which side each sibling is on by replaying the split from the top.
  let start = 0;
  let end = count;
  while (end - start > 1) {
    const k = split(end - start);
    if (index < start + k) {
      steps.push(true);
      end = start + k;
    } else {
      steps.push(false);
      start += k;
    }
  }
  if (steps.length !== path.length) return false;
  for (let lvl = steps.length - 1, p = 0; lvl >= 0; lvl--, p++) {
    h = steps[lvl] ? createHash('sha256').update(NODE).update(h).update(path[p]!).digest() : createHash('sha256').update(NODE).update(path[p]!).update(h).digest();
  }
  return `sha256:${h.toString('hex')}` === root;
}
