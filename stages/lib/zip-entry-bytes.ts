import { Readable, pipeline } from 'node:stream';
import { crc32, createInflateRaw } from 'node:zlib';
import { ReingestError } from '../../runner/stage.ts';
import type { OpenZip, ZipEntryRecord } from './zip-archive.ts';

/*
 * An entry's bytes are read and inflated here rather than by the zip library, so that every stream they
 * pass through is ours to destroy and wait for: when an entry is refused, aborted or abandoned, no read
 * and no inflate is still running once the generator has finished, and the shared archive stays usable.
 * Nothing the archive declares is trusted: the local header must agree with the central directory, the
 * compressed bytes must lie inside the archive, and the output must match the declared size and CRC.
 */

const LOCAL_SIGNATURE = 0x04034b50;
const LOCAL_HEADER_BYTES = 30;
const STORED = 0;
const DEFLATED = 8;
const ENCRYPTED_FLAG = 0x1;
/** The zip64 marker: the real size is in an extra field the central directory has already read. */
const ZIP64_MARK = 0xffffffff;
const CHUNK = 64 * 1024;

/** Yields the bytes of one entry, never more than it declares; throws if they differ from what it declares. */
export async function* entryBytes(zip: OpenZip, e: ZipEntryRecord, where: string, signal: AbortSignal): AsyncGenerator<Uint8Array> {
  checkMethod(e, where);
  const start = await dataStart(zip, e, where);
  signal.throwIfAborted();
  const source = Readable.from(compressedChunks(zip, start, e, where), { objectMode: false, highWaterMark: CHUNK });
  const streams: Readable[] = e.method === DEFLATED ? [source, pipeline(source, createInflateRaw({ chunkSize: CHUNK }), () => {})] : [source];
  const out = streams.at(-1)!;
  const onAbort = () => out.destroy(signal.reason as Error);
  signal.addEventListener('abort', onAbort, { once: true });
  try {
    yield* checkedChunks(out, e, where, signal);
  } finally {
    signal.removeEventListener('abort', onAbort);
    await Promise.all(streams.map(settle));
  }
}

/** Passes the output on while it stays within the declared size, then checks its size and CRC-32. */
async function* checkedChunks(out: Readable, e: ZipEntryRecord, where: string, signal: AbortSignal): AsyncGenerator<Uint8Array> {
  let n = 0;
  let crc = 0;
  try {
    for await (const chunk of out as AsyncIterable<Buffer>) {
      n += chunk.length;
      if (n > e.size) throw new ReingestError('REINGEST_E_ZIP_BOMB', `${where}: entry ${JSON.stringify(e.name)} declares ${e.size} bytes but inflates to more; refusing it`, { where });
      crc = crc32(chunk, crc);
      yield chunk;
    }
  } catch (err) {
    if (signal.aborted) throw signal.reason;
    if (err instanceof ReingestError) throw err;
    throw damaged(e, where, `its data does not inflate after ${n} bytes (${(err as Error).message})`, err);
  }
  if (n < e.size) throw damaged(e, where, `it declares ${e.size} bytes but inflates to ${n}`);
  if (crc !== e.crc) throw damaged(e, where, `its data has CRC-32 ${hex(crc)}, the central directory says ${hex(e.crc)}`);
}

function checkMethod(e: ZipEntryRecord, where: string): void {
  if (e.flags & ENCRYPTED_FLAG) throw damaged(e, where, 'it is encrypted, which reingest does not read; decrypt the archive first');
  if (e.method !== STORED && e.method !== DEFLATED) {
    throw damaged(e, where, `it uses compression method ${e.method}; expected 0 (stored) or 8 (deflate) — recompress the archive with deflate`);
  }
}

/** Where the entry's data starts, after its local header, which must agree with the central directory. */
async function dataStart(zip: OpenZip, e: ZipEntryRecord, where: string): Promise<number> {
  const head = Buffer.alloc(LOCAL_HEADER_BYTES);
  const { bytesRead } = await zip.fh.read(head, 0, head.length, e.offset);
  if (bytesRead < head.length || head.readUInt32LE(0) !== LOCAL_SIGNATURE) {
    throw damaged(e, where, `expected a local header (PK\\x03\\x04) at byte ${e.offset}, found ${bytesRead < head.length ? 'the end of the archive' : 'other bytes'}`);
  }
  const disagreement = localDisagreement(head, e);
  if (disagreement) throw damaged(e, where, `its local header at byte ${e.offset} says ${disagreement}`);
  const start = e.offset + LOCAL_HEADER_BYTES + head.readUInt16LE(26) + head.readUInt16LE(28);
  if (start + e.compressedSize > zip.size) {
    throw damaged(e, where, `its ${e.compressedSize} compressed bytes from byte ${start} run past the end of the archive (${zip.size} bytes); the archive is truncated`);
  }
  return start;
}

/** What the local header says that the central directory contradicts (sizes of 0 or the zip64 mark defer to it). */
function localDisagreement(head: Buffer, e: ZipEntryRecord): string | undefined {
  const method = head.readUInt16LE(8);
  if (method !== e.method) return `compression method ${method}, the central directory ${e.method}`;
  const compressed = head.readUInt32LE(18);
  if (compressed !== 0 && compressed !== ZIP64_MARK && compressed !== e.compressedSize) return `${compressed} compressed bytes, the central directory ${e.compressedSize}`;
  const size = head.readUInt32LE(22);
  if (size !== 0 && size !== ZIP64_MARK && size !== e.size) return `${size} bytes, the central directory ${e.size}`;
  return undefined;
}

async function* compressedChunks(zip: OpenZip, start: number, e: ZipEntryRecord, where: string): AsyncGenerator<Buffer> {
  for (let pos = 0; pos < e.compressedSize; ) {
    const buf = Buffer.allocUnsafe(Math.min(CHUNK, e.compressedSize - pos));
    const { bytesRead } = await zip.fh.read(buf, 0, buf.length, start + pos);
    if (bytesRead === 0) throw damaged(e, where, `its compressed data ends at byte ${start + pos}, ${e.compressedSize - pos} bytes short of what it declares`);
    pos += bytesRead;
    yield buf.subarray(0, bytesRead);
  }
}

/**
 * Destroys a stream and resolves once it has closed, that is once whatever it started (a file read, an
 * inflate) has finished. The error a destroyed stream may still emit was already reported by its reader.
 */
function settle(s: Readable): Promise<void> {
  s.on('error', () => {});
  if (s.closed) return Promise.resolve();
  const closed = new Promise<void>((resolve) => s.once('close', () => resolve()));
  s.destroy();
  return closed;
}

function damaged(e: ZipEntryRecord, where: string, what: string, cause?: unknown): ReingestError {
  return new ReingestError('REINGEST_E_ZIP_ENTRY', `${where}: entry ${JSON.stringify(e.name)} is damaged: ${what}; the archive is corrupt or lies about this entry — refetch or rebuild it`, { where, cause });
}

function hex(n: number): string {
  return `0x${n.toString(16).padStart(8, '0')}`;
}
