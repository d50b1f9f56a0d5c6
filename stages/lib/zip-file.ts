import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { link, mkdir, rename, stat, symlink } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { AtomicFile, ReingestError, type StageLog } from '../../runner/stage.ts';
import { openUrl } from './open-url.ts';
import { leaseZip } from './zip-archive.ts';
import { entryBytes } from './zip-entry-bytes.ts';

/**
 * A zip needs random access, so it is held whole: a local zip is used in place (linked into the work
 * directory), a remote one is downloaded there once, named by its sha256. Both are then opened by digest.
 */
export function zipPathFor(workDir: string, sha256Hex: string): string {
  return join(workDir, 'zip', `${sha256Hex}.zip`);
}

const materialized = new Map<string, Promise<{ sha256Hex: string; size: number }>>();

/** Makes the zip at url available under the work directory (once per process and URL); returns its digest. */
export function materializeZip(url: URL, workDir: string, signal: AbortSignal, log: StageLog): Promise<{ sha256Hex: string; size: number }> {
  const key = `${workDir}\0${url.href}`;
  let p = materialized.get(key);
  if (!p) {
    p = fetchZip(url, workDir, signal, log);
    materialized.set(key, p);
    p.catch(() => materialized.delete(key));
  }
  return p;
}

async function fetchZip(url: URL, workDir: string, signal: AbortSignal, log: StageLog): Promise<{ sha256Hex: string; size: number }> {
  const dir = join(workDir, 'zip');
  await mkdir(dir, { recursive: true });
  if (url.protocol === 'file:') {
    const local = fileURLToPath(url);
    const { hex, size } = await hashFile(local, signal);
    const dest = zipPathFor(workDir, hex);
    if (!(await exists(dest))) {
      const tmp = join(dir, `.tmp-${randomBytes(6).toString('hex')}`);
      await link(local, tmp).catch(() => symlink(local, tmp));
      await rename(tmp, dest);
    }
    return { sha256Hex: hex, size };
  }
  // Named by its digest once whole: a download cut short (a full disk, a dropped connection) publishes nothing.
  const file = await AtomicFile.create(dir);
  const h = createHash('sha256');
  try {
    for await (const chunk of openUrl(url, signal, log)) {
      h.update(chunk);
      await file.write(chunk);
    }
  } catch (err) {
    await file.discard();
    throw err;
  }
  const hex = h.digest('hex');
  await file.publish(zipPathFor(workDir, hex));
  return { sha256Hex: hex, size: file.bytes };
}

export interface ZipLimits {
  /** Largest declared uncompressed/compressed ratio accepted for one entry. */
  readonly maxRatio: number;
  /** Largest declared uncompressed size of one entry. */
  readonly maxEntryBytes: number;
}

export interface ZipEntryInfo {
  readonly name: string;
  readonly size: number;
  readonly compressedSize: number;
}

/** Lists file entries, refusing names that would escape a folder and entries that look like bombs. */
export async function listZip(file: string, where: string, limits: ZipLimits): Promise<ZipEntryInfo[]> {
  const zip = await leaseZip(file, where);
  try {
    const entries = Object.values(zip.entries).filter((e) => !e.isDirectory);
    return entries.map((e) => {
      checkEntry(e, where, limits);
      return { name: e.name, size: e.size, compressedSize: e.compressedSize };
    });
  } finally {
    zip.release();
  }
}

/** Streams one entry, stopping as soon as it yields more than it declared (a lying entry). */
export async function* streamZipEntry(file: string, name: string, where: string, limits: ZipLimits, signal: AbortSignal): AsyncGenerator<Uint8Array> {
  signal.throwIfAborted();
  const zip = await leaseZip(file, where);
  try {
    const entry = Object.hasOwn(zip.entries, name) ? zip.entries[name] : undefined;
    if (!entry || entry.isDirectory) throw new ReingestError('REINGEST_E_SOURCE_MISSING', `${where}: the zip has no entry ${JSON.stringify(name)}`, { where });
    checkEntry(entry, where, limits);
    yield* entryBytes(zip, entry, where, signal);
  } finally {
    zip.release();
  }
}

function checkEntry(e: { name: string; size: number; compressedSize: number }, where: string, limits: ZipLimits): void {
  if (e.size > limits.maxEntryBytes) {
    throw new ReingestError('REINGEST_E_ZIP_BOMB', `${where}: entry ${JSON.stringify(e.name)} declares ${e.size} bytes, above the limit of ${limits.maxEntryBytes} (maxEntryBytes)`, { where });
  }
  if (e.size > 0 && e.size / Math.max(1, e.compressedSize) > limits.maxRatio) {
    throw new ReingestError(
      'REINGEST_E_ZIP_BOMB',
      `${where}: entry ${JSON.stringify(e.name)} would inflate ${e.compressedSize} bytes to ${e.size} (ratio ${Math.round(e.size / Math.max(1, e.compressedSize))}, limit ${limits.maxRatio}); raise maxRatio only if you trust the archive`,
      { where },
    );
  }
}

async function hashFile(path: string, signal: AbortSignal): Promise<{ hex: string; size: number }> {
  const h = createHash('sha256');
  let size = 0;
  try {
    for await (const c of createReadStream(path, { highWaterMark: 1 << 20, signal }) as AsyncIterable<Buffer>) {
      h.update(c);
      size += c.length;
    }
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new ReingestError('REINGEST_E_SOURCE_MISSING', `expected a zip at ${path}, found none`, { where: path });
    throw err;
  }
  return { hex: h.digest('hex'), size };
}

async function exists(p: string): Promise<boolean> {
  return stat(p).then(
    () => true,
    () => false,
  );
}
