import { randomBytes } from 'node:crypto';
import { constants as fsConstants, writeSync } from 'node:fs';
import { link, mkdir, open, rename, rm, type FileHandle } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { isReingestError } from './errors.ts';
import { fromOsError } from './os-errors.ts';

/**
 * Publishing a file that the user or a later run relies on: the bytes go to a temp file (random name,
 * created exclusively, on the destination's filesystem), every byte is written (a write may take fewer
 * than it is given: a full disk, a quota), the file is fsynced and its size checked, then renamed (or
 * linked, for create-only) into place and the folder fsynced. A reader sees nothing, the old file or the
 * whole new one, even after kill -9 or a power cut. Any failure removes the temp file and is thrown as a
 * typed error (REINGEST_E_DISK_FULL for ENOSPC/EDQUOT) naming the file being published.
 */
export interface AtomicOptions {
  /** Permission bits of a new file, before the umask (as for fs.writeFile). */
  readonly mode?: number;
  /** A folder on the destination's filesystem for the temp file; by default the destination's own folder. */
  readonly tmpDir?: string;
}

export class AtomicFile {
  /** The temp file's path: nobody reads it, a stale one is a killed writer's. */
  readonly tmp: string;
  readonly #fh: FileHandle;
  /** What errors name: the destination when it is known up front, else the temp file. */
  readonly #names: string;
  #bytes = 0;
  #open = true;
  #done = false;

  /** Creates the temp file in `tmpDir`; `names` is the file errors name (the destination, when known). */
  static async create(tmpDir: string, opts: { names?: string; mode?: number } = {}): Promise<AtomicFile> {
    const tmp = join(tmpDir, `.tmp-${process.pid}-${randomBytes(8).toString('hex')}`);
    try {
      return new AtomicFile(await open(tmp, fsConstants.O_CREAT | fsConstants.O_EXCL | fsConstants.O_WRONLY, opts.mode ?? 0o666), tmp, opts.names);
    } catch (err) {
      throw diskError(err, opts.names ?? tmp);
    }
  }

  constructor(fh: FileHandle, tmp: string, names = tmp) {
    this.#fh = fh;
    this.tmp = tmp;
    this.#names = names;
  }

  /** Bytes written so far. */
  get bytes(): number {
    return this.#bytes;
  }

