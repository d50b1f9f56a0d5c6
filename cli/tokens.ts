import { createReadStream, existsSync } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { isAbsolute, join, relative, resolve, sep } from 'node:path';
import { createGunzip } from 'node:zlib';
import { sha256, StreamDigest, type Digest } from '../cache/digest.ts';
import { filesIndexBytes, indexEntryOf } from '../runner/files-index.ts';
import { ReingestError } from '../runner/errors.ts';
import type { Manifest } from '../runner/manifest.ts';
import { BpeEncoder } from '../stages/tokenize/bpe.ts';
import { ENCODING_NAMES, isEncodingName } from '../stages/tokenize/encodings.ts';
import { UsageError } from './options.ts';

/** `reingest tokenize --encoding NAME`: UTF-8 text on stdin, its ids as one JSON array on stdout. */
export async function tokenizeStdin(encoding: string, stdin: NodeJS.ReadableStream, out: NodeJS.WritableStream): Promise<number> {
  if (!isEncodingName(encoding)) throw new UsageError(`--encoding: expected one of ${ENCODING_NAMES.join(', ')}, got ${JSON.stringify(encoding)}`);
  const parts: Buffer[] = [];
  for await (const chunk of stdin) parts.push(Buffer.from(chunk as Uint8Array));
  // Malformed UTF-8 becomes U+FFFD, as it would in a decoded page.
  const ids = new BpeEncoder(encoding).encode(Buffer.concat(parts).toString('utf8'));
  out.write(`${JSON.stringify(Array.from(ids))}\n`);
  return 0;
}

export interface ShardCheck {
  readonly file: string;
  readonly status: 'ok' | 'differs' | 'missing' | 'not-in-manifest';
  readonly expected?: string;
  readonly found?: string;
}

/**
 * `reingest shards check DIR --manifest M`: re-hashes every output file the manifest lists under DIR
 * (compressed files are hashed uncompressed, as the manifest records them) and reports files in DIR that
 * the manifest does not list. DIR is the run's --out directory or one output directory inside it.
 */
export async function checkShards(dir: string, manifest: Manifest, manifestDir: string): Promise<ShardCheck[]> {
  const root = resolve(dir);
  const base = relative(resolve(manifestDir), root);
  // Manifest paths are relative to the --out directory that holds manifest.json. DIR may be that directory
  // or one inside it; elsewhere (shards someone sent you), it may hold the --out layout or one output folder:
  // take the reading under which most listed files exist.
  const prefixes = !base.startsWith('..') && !isAbsolute(base) ? [base === '' ? '' : `${base.split(sep).join('/')}/`] : ['', ...new Set(manifest.outputs.filter((o) => o.file.includes('/')).map((o) => `${o.file.split('/')[0]}/`))];
  let prefix = prefixes[0]!;
  let best = Number.NEGATIVE_INFINITY;
  for (const p of prefixes) {
    // Files found minus files missing: the reading that explains the folder best.
    let score = 0;
    for (const o of manifest.outputs) if (o.file.startsWith(p)) score += existsSync(join(root, o.file.slice(p.length))) ? 1 : -1;
    if (score > best) [best, prefix] = [score, p];
  }
  const listed = manifest.outputs.filter((o) => o.file.startsWith(prefix));
  if (listed.length === 0) {
    throw new ReingestError('REINGEST_E_SHARDS_DIR', `${dir}: the manifest lists no output files under ${prefix || './'}; expected one of ${[...new Set(manifest.outputs.map((o) => o.file.split('/')[0]))].join(', ')}`, { where: dir });
  }
  const results: ShardCheck[] = [];
  const onDisk = new Map<string, { digest: Digest; size: number }>();
  for (const o of listed) {
    const path = join(root, o.file.slice(prefix.length));
    let found: Digest;
    try {
      const h = await hashFile(path, o.compression === 'gzip');
      found = h.digest;
      onDisk.set(o.file, h);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
        results.push({ file: o.file, status: 'missing', expected: o.digest });
        continue;
      }
      if ((err as NodeJS.ErrnoException).code === 'Z_DATA_ERROR' || (err as NodeJS.ErrnoException).code === 'Z_BUF_ERROR') {
        results.push({ file: o.file, status: 'differs', expected: o.digest, found: 'not gzip' });
        continue;
      }
      if ((err as NodeJS.ErrnoException).code === 'EISDIR') {
        results.push({ file: o.file, status: 'differs', expected: o.digest, found: 'a directory' });
        continue;
      }
      throw err;
    }
    results.push({ file: o.file, status: found === o.digest ? 'ok' : 'differs', expected: o.digest, ...(found === o.digest ? {} : { found }) });
  }
  results.push(...indexChecks(manifest, listed, onDisk));
  const known = new Set(listed.map((o) => o.file.slice(prefix.length)));
  for (const name of await walkFiles(root)) {
    if (name === 'manifest.json' && prefix === '') continue;
    if (!known.has(name)) results.push({ file: `${prefix}${name}`, status: 'not-in-manifest' });
  }
  return results;
}

/**
 * Each output folder's files index rebuilt from the bytes on disk (digest and size of each file's
 * content, facts as listed) must be the committed output of its aggregate task, byte for byte: so the
 * check rests on the root, not on outputs[] alone.
 */
function indexChecks(m: Manifest, listed: readonly Manifest['outputs'][number][], onDisk: ReadonlyMap<string, { digest: Digest; size: number }>): ShardCheck[] {
  const checks: ShardCheck[] = [];
  m.pipeline.aggregate.forEach((step, a) => {
    const files = m.outputs.filter((o) => o.file.startsWith(`${step.output}/`));
    if (files.length === 0 || !files.every((o) => listed.includes(o))) return;
    const expected = m.tasks.find((t) => t.id === `aggregate:${a}`)!.output.digest;
    const entries = files.map((o) => indexEntryOf(step.output, { ...o, ...(onDisk.get(o.file) ?? { digest: 'sha256:(missing)' as Digest, size: -1 }) }));
    const found = sha256(filesIndexBytes(entries));
    checks.push({ file: `${step.output}/ (files index of aggregate:${a})`, status: found === expected ? 'ok' : 'differs', expected, ...(found === expected ? {} : { found }) });
  });
  return checks;
}

async function hashFile(path: string, gunzip: boolean): Promise<{ digest: Digest; size: number }> {
  const acc = new StreamDigest();
  const src = createReadStream(path);
  for await (const chunk of gunzip ? src.pipe(createGunzip()) : src) acc.update(chunk as Buffer);
  return { digest: acc.digest(), size: acc.bytes };
}

async function walkFiles(root: string, sub = ''): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(join(root, sub), { withFileTypes: true })) {
    const rel = sub === '' ? e.name : `${sub}/${e.name}`;
    if (e.isDirectory()) out.push(...(await walkFiles(root, rel)));
    else if (e.isFile()) out.push(rel);
  }
  return out.sort();
}

export async function isDirectory(p: string): Promise<boolean> {
  try {
    return (await stat(p)).isDirectory();
  } catch {
    return false;
  }
}

export async function isFile(p: string): Promise<boolean> {
  try {
    return (await stat(p)).isFile();
  } catch {
    return false;
  }
}
