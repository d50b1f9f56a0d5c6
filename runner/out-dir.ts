import { randomBytes } from 'node:crypto';
import { lstat, mkdir, rename, rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import { syncDir } from '../cache/atomic-write.ts';
import { ReingestError } from './errors.ts';

/**
 * Builds the --out folder as a sibling and renames it into place, so a reader never sees the manifest of
 * one run beside the files of another, and two runs into one --out each publish a whole folder. The old
 * folder is renamed aside first and removed after: a kill between the two renames leaves no --out but
 * `<out>.old-<hex>` whole beside it. The folder holds what the run wrote and nothing else.
 */
export async function replaceOutDir(outDir: string, build: (dir: string) => Promise<void>): Promise<void> {
  const existing = await lstat(outDir).catch(() => null);
  if (existing && !existing.isDirectory()) {
    throw new ReingestError('REINGEST_E_USAGE', `--out ${outDir}: expected a directory (or nothing), found a file; choose another --out`, { where: outDir });
  }
  const tag = randomBytes(6).toString('hex');
  const staging = `${outDir}.partial-${tag}`;
  await mkdir(staging, { recursive: true });
  try {
    await build(staging);
  } catch (err) {
    await rm(staging, { recursive: true, force: true });
    throw err;
  }
  const old = `${outDir}.old-${tag}`;
  try {
    await rename(outDir, old);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') {
      await rm(staging, { recursive: true, force: true });
      throw err;
    }
  }
  await rename(staging, outDir);
  // The files inside were fsynced as they were published; the folder's new name is durable once its parent is.
  await syncDir(dirname(outDir));
  await rm(old, { recursive: true, force: true });
}
