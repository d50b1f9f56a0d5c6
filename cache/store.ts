import { randomBytes } from 'node:crypto';
import { mkdir, open, readdir, rename, rm, stat, readFile, utimes, type FileHandle } from 'node:fs/promises';
import { createReadStream } from 'node:fs';
import { join } from 'node:path';
import { AtomicFile, writeFileAtomic } from './atomic-write.ts';
import { StreamDigest, digestHex, isDigest, type Digest } from './digest.ts';
import { ReingestError } from './errors.ts';

/** Action entries are a few KB (one edge per stage, one per output file); anything far larger is refused unread. */
export const ACTION_MAX_BYTES = 16 * 1024 * 1024;

/**
 * A content-addressed object store on a local (or NFS) directory.
 *
 *   objects/sha256/<2 hex>/<64 hex>   immutable objects, named by the sha256 of their bytes
 *   actions/<2 hex>/<64 hex>.json     action index: task key -> result (create-only)
 *   runs/<64 hex>.jsonl               run records by manifest root: times, host, tool (runner/run-record.ts)
 *   tmp/                              files being written; never read by anyone
 *
 * Every publish goes through atomic-write.ts (write to tmp/, fsync, then an atomic rename or link), so a
 * reader never sees half an object, even after kill -9 or a full disk, and several processes may share the
 * directory without locks.
 */
export class ObjectStore {
  readonly root: string;
  constructor(root: string) {
    this.root = root;
  }

  objectPath(d: Digest): string {
    const hex = digestHex(d);
    return join(this.root, 'objects', 'sha256', hex.slice(0, 2), hex);
  }

  actionPath(keyHex: string): string {
    return join(this.root, 'actions', keyHex.slice(0, 2), `${keyHex}.json`);
  }

  /** The history of runs that produced the manifest with this root: never hashed, never part of a result. */
  runRecordPath(root: Digest): string {
    return join(this.root, 'runs', `${digestHex(root)}.jsonl`);
  }

  async init(): Promise<void> {
    await mkdir(join(this.root, 'objects', 'sha256'), { recursive: true });
    await mkdir(join(this.root, 'actions'), { recursive: true });
    await mkdir(join(this.root, 'tmp'), { recursive: true });
    await mkdir(join(this.root, 'runs'), { recursive: true });
  }

  async has(d: Digest): Promise<boolean> {
    try {
      await stat(this.objectPath(d));
      return true;
    } catch {
      return false;
    }
  }

