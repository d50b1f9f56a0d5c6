import { pathToFileURL } from 'node:url';
import { resolve } from 'node:path';
import type { Logger } from 'pino';
import { openUrl } from '../stages/lib/open-url.ts';
import { preferInflateThread } from '../stages/warc/inflate-thread.ts';
import { readWarc, toRecord } from '../stages/warc-records.ts';

/**
 * `reingest warc ls`: one line per record — where it sits in the file (the member offset and length a CDX
 * index holds), its type, target URI, record id, digest verdicts and flags. Reads a local path or a URL
 * with the same streaming, resumable reader a run uses.
 */
export async function warcLs(target: string, opts: { json: boolean; maxRecordBytes: number; signal: AbortSignal; log: Logger; out: NodeJS.WritableStream }): Promise<{ records: number; notes: Record<string, number> }> {
  const url = /^[a-z]+:\/\//i.test(target) ? new URL(target) : pathToFileURL(resolve(target));
  const notes: Record<string, number> = {};
  let records = 0;
  const note = (what: string, n = 1) => (notes[what] = (notes[what] ?? 0) + n);
  preferInflateThread();
  for await (const rec of readWarc(openUrl(url, opts.signal, opts.log), { where: target, maxRecordBytes: opts.maxRecordBytes, verifyDigests: true, signal: opts.signal, note })) {
    records++;
    const r = toRecord(rec);
    const line = {
      offset: r.fileOffset,
      length: r.fileLength,
      uncompressedOffset: r.offset,
      type: r.type,
      uri: r.uri,
      id: r.id,
      contentLength: rec.block?.length ?? null,
      blockDigest: r.blockDigest,
      payloadDigest: r.payloadDigest,
      flags: r.flags,
    };
    if (opts.json) await write(opts.out, `${JSON.stringify(line)}\n`);
    else {
      const where = line.offset === null ? '-' : `${line.offset}+${line.length ?? '?'}`;
      const flags = (line.flags as string[]).length > 0 ? ` [${(line.flags as string[]).join(',')}]` : '';
      await write(opts.out, `${where.padEnd(18)} ${String(line.type).padEnd(9)} block:${String(line.blockDigest).padEnd(9)} payload:${String(line.payloadDigest).padEnd(14)} ${line.uri ?? ''}${flags}\n`);
    }
  }
  return { records, notes };
}

/** Writes with backpressure, so listing a 1 GB file into a slow pipe does not buffer it all. */
async function write(out: NodeJS.WritableStream, text: string): Promise<void> {
  if (!out.write(text)) await new Promise<void>((resolve) => out.once('drain', resolve));
}
