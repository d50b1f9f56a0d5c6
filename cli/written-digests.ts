import { createReadStream } from 'node:fs';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { StreamDigest, type Digest } from '../cache/digest.ts';
import { ReingestError } from '../runner/errors.ts';
import type { Manifest, ManifestOutput } from '../runner/manifest.ts';

/**
 * The sha256 of each compressed output as written under `outDir`, by its manifest `file`. The manifest
 * commits to what a `.gz` file inflates to, not to its bytes (zlib builds differ between Node versions), so
 * those bytes can only be hashed where they are. Each file must inflate to the content the manifest
 * records: a subject is never a file of another run.
 */
export async function writtenDigests(m: Manifest, outDir: string, signal: AbortSignal): Promise<Map<string, Digest>> {
  const found = new Map<string, Digest>();
  for (const o of m.outputs) {
    if (o.compression === 'gzip') found.set(o.file, await gzipDigest(o, join(outDir, o.file), outDir, signal));
  }
  return found;
}

async function gzipDigest(o: ManifestOutput, path: string, outDir: string, signal: AbortSignal): Promise<Digest> {
  const raw = new StreamDigest();
  const content = new StreamDigest();
  try {
    await pipeline(
      createReadStream(path),
      async function* (chunks: AsyncIterable<Buffer>) {
        for await (const c of chunks) {
          raw.update(c);
          yield c;
        }
      },
      createGunzip(),
      async (chunks: AsyncIterable<Buffer>) => {
        for await (const c of chunks) content.update(c);
      },
      { signal },
    );
  } catch (err) {
    const found = foundInstead(err);
    if (found === null) throw err;
    throw outputError(o, path, outDir, found);
  }
  if (content.digest() !== o.digest || content.bytes !== o.size) throw outputError(o, path, outDir, `a gzip file that inflates to ${content.digest()} (${content.bytes} bytes)`);
  return raw.digest();
}

/** What stood in place of a readable gzip file, for the errors a user can cause; null for the rest. */
function foundInstead(err: unknown): string | null {
  switch ((err as NodeJS.ErrnoException).code) {
    case 'ENOENT':
    case 'ENOTDIR':
      return 'nothing';
    case 'EISDIR':
      return 'a directory';
    case 'Z_DATA_ERROR':
      return 'a file that is not gzip';
    case 'Z_BUF_ERROR':
      return 'a gzip file cut short';
    default:
      return null;
  }
}

function outputError(o: ManifestOutput, path: string, outDir: string, found: string): ReingestError {
  return new ReingestError(
    'REINGEST_E_OUTPUT_FILE',
    `${path}: expected the gzip file the manifest lists as ${o.file}, inflating to ${o.digest} (${o.size} bytes), found ${found}; attest hashes compressed outputs as written (the manifest does not commit to their bytes): pass --out with the folder the run of this manifest wrote (now ${outDir})`,
    { where: path },
  );
}