  /** Opens a writer for a new object whose digest is learnt when it is committed. */
  async createWriter(): Promise<ObjectWriter> {
    return new ObjectWriter(this, await AtomicFile.create(this.#tmpDir(), { mode: 0o644 }));
  }

  async putBytes(bytes: Uint8Array): Promise<{ digest: Digest; size: number }> {
    const w = await this.createWriter();
    try {
      await w.write(bytes);
      return await w.commit();
    } catch (err) {
      await w.abort();
      throw err;
    }
  }

  /**
   * Streams an object's bytes, re-hashing them; if they do not match the name, the last step throws
   * CorruptObjectError, so a consumer that commits only after reading everything never passes corrupt bytes on.
   */
  async *read(d: Digest, signal?: AbortSignal): AsyncGenerator<Uint8Array> {
    const h = new StreamDigest();
    const stream = createReadStream(this.objectPath(d), { highWaterMark: 256 * 1024, signal });
    try {
      for await (const chunk of stream as AsyncIterable<Buffer>) {
        h.update(chunk);
        yield chunk;
      }
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EISDIR') throw new NotAFileError(this.objectPath(d));
      throw err;
    }
    const got = h.digest();
    if (got !== d) throw new CorruptObjectError(d, got, this.objectPath(d));
  }

  /** A whole (small) object as one buffer, re-hashed like read(): indexes, lists, plans. */
  async readAll(d: Digest, signal?: AbortSignal): Promise<Buffer> {
    const parts: Buffer[] = [];
    for await (const chunk of this.read(d, signal)) parts.push(Buffer.from(chunk));
    return Buffer.concat(parts);
  }

  /**
   * Re-hashes one stored object. Returns the digest actually found, null when it is missing, or NOT_A_FILE
   * when something else (a directory) sits under its name: corrupt too, it has no digest to report.
   */
  async rehash(d: Digest): Promise<Digest | null | typeof NOT_A_FILE> {
    const h = new StreamDigest();
    try {
      for await (const chunk of createReadStream(this.objectPath(d), { highWaterMark: 1024 * 1024 }) as AsyncIterable<Buffer>) {
        h.update(chunk);
      }
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') return null;
      if (code === 'EISDIR') return NOT_A_FILE;
      throw err;
    }
    return h.digest();
  }

  /** Moves a corrupt object aside (never deletes evidence) so it is neither served nor counted as present. */
  async quarantine(d: Digest): Promise<string> {
    return this.#quarantinePath(this.objectPath(d), digestHex(d));
  }

  async #quarantinePath(path: string, name: string): Promise<string> {
    const dir = join(this.root, 'corrupt');
    await mkdir(dir, { recursive: true });
    const dest = join(dir, `${name}.${randomBytes(4).toString('hex')}`);
    await rename(path, dest);
    return dest;
  }

  async *listObjects(): AsyncGenerator<{ digest: Digest; size: number; mtimeMs: number }> {
    const base = join(this.root, 'objects', 'sha256');
    for (const prefix of (await readdirOrEmpty(base)).sort()) {
      for (const name of (await readdirOrEmpty(join(base, prefix))).sort()) {
        const d = `sha256:${name}`;
        if (!isDigest(d)) continue;
        const st = await stat(join(base, prefix, name)).catch(() => null);
        if (st) yield { digest: d, size: st.size, mtimeMs: st.mtimeMs };
      }
    }
  }

  async *listActions(): AsyncGenerator<{ hex: string; mtimeMs: number }> {
    const base = join(this.root, 'actions');
    for (const prefix of (await readdirOrEmpty(base)).sort()) {
      for (const name of (await readdirOrEmpty(join(base, prefix))).sort()) {
        if (!/^[0-9a-f]{64}\.json$/.test(name)) continue;
        const st = await stat(join(base, prefix, name)).catch(() => null);
        if (st) yield { hex: name.slice(0, 64), mtimeMs: st.mtimeMs };
      }
    }
  }

  /**
   * Marks an entry and its objects as in use now (their mtime): `cache gc` keeps whatever was used within
   * its grace period, so a run that just took a cache hit does not lose the objects it is about to read.
   */
  async touch(keyHex: string, objects: Iterable<Digest>): Promise<void> {
    const now = new Date();
    for (const p of [this.actionPath(keyHex), ...[...objects].map((d) => this.objectPath(d))]) await utimes(p, now, now).catch(() => {});
  }

  /**
   * An action entry's text, or null. At most ACTION_MAX_BYTES + 1 bytes are read, so a huge entry (a
   * shared directory is writable by others) costs bounded memory and is refused by its length. Something
   * other than a file under an entry's name (a directory) is moved to corrupt/ and is a miss: the task
   * reruns and publishes its entry there.
   */
  async readAction(keyHex: string): Promise<string | null> {
    let fh: FileHandle;
    try {
      fh = await open(this.actionPath(keyHex), 'r');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw err;
    }
    try {
      const st = await fh.stat();
      if (!st.isFile()) {
        await this.#quarantinePath(this.actionPath(keyHex), `${keyHex}.json`);
        return null;
      }
      const buf = Buffer.alloc(Math.min(st.size, ACTION_MAX_BYTES + 1));
      const { bytesRead } = await fh.read(buf, 0, buf.length, 0);
      return buf.subarray(0, bytesRead).toString('utf8');
    } finally {
      await fh.close();
    }
  }

  /**
   * Publishes an action entry create-only (link fails if the name exists). Returns the text already stored
   * when another writer got there first, so the caller can tell agreement from nondeterminism.
   */
  async writeActionOnce(keyHex: string, text: string): Promise<{ created: boolean; existing?: string }> {
    const dest = this.actionPath(keyHex);
    if (await writeFileAtomic(dest, text, { exclusive: true, tmpDir: this.#tmpDir(), mode: 0o644 })) return { created: true };
    return { created: false, existing: await readFile(dest, 'utf8') };
  }

  async removeAction(keyHex: string): Promise<void> {
    await this.#remove(this.actionPath(keyHex), `${keyHex}.json`);
  }

  async removeObject(d: Digest): Promise<void> {
    await this.#remove(this.objectPath(d), digestHex(d));
  }

  /** Removes a file; a directory under a file's name is moved to corrupt/ instead (rm would refuse it). */
  async #remove(path: string, name: string): Promise<void> {
    try {
      await rm(path, { force: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ERR_FS_EISDIR') throw err;
      await this.#quarantinePath(path, name);
    }
  }

  /** Temp files older than the given age are leftovers of killed writers. */
  async removeStaleTemp(olderThanMs: number, now: number): Promise<number> {
    const dir = join(this.root, 'tmp');
    let removed = 0;
    for (const name of await readdirOrEmpty(dir)) {
      const p = join(dir, name);
      const st = await stat(p).catch(() => null);
      if (st && now - st.mtimeMs > olderThanMs) {
        await rm(p, { force: true });
        removed++;
      }
    }
    return removed;
  }

  async publishObject(file: AtomicFile, d: Digest): Promise<void> {
    // Same name means same bytes, so a concurrent writer of the same object is harmless: last rename wins.
    await file.publish(this.objectPath(d));
  }

  /** Temp files live in the cache's own tmp/: on its filesystem, and removed by `cache gc` when stale. */
  #tmpDir(): string {
    return join(this.root, 'tmp');
  }
}

export class CorruptObjectError extends ReingestError {
  readonly expected: Digest;
  readonly found: Digest;
  readonly path: string;
  constructor(expected: Digest, found: Digest, path: string) {
    super(
      'REINGEST_E_CACHE_CORRUPT',
      `cache object ${path} is corrupt: its name says ${expected} but its bytes hash to ${found}; ` +
        'run `reingest cache verify` to quarantine corrupt objects, then rerun',
      { where: path },
    );
    this.expected = expected;
    this.found = found;
    this.path = path;
  }
}

/** What rehash finds where an object should be when it is not a file (a directory): corrupt, with no digest. */
export const NOT_A_FILE = 'not-a-file';

/** A directory under an object's name, met while reading it (EISDIR). */
export class NotAFileError extends ReingestError {
  constructor(path: string) {
    super(
      'REINGEST_E_CACHE_CORRUPT',
      `cache object ${path} is corrupt: expected a file, found a directory; run \`reingest cache verify\` to quarantine corrupt objects, then rerun`,
      { where: path },
    );
  }
}

/**
 * Streams a new object to a temp file (atomic-write.ts), hashing as it goes; commit publishes it under the
 * digest. Small writes are buffered so that a stream of small record frames becomes few large syscalls.
 */
export class ObjectWriter {
  readonly #store: ObjectStore;
  readonly #file: AtomicFile;
  readonly #hash = new StreamDigest();
  #pending: Uint8Array[] = [];
  #pendingBytes = 0;
  #done = false;

  constructor(store: ObjectStore, file: AtomicFile) {
    this.#store = store;
    this.#file = file;
  }

  get size(): number {
    return this.#hash.bytes;
  }

  async write(chunk: Uint8Array): Promise<void> {
    if (this.#done) throw new Error('Internal error: object writer used after commit or abort');
    this.#hash.update(chunk);
    this.#pending.push(chunk);
    this.#pendingBytes += chunk.byteLength;
    if (this.#pendingBytes >= 256 * 1024) await this.#flush();
  }

  async #flush(): Promise<void> {
    if (this.#pendingBytes === 0) return;
    const data = this.#pending.length === 1 ? this.#pending[0]! : Buffer.concat(this.#pending, this.#pendingBytes);
    this.#pending = [];
    this.#pendingBytes = 0;
    await this.#file.write(data);
  }

  /** Publishes the bytes under their digest; a failure (a full disk) publishes nothing and leaves no temp file. */
  async commit(): Promise<{ digest: Digest; size: number }> {
    if (this.#done) throw new Error('Internal error: object writer committed twice');
    this.#done = true;
    await this.#flush();
    const digest = this.#hash.digest();
    await this.#store.publishObject(this.#file, digest);
    return { digest, size: this.#hash.bytes };
  }

  /**
   * Publishes only if the bytes hash to `expected` (an object downloaded by name); otherwise discards them
   * and returns the digest they had.
   */
  async commitExpecting(expected: Digest): Promise<{ ok: true; size: number } | { ok: false; found: Digest }> {
    await this.#flush();
    const found = this.#hash.digest();
    if (found !== expected) {
      await this.abort();
      return { ok: false, found };
    }
    const { size } = await this.commit();
    return { ok: true, size };
  }

  async abort(): Promise<void> {
    this.#done = true;
    await this.#file.discard();
  }
}

async function readdirOrEmpty(dir: string): Promise<string[]> {
  try {
    return await readdir(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
}
