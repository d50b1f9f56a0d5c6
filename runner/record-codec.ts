import { compareUtf8 } from './canonical-json.ts';
import { ReingestError } from './errors.ts';

/**
 * Records flow between stages. They are plain data: no floats, no Dates, no class instances.
 * Binary payloads (an HTTP body) are Uint8Array.
 */
export type RecordValue =
  | null
  | boolean
  | number
  | string
  | Uint8Array
  | readonly RecordValue[]
  | { readonly [key: string]: RecordValue | undefined };
export type DataRecord = { readonly [key: string]: RecordValue | undefined };

/*
 * Canonical binary encoding of one record: a tag byte, then a fixed-width length where the value has one.
 * Map keys are sorted by UTF-8 bytes and undefined members are dropped, so two equal records always give
 * equal bytes. Lengths make the encoding unambiguous, so the frames of a stream can be hashed as they are.
 */
const T_NULL = 0;
const T_FALSE = 1;
const T_TRUE = 2;
const T_INT = 3;
const T_STRING = 4;
const T_BYTES = 5;
const T_ARRAY = 6;
const T_MAP = 7;

/** A record that cannot be encoded: a stage's bug (exit 70), never the user's. */
export class RecordCodecError extends Error {
  readonly code = 'REINGEST_E_RECORD_CODEC';
}

/** Bytes that do not decode as records: a corrupt or foreign stored object, or a forged proof frame. */
export class CorruptRecordError extends ReingestError {
  constructor(message: string) {
    super('REINGEST_E_CACHE_CORRUPT', message);
  }
}

/** Byte values at least this long are referenced by a frame's parts instead of copied into them. */
const BY_REFERENCE = 16 * 1024;

class Writer {
  buf = Buffer.allocUnsafe(256);
  len = 0;
  /** Start in buf of the bytes not yet handed out as a part (always 0 when writing one contiguous frame). */
  mark = 0;
  /** Set when large byte values are kept by reference: the frame so far, in order. */
  readonly parts: Buffer[] | null;
  constructor(byReference: boolean) {
    this.parts = byReference ? [] : null;
  }
  ensure(n: number): void {
    if (this.len + n <= this.buf.length) return;
    const keep = this.len - this.mark;
    let size = this.buf.length * 2;
    while (size < keep + n) size *= 2;
    const next = Buffer.allocUnsafe(size);
    this.buf.copy(next, 0, this.mark, this.len);
    this.buf = next;
    this.len = keep;
    this.mark = 0;
  }
  byte(b: number): void {
    this.ensure(1);
    this.buf[this.len++] = b;
  }
  u32(n: number): void {
    this.ensure(4);
    this.buf.writeUInt32BE(n, this.len);
    this.len += 4;
  }
  bytes(b: Uint8Array): void {
    this.u32(b.byteLength);
    if (this.parts !== null && b.byteLength >= BY_REFERENCE) {
      this.parts.push(this.buf.subarray(this.mark, this.len), Buffer.from(b.buffer, b.byteOffset, b.byteLength));
      this.mark = this.len;
      return;
    }
    this.ensure(b.byteLength);
    this.buf.set(b, this.len);
    this.len += b.byteLength;
  }
  string(s: string): void {
    const max = Buffer.byteLength(s, 'utf8');
    this.ensure(4 + max);
    const written = this.buf.write(s, this.len + 4, 'utf8');
    this.buf.writeUInt32BE(written, this.len);
    this.len += 4 + written;
  }
}

/** Encodes one record as a frame: u32 big-endian length, then the canonical bytes. */
export function encodeFrame(record: DataRecord): Buffer {
  const w = new Writer(false);
  w.u32(0);
  writeValue(w, record, '$');
  w.buf.writeUInt32BE(w.len - 4, 0);
  return w.buf.subarray(0, w.len);
}

/**
 * The same frame as encodeFrame, as consecutive parts whose large byte values (a WARC block) are the
 * record's own buffers, not copies: hashing the parts in order hashes the frame.
 */
export function encodeFrameParts(record: DataRecord): { readonly parts: readonly Buffer[]; readonly length: number } {
  const w = new Writer(true);
  w.u32(0);
  writeValue(w, record, '$');
  const parts = w.parts!;
  parts.push(w.buf.subarray(w.mark, w.len));
  const length = parts.reduce((n, p) => n + p.length, 0);
  parts[0]!.writeUInt32BE(length - 4, 0);
  return { parts, length };
}