  /** Writes every byte of `data`, looping on short writes; on failure the temp file is gone. */
  async write(data: Uint8Array): Promise<void> {
    this.#live();
    try {
      let at = 0;
      while (at < data.byteLength) {
        const { bytesWritten } = await this.#fh.write(data, at, data.byteLength - at);
        if (bytesWritten === 0) throw noSpace(`${this.tmp} took 0 of ${data.byteLength - at} bytes`);
        at += bytesWritten;
        this.#bytes += bytesWritten;
      }
    } catch (err) {
      await this.discard();
      throw diskError(err, this.#names);
    }
  }

  /**
   * Makes the bytes durable and puts them at `dest` (its folder is created if missing). `exclusive`:
   * create only, by link(2); returns false, publishing nothing, when `dest` already exists.
   */
  async publish(dest: string, opts: { exclusive?: boolean } = {}): Promise<boolean> {
    this.#live();
    this.#done = true;
    let created = false;
    try {
      await this.#fh.sync();
      const { size } = await this.#fh.stat();
      if (size !== this.#bytes) throw noSpace(`${this.tmp} holds ${size} of the ${this.#bytes} bytes written to it`);
      await this.#close();
      await mkdir(dirname(dest), { recursive: true });
      created = opts.exclusive ? await linkOnce(this.tmp, dest) : (await rename(this.tmp, dest), true);
      if (created) await syncDir(dirname(dest));
      return created;
    } catch (err) {
      throw diskError(err, this.#names);
    } finally {
      // After a rename the temp name is gone; after a link (made or refused) or a failure it is still there.
      if (!created || opts.exclusive) await this.#removeTemp();
    }
  }

  /** Drops the temp file; publishing nothing. Safe to call more than once. */
  async discard(): Promise<void> {
    this.#done = true;
    await this.#removeTemp();
  }

  #live(): void {
    if (this.#done) throw new Error(`Internal error: ${this.tmp} used after it was published or discarded`);
  }

  async #close(): Promise<void> {
    if (!this.#open) return;
    this.#open = false;
    await this.#fh.close();
  }

  async #removeTemp(): Promise<void> {
    await this.#close().catch(() => {});
    await rm(this.tmp, { force: true });
  }
}

/** A whole small file (a manifest, an entry, a marker), published atomically; see AtomicFile.publish. */
export async function writeFileAtomic(dest: string, data: string | Uint8Array, opts: AtomicOptions & { exclusive?: boolean } = {}): Promise<boolean> {
  const file = await AtomicFile.create(opts.tmpDir ?? dirname(dest), { names: dest, ...(opts.mode === undefined ? {} : { mode: opts.mode }) });
  await file.write(typeof data === 'string' ? Buffer.from(data, 'utf8') : data);
  return file.publish(dest, { exclusive: opts.exclusive ?? false });
}

/** A file of any size from a stream, published atomically. An error of the source is thrown as it is. */
export async function writeStreamAtomic(dest: string, source: AsyncIterable<Uint8Array>, opts: AtomicOptions = {}): Promise<void> {
  const file = await AtomicFile.create(opts.tmpDir ?? dirname(dest), { names: dest, ...(opts.mode === undefined ? {} : { mode: opts.mode }) });
  try {
    for await (const chunk of source) await file.write(chunk);
  } catch (err) {
    await file.discard();
    throw err;
  }
  await file.publish(dest);
}

/**
 * Appends `text` to a log file (run records) whole or not at all: a full disk does not leave a torn line
 * that would glue itself to the next run's line. What this call wrote is cut off again on failure, unless
 * another writer appended meanwhile (its line is worth more than a clean end).
 */
export async function appendWhole(path: string, text: string): Promise<void> {
  const data = Buffer.from(text, 'utf8');
  let fh: FileHandle;
  try {
    fh = await open(path, 'a');
  } catch (err) {
    throw diskError(err, path);
  }
  let before = -1;
  let at = 0;
  try {
    before = (await fh.stat()).size;
    while (at < data.byteLength) {
      const { bytesWritten } = await fh.write(data, at, data.byteLength - at);
      if (bytesWritten === 0) throw noSpace(`${path} took 0 of ${data.byteLength - at} bytes`);
      at += bytesWritten;
    }
    await fh.sync();
    await syncDir(dirname(path));
  } catch (err) {
    if (before >= 0 && at > 0 && (await fh.stat().catch(() => null))?.size === before + at) await fh.truncate(before).catch(() => {});
    throw diskError(err, path);
  } finally {
    await fh.close().catch(() => {});
  }
}

/** Scratch files written synchronously (dedup's spills): every byte or a typed error naming `path`. */
export function writeAllSync(fd: number, data: Uint8Array, path: string): void {
  try {
    let at = 0;
    while (at < data.byteLength) {
      const n = writeSync(fd, data, at, data.byteLength - at);
      if (n === 0) throw noSpace(`${path} took 0 of ${data.byteLength - at} bytes`);
      at += n;
    }
  } catch (err) {
    throw diskError(err, path);
  }
}

/** A rename or link is durable only once its folder is fsynced. */
export async function syncDir(dir: string): Promise<void> {
  const fh = await open(dir, fsConstants.O_RDONLY);
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** Publishes `tmp` at `dest` unless `dest` exists: link(2) never replaces a name. */
async function linkOnce(tmp: string, dest: string): Promise<boolean> {
  try {
    await link(tmp, dest);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  }
}

/** A write that takes nothing, or a file shorter than what was written to it: the disk is full. */
function noSpace(detail: string): Error {
  return Object.assign(new Error(`no space left: ${detail}`), { code: 'ENOSPC', detail });
}

/** An OS error as a typed one naming `path`; any other error keeps its kind and gains the path it lacked. */
function diskError(err: unknown, path: string): unknown {
  if (isReingestError(err)) return err;
  const typed = fromOsError(err, path);
  if (typed) return typed;
  if (typeof err === 'object' && err !== null && !('path' in err)) Object.assign(err, { path });
  return err;
}
