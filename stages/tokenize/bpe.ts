import { loadEncoding, type EncodingIdentity, type EncodingName, type LoadedEncoding } from './encodings.ts';

/**
 * Byte-level BPE with tiktoken's merge rule: within one pre-token, repeatedly merge the adjacent pair whose
 * concatenation has the lowest rank, the leftmost on ties, until no pair is a token. Same rule, same ids.
 *
 * tiktoken rescans every pair after each merge, which is quadratic in the length of a pre-token (a run of
 * 100,000 letters is one pre-token). Short pieces use that simple scan, which is fastest at their size;
 * longer ones keep the pairs in a binary heap keyed by (rank, position) over a linked list of parts, which
 * pops exactly the pair the scan would pick, in O(n log n).
 */
const HEAP_FROM = 48;
const CACHE_PIECE_MAX = 64;
const CACHE_ENTRIES = 1 << 17;

export class BpeEncoder {
  readonly identity: EncodingIdentity;
  private readonly enc: LoadedEncoding;
  private cache = new Map<string, number | readonly number[]>();
  private pairs: PairTable | null = null;
  private readonly byteRank = new Int32Array(256);
  private scratch = Buffer.alloc(1024);

  constructor(name: EncodingName) {
    this.enc = loadEncoding(name);
    this.identity = this.enc.identity;
    for (let b = 0; b < 256; b++) this.byteRank[b] = this.enc.ranks.get(String.fromCharCode(b))!;
  }

  /** Token ids of `text` as ordinary text (special-token strings in it are plain text, as web text needs). */
  encode(text: string): Uint32Array {
    const out = new TokenBuffer(text.length >> 2);
    this.encodeInto(text, out);
    return out.finish();
  }

  encodeInto(text: string, out: TokenBuffer): void {
    // Lone surrogates cannot be UTF-8; tiktoken's JS binding turns them into U+FFFD, and so do we.
    const pieces = (text as WellFormable).toWellFormed().match(this.enc.pattern);
    if (pieces === null) return;
    const ranks = this.enc.ranks;
    const cache = this.cache;
    for (const piece of pieces) {
      const hit = cache.get(piece);
      if (hit !== undefined) {
        if (typeof hit === 'number') out.push(hit);
        else for (const id of hit) out.push(id);
        continue;
      }
      if (this.scratch.length < piece.length * 3) this.scratch = Buffer.alloc(piece.length * 3);
      const n = this.scratch.write(piece, 0, 'utf8');
      const whole = ranks.get(n === piece.length ? piece : this.scratch.toString('latin1', 0, n));
      if (whole !== undefined) {
        out.push(whole);
        this.remember(piece, whole);
        continue;
      }
      this.pairs ??= pairTableOf(this.enc);
      const ids = n < HEAP_FROM ? mergeByScan(this.scratch, n, this.byteRank, this.pairs) : mergeByHeap(this.scratch, n, this.byteRank, this.pairs);
      for (const id of ids) out.push(id);
      if (piece.length <= CACHE_PIECE_MAX) this.remember(piece, ids);
    }
  }

  /** The bytes of a token sequence (not necessarily valid UTF-8 on its own). */
  decodeBytes(ids: ArrayLike<number>): Buffer {
    const byRank = this.enc.tokenBytes();
    const parts: string[] = [];
    for (let i = 0; i < ids.length; i++) {
      const bytes = byRank[ids[i]!];
      if (bytes === undefined) throw new RangeError(`token id ${ids[i]} at position ${i} is not an ordinary token of ${this.identity.name}`);
      parts.push(bytes);
    }
    return Buffer.from(parts.join(''), 'latin1');
  }

  private remember(piece: string, ids: number | readonly number[]): void {
    // A bounded cache: clearing it changes speed only, never ids.
    if (this.cache.size >= CACHE_ENTRIES) this.cache = new Map();
    this.cache.set(piece, ids);
  }
}

const NONE = Number.MAX_SAFE_INTEGER;

/** ES2024, present since Node 20; the ES2023 lib we type-check against lacks it. */
type WellFormable = string & { toWellFormed(): string };

const pairTables = new WeakMap<LoadedEncoding, PairTable>();

/** One pair table per encoding and process (building it takes a few hundred ms), shared by every encoder. */
function pairTableOf(enc: LoadedEncoding): PairTable {
  let t = pairTables.get(enc);
  if (!t) pairTables.set(enc, (t = new PairTable(enc.ranks)));
  return t;
}

/**
 * Rank of the token made by joining two tokens, when there is one: an open-addressing table over every way of
 * splitting each token into two tokens. Merging by token ids this way gives the same result as tiktoken's
 * lookup of the joined bytes (a pair is in the table iff their bytes joined are a token), without building
 * a string per lookup.
 */
export class PairTable {
  private readonly keys: Int32Array;
  private readonly values: Int32Array;
  private readonly mask: number;
  readonly size: number;

  constructor(ranks: Map<string, number>) {
    const pairs: number[] = [];
    for (const [bytes, rank] of ranks) {
      for (let cut = 1; cut < bytes.length; cut++) {
        const left = ranks.get(bytes.slice(0, cut));
        if (left === undefined) continue;
        const right = ranks.get(bytes.slice(cut));
        if (right !== undefined) pairs.push(left, right, rank);
      }
    }
    this.size = pairs.length / 3;
    let cap = 1024;
    while (cap < this.size * 2) cap *= 2;
    this.mask = cap - 1;
    this.keys = new Int32Array(cap * 2).fill(-1);
    this.values = new Int32Array(cap);
    for (let i = 0; i < pairs.length; i += 3) {
      let slot = this.slot(pairs[i]!, pairs[i + 1]!);
      while (this.keys[slot * 2] !== -1) slot = (slot + 1) & this.mask;
      this.keys[slot * 2] = pairs[i]!;
      this.keys[slot * 2 + 1] = pairs[i + 1]!;
      this.values[slot] = pairs[i + 2]!;
    }
  }

