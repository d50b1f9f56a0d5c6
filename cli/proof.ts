import type { Digest } from '../cache/digest.ts';
import { ObjectStore } from '../cache/store.ts';
import { ReingestError } from '../runner/errors.ts';
import type { Manifest } from '../runner/manifest.ts';
import { decodeRecord } from '../runner/record-codec.ts';
import { RecordIndex, verifyRecord } from '../runner/record-index.ts';

/**
 * One record, provable on its own: the record's frame, its position, and the audit path up to the edge's
 * `recordsRoot` in the manifest. Whoever holds the manifest can check it without any other record.
 */
export interface RecordProof {
  readonly schema: 'reingest-record-proof/1';
  readonly task: string;
  readonly stage: string;
  readonly recordsRoot: string;
  readonly count: number;
  readonly index: number;
  /** The record's frame (u32 length + canonical bytes), base64. */
  readonly frame: string;
  readonly auditPath: readonly string[];
  /** The record decoded, for people (not part of the check). */
  readonly record: unknown;
}

async function readAll(store: ObjectStore, d: Digest): Promise<Buffer> {
  if (!(await store.has(d))) {
    throw new ReingestError('REINGEST_E_PROOF', `object ${d} is not in the cache ${store.root}; pass the --cache that made the manifest`, { where: d });
  }
  return store.readAll(d);
}

export async function makeProof(m: Manifest, taskId: string, index: number, cacheDir: string): Promise<RecordProof> {
  const task = m.tasks.find((t) => t.id === taskId);
  if (!task) throw new ReingestError('REINGEST_E_PROOF', `--task: expected a task id of the manifest (e.g. segment:0, apply:0:3), got ${JSON.stringify(taskId)}`, { where: taskId });
  const edge = task.output;
  if (!edge.stored || !edge.recordIndex || !edge.recordsRoot || edge.records === undefined) {
    throw new ReingestError('REINGEST_E_PROOF', `task ${taskId}: its output is not a stored record stream with a record index (proofs exist for segment chains and applied whole-run steps)`, { where: taskId });
  }
  if (!Number.isInteger(index) || index < 0 || index >= edge.records) {
    throw new ReingestError('REINGEST_E_PROOF', `--record: expected 0..${edge.records - 1} (task ${taskId} output has ${edge.records} records), got ${index}`, { where: taskId });
  }
  const store = new ObjectStore(cacheDir);
  const idx = new RecordIndex(await readAll(store, edge.recordIndex as Digest));
  const stream = await readAll(store, edge.digest as Digest);
  const offset = idx.offset(index);
  const frame = stream.subarray(offset, offset + idx.frameLength(index));
  const rec = decodeRecord(frame.subarray(4));
  const readable = JSON.parse(JSON.stringify(rec, (_k, v) => (v instanceof Uint8Array ? `<${v.byteLength} bytes>` : v)));
  return {
    schema: 'reingest-record-proof/1',
    task: taskId,
    stage: edge.stage,
    recordsRoot: edge.recordsRoot,
    count: idx.count,
    index,
    frame: frame.toString('base64'),
    auditPath: idx.auditPath(index).map((h) => h.toString('hex')),
    record: readable,
  };
}

/** Checks a proof against a manifest alone. */
export function checkProof(m: Manifest, p: RecordProof): { ok: boolean; why: string } {
  const task = m.tasks.find((t) => t.id === p.task);
  if (!task) return { ok: false, why: `the manifest has no task ${p.task}` };
  if (task.output.recordsRoot !== p.recordsRoot) return { ok: false, why: `the proof is for records root ${p.recordsRoot}, the manifest's task ${p.task} has ${task.output.recordsRoot ?? 'none'}` };
  if (task.output.records !== p.count) return { ok: false, why: `the proof says ${p.count} records, the manifest ${task.output.records}` };
  const ok = verifyRecord(Buffer.from(p.frame, 'base64'), p.index, p.count, p.auditPath.map((h) => Buffer.from(h, 'hex')), task.output.recordsRoot as Digest);
  return ok ? { ok, why: `record ${p.index} of ${p.count} in ${p.task} (${p.stage}) is in the manifest's records root` } : { ok, why: 'the record and its audit path do not lead to the manifest\'s records root' };
}
