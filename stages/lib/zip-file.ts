import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { link, mkdir, rename, stat, symlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import StreamZip from 'node-stream-zip';
import { AtomicFile, ReingestError, type StageLog } from '../../runner/stage.ts';
import { openUrl } from './open-url.ts';

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
  const zip = await openZip(file, where);
  try {
    const entries = Object.values(await zip.entries()).filter((e) => !e.isDirectory);
    return entries.map((e) => {
      checkEntry(e, where, limits);
      return { name: e.name, size: e.size, compressedSize: e.compressedSize };
    });
  } finally {
    await zip.close();
  }
}

/** Streams one entry, stopping as soon as it yields more than it declared (a lying entry). */
export async function* streamZipEntry(file: string, name: string, where: string, limits: ZipLimits, signal: AbortSignal): AsyncGenerator<Uint8Array> {
  const zip = await openZip(file, where);
  try {
    const entry = await zip.entry(name);
    if (!entry) throw new ReingestError('REINGEST_E_SOURCE_MISSING', `${where}: the zip has no entry ${JSON.stringify(name)}`, { where });
    checkEntry(entry, where, limits);
    const stream = (await zip.stream(name)) as unknown as Readable;
    signal.addEventListener('abort', () => stream.destroy(signal.reason as Error), { once: true });
    let n = 0;
    try {
      for await (const chunk of stream as AsyncIterable<Buffer>) {
        n += chunk.length;
        if (n > entry.size) break;
        yield chunk;
      }
    } catch (err) {
      if (signal.aborted) throw signal.reason;
      throw new ReingestError('REINGEST_E_ZIP_ENTRY', `${where}: entry ${JSON.stringify(name)} is damaged after ${n} bytes (${(err as Error).message}); the zip is corrupt or lies about its sizes`, { where, cause: err });
    }
    if (n !== entry.size) {
      throw new ReingestError('REINGEST_E_ZIP_BOMB', `${where}: entry ${JSON.stringify(name)} declares ${entry.size} bytes but inflates to ${n > entry.size ? 'more' : n}; refusing it`, { where });
    }
  } finally {
    await zip.close();
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

async function openZip(file: string, where: string): Promise<InstanceType<typeof StreamZip.async>> {
  const zip = new StreamZip.async({ file, storeEntries: true });
  try {
    await zip.entriesCount;
  } catch (err) {
    await zip.close().catch(() => {});
    const msg = (err as Error).message;
    if (msg.startsWith('Malicious entry')) {
      throw new ReingestError('REINGEST_E_ZIP_UNSAFE_NAME', `${where}: ${msg.replace('Malicious entry: ', 'entry name ')} would escape the output folder (absolute, drive letter, backslash or ".."); refusing the archive`, { where });
    }
    throw new ReingestError('REINGEST_E_ZIP', `${where}: expected a zip archive, could not read it: ${msg}`, { where, cause: err });
  }
  return zip;
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
