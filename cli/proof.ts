import type { Digest } from '../cache/digest.ts';
import { ObjectStore } from '../cache/store.ts';
import { ReingestError } from '../runner/errors.ts';
import type { Manifest } from '../runner/manifest.ts';
import { CorruptRecordError, decodeRecord, type DataRecord } from '../runner/record-codec.ts';
import { RecordIndex, verifyRecord } from '../runner/record-index.ts';
import { differences, parseProof, PROOF_SCHEMA, render, type RecordProof } from './proof-file.ts';

export { readProofFile, type RecordProof } from './proof-file.ts';

async function readAll(store: ObjectStore, d: Digest): Promise<Buffer> {
  if (!(await store.has(d))) {
    throw new ReingestError('REINGEST_E_PROOF', `object ${d} is not in the cache ${store.root}; pass the --cache that made the manifest`, { where: d });
  }
  return store.readAll(d);
}

/** What is wrong with a frame's u32 big-endian length prefix, or null when it equals the length of what follows. */
function framePrefixProblem(frame: Buffer): string | null {
  if (frame.length < 4) return `expected a u32 length prefix and the record's bytes, got ${frame.length} bytes`;
  const said = frame.readUInt32BE(0);
  return said === frame.length - 4 ? null : `its length prefix says ${said} bytes follow, ${frame.length - 4} do; the frame was cut or altered`;
}

/** The record as people read it: byte values become "<N bytes>", the rest is the record's own JSON. */
function readableRecord(rec: DataRecord): unknown {
  return JSON.parse(JSON.stringify(rec, (_k, v: unknown) => (v instanceof Uint8Array ? `<${v.byteLength} bytes>` : v)));
}

/**
 * Decodes a frame into the record and its readable form. makeProof writes that form and checkProof
 * recomputes it with this one function, so what a proof shows and what it is checked against cannot drift.
 */
function readFrame(frame: Buffer): { readonly record: DataRecord; readonly readable: unknown } {
  const problem = framePrefixProblem(frame);
  if (problem !== null) throw new ReingestError('REINGEST_E_PROOF', `frame: ${problem}`, { where: 'frame' });
  let record: DataRecord;
  try {
    record = decodeRecord(frame.subarray(4));
  } catch (err) {
    if (!(err instanceof CorruptRecordError)) throw err;
    throw new ReingestError('REINGEST_E_PROOF', `frame: expected the canonical bytes of one record after the length prefix, the decoder says: ${err.message}`, { where: 'frame', cause: err });
  }
  return { record, readable: readableRecord(record) };
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
  return {
    schema: PROOF_SCHEMA,
    task: taskId,
    stage: edge.stage,
    recordsRoot: edge.recordsRoot,
    count: idx.count,
    index,
    frame: frame.toString('base64'),
    auditPath: idx.auditPath(index).map((h) => h.toString('hex')),
    record: readFrame(frame).readable,
  };
}

export interface ProofCheck {
  readonly ok: boolean;
  readonly why: string;
  /** On failure, the proof field that does not hold (e.g. "record.text", "stage", "frame"). */
  readonly field?: string;
}

function fail(field: string, why: string): ProofCheck {
  return { ok: false, why, field };
}

/** The proof's claims about the task's output (stage, root, count, position) against the manifest's. */
function checkClaims(m: Manifest, p: RecordProof): ProofCheck | null {
  const task = m.tasks.find((t) => t.id === p.task);
  if (!task) return fail('task', `task: the proof is for task ${JSON.stringify(p.task)}, the manifest has no such task; check it against the manifest the proof was made from`);
  const out = task.output;
  if (out.stage !== p.stage) return fail('stage', `stage: the proof says ${render(p.stage)}, the manifest's task ${p.task} writes ${render(out.stage)}`);
  if (out.recordsRoot !== p.recordsRoot) return fail('recordsRoot', `recordsRoot: the proof is for records root ${p.recordsRoot}, the manifest's task ${p.task} has ${out.recordsRoot ?? 'none'}`);
  if (out.records !== p.count) return fail('count', `count: the proof says ${p.count} records, the manifest ${out.records ?? 'none'}`);
  if (p.index >= p.count) return fail('index', `index: expected 0..${p.count - 1} (task ${p.task} output has ${p.count} records), got ${p.index}`);
  return null;
}

/** What the proof shows in `record` against what its frame holds, field by field. */
function checkReadable(p: RecordProof, readable: unknown): ProofCheck | null {
  const diffs = differences(p.record, readable, 'record');
  const first = diffs[0];
  if (first === undefined) return null;
  const more = diffs.length > 1 ? ` (${diffs.length - 1} more field${diffs.length > 2 ? 's' : ''} differ: ${diffs.slice(1, 4).map((d) => d.path).join(', ')}${diffs.length > 4 ? ', …' : ''})` : '';
  return fail(first.path, `${first.path}: the proof shows ${render(first.shown)}, the frame holds ${render(first.held)}${more}; the frame is what the manifest proves, the proof's record was edited`);
}

/** The record's identity as its frame gives it: its url and id where it has them. */
function identity(rec: DataRecord): string {
  const parts = (['url', 'id'] as const).filter((k) => typeof rec[k] === 'string').map((k) => `${k} ${render(rec[k], 200)}`);
  return parts.length > 0 ? parts.join(', ') : `a record with no url or id (fields: ${Object.keys(rec).join(', ') || 'none'})`;
}

/**
 * Checks a proof against a manifest alone: its fields' types (REINGEST_E_PROOF names the first ill-typed one),
 * its claims against the manifest, its frame's audit path to the records root, and every field of its
 * readable `record` against the frame. On success the message is derived from the frame, not from `record`.
 */
export function checkProof(m: Manifest, raw: unknown): ProofCheck {
  const p = parseProof(raw);
  const claims = checkClaims(m, p);
  if (claims) return claims;
  const frame = Buffer.from(p.frame, 'base64');
  const prefix = framePrefixProblem(frame);
  if (prefix !== null) return fail('frame', `frame: ${prefix}`);
  if (!verifyRecord(frame, p.index, p.count, p.auditPath.map((h) => Buffer.from(h, 'hex')), p.recordsRoot as Digest)) {
    return fail('frame', "the record and its audit path do not lead to the manifest's records root");
  }
  const { record, readable } = readFrame(frame);
  const shown = checkReadable(p, readable);
  if (shown) return shown;
  return { ok: true, why: `record ${p.index} of ${p.count} in ${p.task} (${p.stage}) is in the manifest's records root; its frame holds ${identity(record)}` };
}
