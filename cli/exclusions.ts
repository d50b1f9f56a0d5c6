import type { Digest } from '../cache/digest.ts';
import { ObjectStore } from '../cache/store.ts';
import { ReingestError } from '../runner/errors.ts';
import type { Manifest, ManifestTask } from '../runner/manifest.ts';
import { decodeFrames } from '../runner/record-codec.ts';

export interface ExclusionFilter {
  readonly stage?: string | undefined;
  readonly reason?: string | undefined;
}

/**
 * Every document the run dropped, one JSON line each — {task, segment, stage, reason, id, url} — in the
 * manifest's task order, then edge order, then the order the stage dropped them. Read from the cache that
 * made the run, in two passes: every exclusions object is first checked against its digest (a missing or
 * corrupt one fails before a line is printed), then read again and printed. Neither pass holds an object
 * in memory, and the second still re-hashes what it prints.
 */
export async function listExclusions(m: Manifest, cacheDir: string, filter: ExclusionFilter, out: NodeJS.WritableStream, signal: AbortSignal): Promise<Map<string, number>> {
  const store = new ObjectStore(cacheDir);
  const objects = exclusionObjects(m, filter);
  const checked = new Set<Digest>();
  for (const { task, stage, digest } of objects) {
    if (!checked.has(digest)) await check(store, task, stage, digest, signal);
    checked.add(digest);
  }
  const byReason = new Map<string, number>();
  for (const { task, stage, digest } of objects) {
    for await (const x of decodeFrames(store.read(digest, signal))) {
      const reason = String(x.reason);
      if (filter.reason !== undefined && reason !== filter.reason) continue;
      byReason.set(`${stage}/${reason}`, (byReason.get(`${stage}/${reason}`) ?? 0) + 1);
      const line = { task: task.id, ...(task.segment ? { segment: task.segment.index } : {}), stage, reason, ...(x.id === undefined ? {} : { id: x.id }), ...(x.url === undefined ? {} : { url: x.url }) };
      if (!out.write(`${JSON.stringify(line)}\n`)) await new Promise((r) => out.once('drain', r));
    }
  }
  return byReason;
}

/** The exclusions objects the listing reads, in the order it prints them. */
function exclusionObjects(m: Manifest, filter: ExclusionFilter): { task: ManifestTask; stage: string; digest: Digest }[] {
  const objects = [];
  for (const task of m.tasks) {
    for (const e of task.edges) {
      if (!e.exclusions || (filter.stage !== undefined && e.stage !== filter.stage)) continue;
      objects.push({ task, stage: e.stage, digest: e.exclusions as Digest });
    }
  }
  return objects;
}

/** Reads one object through to its end, where store.read throws if the bytes do not hash to its name. */
async function check(store: ObjectStore, task: ManifestTask, stage: string, digest: Digest, signal: AbortSignal): Promise<void> {
  if (!(await store.has(digest))) {
    throw new ReingestError(
      'REINGEST_E_EXCLUSIONS_MISSING',
      `task ${task.id}, stage ${stage}: its exclusions object ${digest} is not in the cache ${store.root}; pass the --cache that made the run, or rerun it there`,
      { where: task.id },
    );
  }
  for await (const _ of store.read(digest, signal));
}
