import { pathToFileURL } from 'node:url';
import { resolve } from 'node:path';
import type { Logger } from 'pino';
import { openUrl } from '../stages/lib/open-url.ts';
import { preferInflateThread } from '../stages/warc/inflate-thread.ts';
import { readWarc, toRecord, type WarcFinding } from '../stages/warc-records.ts';

/**
 * `reingest warc ls`: one line per record — where it sits in the file (the member offset and length a CDX
 * index holds), its type, target URI, record id, digest verdicts and flags. Reads a local path or a URL
 * with the same streaming, resumable reader a run uses. The listing ends with what was found outside the
 * records (bytes skipped to resynchronise): with --json a last line {"summary": ...}, so a consumer that reads
 * only records still sees them.
 */
export async function warcLs(target: string, opts: { json: boolean; maxRecordBytes: number; signal: AbortSignal; log: Logger; out: NodeJS.WritableStream }): Promise<WarcLsSummary> {
  const url = /^[a-z]+:\/\//i.test(target) ? new URL(target) : pathToFileURL(resolve(target));
  const notes: Record<string, number> = {};
  const findings: WarcFinding[] = [];
  let records = 0;
  let flaggedRecords = 0;
  const note = (what: string, n = 1) => (notes[what] = (notes[what] ?? 0) + n);
  preferInflateThread();
  const read = readWarc(openUrl(url, opts.signal, opts.log), { where: target, maxRecordBytes: opts.maxRecordBytes, verifyDigests: true, signal: opts.signal, note, finding: (f) => findings.push(f) });
  for await (const rec of read) {
    records++;
    if (rec.flags.length > 0) flaggedRecords++;
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
  const summary = { records, flaggedRecords, findings, notes };
  if (opts.json) await write(opts.out, `${JSON.stringify({ summary })}\n`);
  else for (const f of findings) await write(opts.out, `${`${f.offset}+${f.length}`.padEnd(18)} ${f.kind}\n`);
  return summary;
}

export interface WarcLsSummary {
  readonly records: number;
  /** Records that carry a flag (a wrong Content-Length, oversize, ...). */
  readonly flaggedRecords: number;
  /** Bytes skipped outside records, in file order. */
  readonly findings: readonly WarcFinding[];
  /** Counts by kind (findings' bytes, streaming fallback). */
  readonly notes: Readonly<Record<string, number>>;
}

/** Writes with backpressure, so listing a 1 GB file into a slow pipe does not buffer it all. */
async function write(out: NodeJS.WritableStream, text: string): Promise<void> {
  if (!out.write(text)) await new Promise<void>((resolve) => out.once('drain', resolve));
}