  private slot(a: number, b: number): number {
    return (Math.imul(a, 0x9e3779b1) ^ Math.imul(b + 0x7f4a7c15, 0x85ebca77)) >>> 0 & this.mask;
  }

  /** The joined token's rank, or NONE. */
  get(a: number, b: number): number {
    const keys = this.keys;
    let slot = this.slot(a, b);
    for (;;) {
      const k = keys[slot * 2]!;
      if (k === -1) return NONE;
      if (k === a && keys[slot * 2 + 1] === b) return this.values[slot]!;
      slot = (slot + 1) & this.mask;
    }
  }
}

/** tiktoken's scan over the parts (token ids); `pairRank[i]` ranks parts i and i+1 joined. */
export function mergeByScan(bytes: Uint8Array, n: number, byteRank: Int32Array, pairs: PairTable): number[] {
  const tokens = new Int32Array(n);
  const pairRank = new Float64Array(n);
  for (let i = 0; i < n; i++) tokens[i] = byteRank[bytes[i]!]!;
  for (let i = 0; i < n - 1; i++) pairRank[i] = pairs.get(tokens[i]!, tokens[i + 1]!);
  let parts = n;
  while (parts > 1) {
    let best = NONE;
    let at = -1;
    for (let i = 0; i < parts - 1; i++) {
      if (pairRank[i]! < best) {
        best = pairRank[i]!;
        at = i;
      }
    }
    if (at < 0) break;
    tokens[at] = best;
    tokens.copyWithin(at + 1, at + 2, parts);
    pairRank.copyWithin(at + 1, at + 2, parts);
    parts--;
    pairRank[at] = at + 1 < parts ? pairs.get(best, tokens[at + 1]!) : NONE;
    if (at > 0) pairRank[at - 1] = pairs.get(tokens[at - 1]!, best);
  }
  return Array.from(tokens.subarray(0, parts));
}

/**
 * The same merges in O(n log n). Parts are a doubly linked list over byte positions holding token ids; the
 * heap holds rank * 2^32 + position for every adjacent pair that is a token. Entries go stale when a
 * neighbour merges; a popped entry counts only if its part is alive and its pair still has that rank.
 */
export function mergeByHeap(bytes: Uint8Array, n: number, byteRank: Int32Array, pairs: PairTable): number[] {
  const tokens = new Int32Array(n);
  const next = new Int32Array(n);
  const prev = new Int32Array(n);
  const pairRank = new Float64Array(n);
  const alive = new Uint8Array(n).fill(1);
  const heap = new MinHeap(n);
  for (let i = 0; i < n; i++) {
    tokens[i] = byteRank[bytes[i]!]!;
    next[i] = i + 1;
    prev[i] = i - 1;
  }
  next[n - 1] = -1;
  const update = (i: number): void => {
    const j = next[i]!;
    pairRank[i] = j < 0 ? NONE : pairs.get(tokens[i]!, tokens[j]!);
    if (pairRank[i] !== NONE) heap.push(pairRank[i]! * 4294967296 + i);
  };
  for (let i = 0; i < n; i++) update(i);
  while (heap.size > 0) {
    const top = heap.pop();
    const rank = Math.floor(top / 4294967296);
    const i = top - rank * 4294967296;
    if (alive[i] === 0 || pairRank[i] !== rank) continue;
    const j = next[i]!;
    alive[j] = 0;
    tokens[i] = rank;
    next[i] = next[j]!;
    if (next[j]! >= 0) prev[next[j]!] = i;
    update(i);
    if (prev[i]! >= 0) update(prev[i]!);
  }
  const ids: number[] = [];
  for (let i = 0; i >= 0; i = next[i]!) ids.push(tokens[i]!);
  return ids;
}

class MinHeap {
  private a: Float64Array;
  size = 0;
  constructor(capacity: number) {
    this.a = new Float64Array(Math.max(16, capacity));
  }
  push(x: number): void {
    if (this.size === this.a.length) {
      const b = new Float64Array(this.a.length * 2);
      b.set(this.a);
      this.a = b;
    }
    const a = this.a;
    let i = this.size++;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (a[p]! <= x) break;
      a[i] = a[p]!;
      i = p;
    }
    a[i] = x;
  }
  pop(): number {
    const a = this.a;
    const top = a[0]!;
    const last = a[--this.size]!;
    let i = 0;
    const half = this.size >> 1;
    while (i < half) {
      let c = 2 * i + 1;
      if (c + 1 < this.size && a[c + 1]! < a[c]!) c++;
      if (a[c]! >= last) break;
      a[i] = a[c]!;
      i = c;
    }
    a[i] = last;
    return top;
  }
}

/** A growable Uint32Array for token ids. */
export class TokenBuffer {
  private buf: Uint32Array;
  length = 0;
  constructor(capacity = 1024) {
    this.buf = new Uint32Array(Math.max(16, capacity));
  }
  push(id: number): void {
    if (this.length === this.buf.length) {
      const b = new Uint32Array(this.buf.length * 2);
      b.set(this.buf);
      this.buf = b;
    }
    this.buf[this.length++] = id;
  }
  finish(): Uint32Array {
    return this.buf.slice(0, this.length);
  }
}
