import { digestHex, type Digest } from './digest.ts';
import type { NOT_A_FILE, ObjectStore } from './store.ts';

export interface VerifyReport {
  readonly checked: number;
  readonly bytes: number;
  /** found: what the bytes hash to, or NOT_A_FILE (a directory under the object's name). */
  readonly corrupt: readonly { readonly digest: Digest; readonly found: Digest | typeof NOT_A_FILE; readonly movedTo: string }[];
}

/** Re-hashes every object; corrupt ones are moved to corrupt/ so they are never served again. */
export async function verifyStore(store: ObjectStore): Promise<VerifyReport> {
  let checked = 0;
  let bytes = 0;
  const corrupt: { digest: Digest; found: Digest | typeof NOT_A_FILE; movedTo: string }[] = [];
  for await (const { digest, size } of store.listObjects()) {
    const found = await store.rehash(digest);
    checked++;
    bytes += size;
    if (found !== null && found !== digest) corrupt.push({ digest, found, movedTo: await store.quarantine(digest) });
  }
  return { checked, bytes, corrupt };
}

export interface GcReport {
  readonly keptObjects: number;
  readonly removedObjects: number;
  readonly removedBytes: number;
  readonly keptActions: number;
  readonly removedActions: number;
  readonly removedTemp: number;
}

/**
 * Drops action entries, then objects, that no kept manifest references and that nobody used within the
 * grace period (mtime: writes and cache hits touch it, see ObjectStore.touch), so a run going on beside
 * gc keeps what it wrote or is about to read. Entries go first: no entry ever names a removed object.
 * Temp files older than the grace period are leftovers of killed writers.
 */
export async function collectGarbage(
  store: ObjectStore,
  keep: { readonly objects: ReadonlySet<Digest>; readonly actions: ReadonlySet<Digest> },
  opts: { readonly dryRun: boolean; readonly now: number; readonly graceMs?: number },
): Promise<GcReport> {
  const grace = opts.graceMs ?? 60 * 60 * 1000;
  const inUse = (mtimeMs: number) => opts.now - mtimeMs < grace;
  const keepHex = new Set([...keep.actions].map(digestHex));
  let keptActions = 0;
  let removedActions = 0;
  for await (const { hex, mtimeMs } of store.listActions()) {
    if (keepHex.has(hex) || inUse(mtimeMs)) {
      keptActions++;
      continue;
    }
    removedActions++;
    if (!opts.dryRun) await store.removeAction(hex);
  }
  let keptObjects = 0;
  let removedObjects = 0;
  let removedBytes = 0;
  for await (const { digest, size, mtimeMs } of store.listObjects()) {
    if (keep.objects.has(digest) || inUse(mtimeMs)) {
      keptObjects++;
      continue;
    }
    removedObjects++;
    removedBytes += size;
    if (!opts.dryRun) await store.removeObject(digest);
  }
  const removedTemp = opts.dryRun ? 0 : await store.removeStaleTemp(grace, opts.now);
  return { keptObjects, removedObjects, removedBytes, keptActions, removedActions, removedTemp };
}
