import { randomBytes } from 'node:crypto';
import { closeSync, mkdirSync, openSync, readSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Duplicate keys spilled to disk, partitioned by key, so the plan holds one partition's keys in memory
 * at a time instead of every key of the run.
 *
 * Each tuple is (16-byte key hash, segment u32, ordinal u32, kind u8), written in the order documents
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
    writeSync(this.#fds[p]!, this.#bufs[p]!, 0, this.#used[p]!);
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
