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
  const olds = await publish(staging, outDir, tag);
  // The files inside were fsynced as they were published; the folder's new name is durable once its parent is.
  await syncDir(dirname(outDir));
  for (const old of olds) await rm(old, { recursive: true, force: true });
}

/** How often another run may publish into the same --out between our two renames before we give up. */
const PUBLISH_ATTEMPTS = 20;

/**
 * Moves whatever --out holds aside, then renames staging into place. Another run into the same --out can
 * publish between the two renames (the second then fails ENOTEMPTY/EEXIST): its folder is moved aside too
 * and the rename tried again. Returns the folders moved aside, for removal.
 */
async function publish(staging: string, outDir: string, tag: string): Promise<string[]> {
  const olds: string[] = [];
  for (let attempt = 0; attempt < PUBLISH_ATTEMPTS; attempt++) {
    const old = `${outDir}.old-${tag}-${attempt}`;
    try {
      await rename(outDir, old);
      olds.push(old);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') {
        await rm(staging, { recursive: true, force: true });
        throw err;
      }
    }
    try {
      await rename(staging, outDir);
      return olds;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'ENOTEMPTY' && code !== 'EEXIST') throw err;
    }
  }
  await rm(staging, { recursive: true, force: true });
  throw new ReingestError('REINGEST_E_EXISTS', `--out ${outDir}: other runs kept publishing into it (${PUBLISH_ATTEMPTS} tries); run one at a time into one --out`, { where: outDir });
}