function writeValue(w: Writer, v: RecordValue | undefined, path: string): void {
  if (v === null) return w.byte(T_NULL);
  if (v === true) return w.byte(T_TRUE);
  if (v === false) return w.byte(T_FALSE);
  if (typeof v === 'number') {
    if (!Number.isSafeInteger(v)) {
      throw new RecordCodecError(`Internal error: record field ${path} expected a safe integer, got ${v}; store non-integers as strings`);
    }
    w.byte(T_INT);
    w.ensure(8);
    w.buf.writeBigInt64BE(BigInt(v), w.len);
    w.len += 8;
    return;
  }
  if (typeof v === 'string') {
    w.byte(T_STRING);
    return w.string(v);
  }
  if (v instanceof Uint8Array) {
    w.byte(T_BYTES);
    return w.bytes(v);
  }
  if (Array.isArray(v)) {
    w.byte(T_ARRAY);
    w.u32(v.length);
    v.forEach((item: RecordValue, i: number) => writeValue(w, item, `${path}[${i}]`));
    return;
  }
  if (typeof v === 'object' && v !== undefined) {
    const obj = v as { readonly [key: string]: RecordValue | undefined };
    const keys = Object.keys(obj).filter((k) => obj[k] !== undefined).sort(compareUtf8);
    w.byte(T_MAP);
    w.u32(keys.length);
    for (const k of keys) {
      w.string(k);
      writeValue(w, obj[k], `${path}.${k}`);
    }
    return;
  }
  throw new RecordCodecError(`Internal error: record field ${path} has unsupported type ${typeof v}`);
}

/** Decodes the canonical bytes of one record (without its length prefix). */
export function decodeRecord(bytes: Uint8Array): DataRecord {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const state = { pos: 0 };
  const value = readValue(buf, state);
  if (state.pos !== buf.length || value === null || typeof value !== 'object' || Array.isArray(value) || value instanceof Uint8Array) {
    throw new CorruptRecordError(`stored record is not one map (decoded ${state.pos} of ${buf.length} bytes); run \`reingest cache verify\``);
  }
  return value as DataRecord;
}

// A module function, not a closure per call: readValue runs once per value of every record read.
function need(buf: Buffer, s: { pos: number }, n: number): void {
  if (s.pos + n > buf.length) throw new CorruptRecordError(`record truncated at byte ${s.pos}: needed ${n} more bytes`);
}

function readValue(buf: Buffer, s: { pos: number }): RecordValue {
  need(buf, s, 1);
  const tag = buf[s.pos++];
  switch (tag) {
    case T_NULL:
      return null;
    case T_FALSE:
      return false;
    case T_TRUE:
      return true;
    case T_INT: {
      need(buf, s, 8);
      const n = Number(buf.readBigInt64BE(s.pos));
      s.pos += 8;
      return n;
    }
    case T_STRING:
    case T_BYTES: {
      need(buf, s, 4);
      const len = buf.readUInt32BE(s.pos);
      s.pos += 4;
      need(buf, s, len);
      const slice = buf.subarray(s.pos, s.pos + len);
      s.pos += len;
      return tag === T_STRING ? slice.toString('utf8') : new Uint8Array(slice);
    }
    case T_ARRAY: {
      need(buf, s, 4);
      const n = buf.readUInt32BE(s.pos);
      s.pos += 4;
      const out: RecordValue[] = [];
      for (let i = 0; i < n; i++) out.push(readValue(buf, s));
      return out;
    }
    case T_MAP: {
      need(buf, s, 4);
      const n = buf.readUInt32BE(s.pos);
      s.pos += 4;
      const out: Record<string, RecordValue> = {};
      for (let i = 0; i < n; i++) {
        need(buf, s, 4);
        const klen = buf.readUInt32BE(s.pos);
        s.pos += 4;
        need(buf, s, klen);
        const key = buf.toString('utf8', s.pos, s.pos + klen);
        s.pos += klen;
        out[key] = readValue(buf, s);
      }
      return out;
    }
    default:
      throw new CorruptRecordError(`unknown record tag ${tag} at byte ${s.pos - 1}; the stored stream is corrupt or from another codec version`);
  }
}

/** Splits a byte stream of frames back into records. */
export async function* decodeFrames(chunks: AsyncIterable<Uint8Array>): AsyncGenerator<DataRecord> {
  let pending: Buffer = Buffer.alloc(0);
  let offset = 0;
  for await (const chunk of chunks) {
    pending = pending.length === 0 ? Buffer.from(chunk) : Buffer.concat([pending, chunk]);
    let pos = 0;
    while (pending.length - pos >= 4) {
      const len = pending.readUInt32BE(pos);
      if (pending.length - pos - 4 < len) break;
      yield decodeRecord(pending.subarray(pos + 4, pos + 4 + len));
      pos += 4 + len;
    }
    offset += pos;
    pending = pending.subarray(pos);
  }
  if (pending.length !== 0) {
    throw new CorruptRecordError(`record stream ends inside a frame at byte ${offset} (${pending.length} bytes left over)`);
  }
}
