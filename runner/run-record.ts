import { open } from 'node:fs/promises';
import { appendWhole } from '../cache/atomic-write.ts';
import type { Digest } from '../cache/digest.ts';
import type { ObjectStore } from '../cache/store.ts';

/**
 * Facts about one run: when, where, with which tool build, how long each stage took. They describe a run,
 * not the data, so they stay out of the manifest (which must be byte-identical for the same recipe and
 * inputs) and go to the cache, one JSON line per run under the manifest's root. A cached rerun appends
 * its own line and never erases the timings of the run that computed the data.
 */
export interface RunRecord {
  readonly schema: 'reingest-run/1';
  readonly root: Digest;
  readonly pipeline: string;
  readonly tool: { readonly name: 'reingest'; readonly version: string };
  readonly host: string;
  readonly node: string;
  readonly platform: string;
  readonly startedAt: string;
  readonly wallMs: number;
  readonly concurrency: number;
  readonly tasksRun: number;
  readonly tasksCached: number;
  /** Where sources were fetched from in this run (the manifest never says: any mirror gives the same bytes). */
  readonly mirror: string;
  /** Wall milliseconds per stage (aggregates as "stage -> output") summed over the tasks that ran in this run. */
  readonly stageMs: Readonly<Record<string, number>>;
}

export async function appendRunRecord(store: ObjectStore, r: RunRecord): Promise<void> {
  await appendWhole(store.runRecordPath(r.root), `${JSON.stringify(r)}\n`);
}

/** Only the newest records are read: the file's last 1 MiB. */
const TAIL_BYTES = 1 << 20;

/** The recorded runs of the manifest with this root, oldest first; lines that do not parse are skipped. */
export async function readRunRecords(store: ObjectStore, root: Digest): Promise<RunRecord[]> {
  let text: string;
  try {
    const fh = await open(store.runRecordPath(root), 'r');
    try {
      const size = (await fh.stat()).size;
      const start = Math.max(0, size - TAIL_BYTES);
      const buf = Buffer.alloc(size - start);
      await fh.read(buf, 0, buf.length, start);
      text = buf.toString('utf8');
      if (start > 0) text = text.slice(text.indexOf('\n') + 1);
    } finally {
      await fh.close();
    }
  } catch {
    return [];
  }
  const runs: RunRecord[] = [];
  for (const line of text.split('\n')) {
    try {
      const r = JSON.parse(line) as RunRecord;
      if (r?.schema === 'reingest-run/1' && r.root === root && typeof r.stageMs === 'object' && r.stageMs !== null) runs.push(r);
    } catch {
      // a torn or foreign line: not a record
    }
  }
  return runs;
}

/** The newest run that computed something (a cached rerun has no timings of the work). */
export function lastWorkingRun(runs: readonly RunRecord[]): RunRecord | undefined {
  return runs.findLast((r) => r.tasksRun > 0) ?? runs.at(-1);
}
