import { open, type FileHandle } from 'node:fs/promises';
import { ReingestError } from '../runner/errors.ts';
import { compareUtf8 } from '../runner/canonical-json.ts';

/**
 * A proof file as data: read with a bound, its fields checked for type before anything trusts them,
 * and a field-by-field comparison of what it shows with what its frame holds.
 */

export const PROOF_SCHEMA = 'reingest-record-proof/1';

/** A proof is one record and at most a few dozen hashes; anything this large is not one. */
export const MAX_PROOF_BYTES = 64 * 1024 * 1024;

/**
 * One record, provable on its own: the record's frame, its position, and the audit path up to the edge's
 * `recordsRoot` in the manifest. Whoever holds the manifest can check it without any other record.
 */
export interface RecordProof {
  readonly schema: typeof PROOF_SCHEMA;
  readonly task: string;
  readonly stage: string;
  readonly recordsRoot: string;
  readonly count: number;
  readonly index: number;
  /** The record's frame (u32 length + canonical bytes), base64. */
  readonly frame: string;
  readonly auditPath: readonly string[];
  /** The record in readable form (byte values as "<N bytes>"); `proof check` compares it with the frame. */
  readonly record: unknown;
}

function refuse(field: string, message: string): never {
  throw new ReingestError('REINGEST_E_PROOF', `proof ${field}: ${message}; make the proof again with \`reingest proof <manifest> --task T --record N\``, { where: field });
}

/** Reads a proof file, refusing one larger than MAX_PROOF_BYTES without reading past that bound. */
export async function readProofFile(file: string): Promise<unknown> {
  let fh: FileHandle;
  try {
    fh = await open(file, 'r');
  } catch (err) {
    throw new ReingestError('REINGEST_E_PROOF', `proof check: expected a proof file at ${file}, could not open it (${(err as NodeJS.ErrnoException).code ?? 'error'})`, { where: file, cause: err });
  }
  const chunks: Buffer[] = [];
  let total = 0;
  try {
    // open() takes a directory; reading it would fail with EISDIR.
    if ((await fh.stat()).isDirectory()) {
      throw new ReingestError('REINGEST_E_PROOF', `proof check: expected a proof file at ${file}, found a directory`, { where: file });
    }
    for (;;) {
      const { bytesRead, buffer } = await fh.read(Buffer.alloc(1024 * 1024), 0, 1024 * 1024, null);
      if (bytesRead === 0) break;
      total += bytesRead;
      if (total > MAX_PROOF_BYTES) {
        throw new ReingestError('REINGEST_E_PROOF', `proof check: expected a proof file of at most ${MAX_PROOF_BYTES} bytes, ${file} is larger; a proof holds one record and its audit path`, { where: file });
      }
      chunks.push(buffer.subarray(0, bytesRead));
    }
  } finally {
    await fh.close();
  }
  return parseProofText(Buffer.concat(chunks).toString('utf8'), file);
}

export function parseProofText(text: string, file: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new ReingestError('REINGEST_E_PROOF', `proof check: expected ${file} to be a JSON proof (schema ${PROOF_SCHEMA}), it is not JSON (${(err as Error).message}); make it with \`reingest proof <manifest> --task T --record N > ${file}\``, { where: file, cause: err });
  }
}

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const HASH_HEX = /^[0-9a-f]{64}$/;

function isPlainObject(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

function str(p: Record<string, unknown>, field: string): string {
  const v = p[field];
  if (typeof v !== 'string') refuse(field, `expected a string, got ${render(v)}`);
  return v;
}

function count(p: Record<string, unknown>, field: string): number {
  const v = p[field];
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) refuse(field, `expected a non-negative integer, got ${render(v)}`);
  return v;
}

function auditPath(p: Record<string, unknown>): string[] {
  const v = p.auditPath;
  if (!Array.isArray(v)) refuse('auditPath', `expected an array of sibling hashes (64 lowercase hex digits each), got ${render(v)}`);
  return v.map((h: unknown, i) => {
    if (typeof h !== 'string' || !HASH_HEX.test(h)) refuse(`auditPath[${i}]`, `expected 64 lowercase hex digits (a SHA-256), got ${render(h)}`);
    return h;
  });
}

/** Checks every field's type; throws REINGEST_E_PROOF naming the first that is missing or ill-typed. */
export function parseProof(x: unknown): RecordProof {
  if (!isPlainObject(x)) refuse('file', `expected a JSON object with schema ${PROOF_SCHEMA}, got ${render(x)}`);
  const schema = str(x, 'schema');
  if (schema !== PROOF_SCHEMA) refuse('schema', `expected ${JSON.stringify(PROOF_SCHEMA)}, got ${render(schema)}`);
  const frame = str(x, 'frame');
  if (!BASE64.test(frame)) refuse('frame', `expected base64 (the record's frame), got ${render(frame)}`);
  if (!isPlainObject(x.record)) refuse('record', `expected an object (the record in readable form), got ${render(x.record)}`);
  return {
    schema,
    task: str(x, 'task'),
    stage: str(x, 'stage'),
    recordsRoot: str(x, 'recordsRoot'),
    count: count(x, 'count'),
    index: count(x, 'index'),
    frame,
    auditPath: auditPath(x),
    record: x.record,
  };
}

/** A value as it appears in a message: JSON, long strings and structures cut to about `max` characters. */
export function render(v: unknown, max = 60): string {
  if (v === undefined) return 'nothing';
  if (typeof v === 'string') return v.length > max ? `${JSON.stringify(v.slice(0, max)).slice(0, -1)}…"` : JSON.stringify(v);
  let s: string;
  try {
    s = JSON.stringify(v);
  } catch {
    return 'a value nested too deeply to show';
  }
  return s.length > max ? `${s.slice(0, max)}…` : s;
}

function fieldPath(path: string, key: string): string {
  return /^[A-Za-z_$][\w$]*$/.test(key) ? `${path}.${key}` : `${path}[${JSON.stringify(key)}]`;
}

export interface Difference {
  readonly path: string;
  readonly shown: unknown;
  readonly held: unknown;
}

/**
 * Where two JSON values differ, deepest first reached in key order (UTF-8). Key order in either value is
 * irrelevant; a missing key differs from any value, null included.
 */
export function differences(shown: unknown, held: unknown, path: string, out: Difference[] = []): Difference[] {
  if (Array.isArray(shown) && Array.isArray(held)) {
    for (let i = 0; i < Math.max(shown.length, held.length); i++) differences(shown[i], held[i], `${path}[${i}]`, out);
  } else if (isPlainObject(shown) && isPlainObject(held)) {
    const keys = [...new Set([...Object.keys(shown), ...Object.keys(held)])].sort(compareUtf8);
    for (const k of keys) {
      differences(Object.hasOwn(shown, k) ? shown[k] : undefined, Object.hasOwn(held, k) ? held[k] : undefined, fieldPath(path, k), out);
    }
  } else if (shown !== held) {
    out.push({ path, shown, held });
  }
  return out;
}
