import type { Digest } from '../cache/digest.ts';
import { ObjectStore } from '../cache/store.ts';
import { ReingestError } from '../runner/errors.ts';
import type { Manifest } from '../runner/manifest.ts';
import { decodeFrames } from '../runner/record-codec.ts';

export interface ExclusionFilter {
  readonly stage?: string | undefined;
  readonly reason?: string | undefined;
}

/**
 * Every document the run dropped, one JSON line each — {task, segment, stage, reason, id, url} — in the
 * manifest's task order, then edge order, then the order the stage dropped them. Read from the cache that
 * made the run; each exclusions object is checked against its digest as it is read.
 */
export async function listExclusions(m: Manifest, cacheDir: string, filter: ExclusionFilter, out: NodeJS.WritableStream, signal: AbortSignal): Promise<Map<string, number>> {
  const store = new ObjectStore(cacheDir);
  const byReason = new Map<string, number>();
  for (const task of m.tasks) {
    for (const e of task.edges) {
      if (!e.exclusions || (filter.stage !== undefined && e.stage !== filter.stage)) continue;
      if (!(await store.has(e.exclusions as Digest))) {
        throw new ReingestError(
          'REINGEST_E_EXCLUSIONS_MISSING',
          `task ${task.id}, stage ${e.stage}: its exclusions object ${e.exclusions} is not in the cache ${store.root}; pass the --cache that made the run, or rerun it there`,
          { where: task.id },
        );
      }
      for await (const x of decodeFrames(store.read(e.exclusions as Digest, signal))) {
        const reason = String(x.reason);
        if (filter.reason !== undefined && reason !== filter.reason) continue;
        byReason.set(`${e.stage}/${reason}`, (byReason.get(`${e.stage}/${reason}`) ?? 0) + 1);
        const line = { task: task.id, ...(task.segment ? { segment: task.segment.index } : {}), stage: e.stage, reason, ...(x.id === undefined ? {} : { id: x.id }), ...(x.url === undefined ? {} : { url: x.url }) };
        if (!out.write(`${JSON.stringify(line)}\n`)) await new Promise((r) => out.once('drain', r));
      }
    }
  }
  return byReason;
}
