import { randomBytes } from 'node:crypto';
import { closeSync, mkdirSync, openSync, readSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { writeAllSync } from '../../runner/stage.ts';

/**
 * Duplicate keys spilled to disk, partitioned by key, so the plan holds one partition's keys in memory
 * at a time instead of every key of the run.
 *
 * Each tuple is (16-byte key hash, list position u32, ordinal u32, kind u8), written in the order documents
 * are read (list order, then stream order). Within a partition, the first tuple carrying a key is therefore
 * its first holder in canonical order, and every later one is a duplicate — exactly what one in-memory
 * `seen` set over the whole run decides, key by key. `kind` orders a document's keys as they were checked
 * (exact, url, near), so the lowest duplicated kind is the reason a single pass would have given.
 */
const TUPLE = 25;
const FLUSH = 64 * 1024;

export class KeyPartitions {
  readonly #dir: string;
  readonly #fds: number[];
  readonly #bufs: Buffer[];
  readonly #used: number[];
  tuples = 0;

  constructor(workDir: string, readonly count: number) {
    this.#dir = join(workDir, `dedup-${process.pid}-${randomBytes(6).toString('hex')}`);
    mkdirSync(this.#dir, { recursive: true });
    this.#fds = Array.from({ length: count }, (_, i) => openSync(join(this.#dir, String(i)), 'w+'));
    this.#bufs = Array.from({ length: count }, () => Buffer.allocUnsafe(FLUSH));
    this.#used = new Array(count).fill(0);
  }

  /** One key holder: `hash` is the key's 16-byte hash (uniform, so its first 4 bytes pick the partition). */
  add(hash: Uint8Array, segment: number, ordinal: number, kind: number): void {
    const h = Buffer.from(hash.buffer, hash.byteOffset, 16);
    const p = h.readUInt32BE(0) % this.count;
    if (this.#used[p]! + TUPLE > FLUSH) this.#flush(p);
    const b = this.#bufs[p]!;
    const o = this.#used[p]!;
    h.copy(b, o, 0, 16);
    b.writeUInt32BE(segment, o + 16);
    b.writeUInt32BE(ordinal, o + 20);
    b.writeUInt8(kind, o + 24);
    this.#used[p] = o + TUPLE;
    this.tuples++;
  }

  #flush(p: number): void {
    if (this.#used[p] === 0) return;
    // A short write (a full disk) would silently lose keys and change the plan: all of it, or a typed error.
    writeAllSync(this.#fds[p]!, this.#bufs[p]!.subarray(0, this.#used[p]!), join(this.#dir, String(p)));
    this.#used[p] = 0;
  }

  /**
   * Every later holder of a key, partition by partition: `onDuplicate(segment, ordinal, kind)`. Returns the
   * distinct keys of the run and the most held in memory at once (one partition's).
   */
  duplicates(onDuplicate: (segment: number, ordinal: number, kind: number) => void): { unique: number; peak: number } {
    let peak = 0;
    let unique = 0;
    const chunk = Buffer.allocUnsafe(TUPLE * 4096);
    for (let p = 0; p < this.count; p++) {
      this.#flush(p);
      const seen = new Set<string>();
      let pos = 0;
      for (;;) {
        const n = readSync(this.#fds[p]!, chunk, 0, chunk.length, pos);
        if (n === 0) break;
        pos += n;
        for (let o = 0; o + TUPLE <= n; o += TUPLE) {
          const k = chunk.toString('latin1', o, o + 16);
          if (seen.has(k)) onDuplicate(chunk.readUInt32BE(o + 16), chunk.readUInt32BE(o + 20), chunk.readUInt8(o + 24));
          else seen.add(k);
        }
      }
      peak = Math.max(peak, seen.size);
      unique += seen.size;
    }
    return { unique, peak };
  }

  close(): void {
    for (const fd of this.#fds) closeSync(fd);
    rmSync(this.#dir, { recursive: true, force: true });
  }
}

const DROP = 9; // position u32, ordinal u32, kind u8

/**
 * Drops spilled to disk in buckets of consecutive segment positions, so the plan can be streamed in list
 * order while memory holds one bucket's drops (about drops / buckets), never every drop of the run.
 */
export class DropBuckets {
  readonly #dir: string;
  readonly #fds: number[];
  readonly #bufs: Buffer[];
  readonly #used: number[];

  constructor(workDir: string, readonly buckets: number, readonly segments: number) {
    this.#dir = join(workDir, `dedup-drops-${process.pid}-${randomBytes(6).toString('hex')}`);
    mkdirSync(this.#dir, { recursive: true });
    this.#fds = Array.from({ length: buckets }, (_, i) => openSync(join(this.#dir, String(i)), 'w+'));
    this.#bufs = Array.from({ length: buckets }, () => Buffer.allocUnsafe(FLUSH - (FLUSH % DROP)));
    this.#used = new Array(buckets).fill(0);
  }

  #bucketOf(position: number): number {
    return Math.floor((position * this.buckets) / Math.max(1, this.segments));
  }

  add(position: number, ordinal: number, kind: number): void {
    const b = this.#bucketOf(position);
    if (this.#used[b]! + DROP > this.#bufs[b]!.length) this.#flush(b);
    const buf = this.#bufs[b]!;
    const o = this.#used[b]!;
    buf.writeUInt32BE(position, o);
    buf.writeUInt32BE(ordinal, o + 4);
    buf.writeUInt8(kind, o + 8);
    this.#used[b] = o + DROP;
  }

  #flush(b: number): void {
    if (this.#used[b] === 0) return;
    writeAllSync(this.#fds[b]!, this.#bufs[b]!.subarray(0, this.#used[b]!), join(this.#dir, String(b)));
    this.#used[b] = 0;
  }

  /**
   * Bucket by bucket (so positions ascend): each dropped document once, with the lowest kind any of its
   * keys was duplicated under, as position -> ordinal -> kind, positions and ordinals ascending.
   */
  *byPosition(): Generator<[number, [number, number][]]> {
    const chunk = Buffer.allocUnsafe(DROP * 8192);
    for (let b = 0; b < this.buckets; b++) {
      this.#flush(b);
      const lowest = new Map<number, Map<number, number>>();
      let pos = 0;
      for (;;) {
        const n = readSync(this.#fds[b]!, chunk, 0, chunk.length, pos);
        if (n === 0) break;
        pos += n;
        for (let o = 0; o + DROP <= n; o += DROP) {
          const p = chunk.readUInt32BE(o);
          const ord = chunk.readUInt32BE(o + 4);
          const kind = chunk.readUInt8(o + 8);
          let m = lowest.get(p);
          if (!m) lowest.set(p, (m = new Map()));
          const had = m.get(ord);
          if (had === undefined || kind < had) m.set(ord, kind);
        }
      }
      for (const p of [...lowest.keys()].sort((x, y) => x - y)) yield [p, [...lowest.get(p)!].sort((x, y) => x[0] - y[0])];
    }
  }

  close(): void {
    for (const fd of this.#fds) closeSync(fd);
    rmSync(this.#dir, { recursive: true, force: true });
  }
}
