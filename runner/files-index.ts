import type { Digest } from '../cache/digest.ts';
import { canonicalJson } from './canonical-json.ts';
import type { RecordValue } from './record-codec.ts';

/**
 * A multi-file output's index object: every file with its digest, size and facts. It is the aggregate
 * task's output, so the root covers every file; `outputs[]` in the manifest is the same list as written
 * under --out, and each side is derived from the other here and nowhere else.
 */
export interface FilesIndex {
  readonly schema: 'reingest-files/1';
  readonly files: readonly FilesIndexEntry[];
}

export interface FilesIndexEntry {
  readonly name: string;
  readonly digest: Digest;
  readonly size: number;
  readonly compress?: 'gzip';
  readonly facts: { readonly [k: string]: RecordValue };
}

/** What `outputs[]` says of one file: its path under --out and the digest and size of its content. */
export interface OutputFileEntry {
  readonly file: string;
  readonly digest: Digest;
  readonly size: number;
  readonly compression?: 'gzip';
  readonly facts?: { readonly [k: string]: RecordValue };
}

/** The index object's bytes: canonical JSON and a newline. */
export function filesIndexBytes(files: readonly FilesIndexEntry[]): Buffer {
  const doc: FilesIndex = { schema: 'reingest-files/1', files };
  return Buffer.from(`${canonicalJson(doc)}\n`, 'utf8');
}

/** The file under --out for an index entry: gzip files get ".gz", digest and size stay those of the content. */
export function outputEntryOf(output: string, f: FilesIndexEntry): OutputFileEntry {
  const name = f.compress === 'gzip' ? `${f.name}.gz` : f.name;
  return { file: `${output}/${name}`, digest: f.digest, size: f.size, ...(f.compress ? { compression: f.compress } : {}), facts: f.facts };
}

/** The index entry an `outputs[]` file of folder `output` stands for (the inverse of outputEntryOf). */
export function indexEntryOf(output: string, o: OutputFileEntry): FilesIndexEntry {
  const base = o.file.slice(output.length + 1);
  const name = o.compression === 'gzip' ? base.replace(/\.gz$/, '') : base;
  return { name, digest: o.digest, size: o.size, ...(o.compression ? { compress: o.compression } : {}), facts: o.facts ?? {} };
}
