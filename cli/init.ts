import { existsSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeFileAtomic } from '../cache/atomic-write.ts';
import { ReingestError } from '../runner/errors.ts';
import { UsageError } from './options.ts';
import { makeDir } from './out-file.ts';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');

/** Import specifier from the new file's folder to a module of this installation, POSIX separators. */
function importPath(fromDir: string, target: string): string {
  const rel = relative(fromDir, join(ROOT, target)).split(sep).join('/');
  return rel.startsWith('.') ? rel : `./${rel}`;
}

/**
 * `reingest init NAME`: a commented pipeline module, the sample's recipe, that `reingest plan` and
 * `reingest run` accept unchanged. Imports point at this installation of reingest, so the file works
 * wherever it is written; its mirror is the embedded sample until the user points it at a crawl.
 */
export async function initPipeline(name: string, dir: string): Promise<string> {
  if (!/^[a-z0-9][a-z0-9-]{0,62}$/.test(name)) throw new UsageError(`init: expected a pipeline name of lowercase letters, digits and "-", got ${JSON.stringify(name)}`);
  const folder = resolve(dir);
  // Outside this package no package.json says "type": "module", and a .ts file would load as CommonJS;
  // .mts is ES module syntax wherever it sits.
  const inside = !relative(ROOT, folder).startsWith('..');
  const file = join(folder, `${name}.${inside ? 'ts' : 'mts'}`);
  const exists = () => new ReingestError('REINGEST_E_EXISTS', `init: ${file} already exists; choose another name or remove it`, { where: file });
  if (existsSync(file)) throw exists();
  await makeDir('init --dir', folder);
  const s = (m: string) => importPath(folder, m);
  const sampleDir = relative(folder, join(ROOT, 'sample')).split(sep).join('/') || '.';
  const text = `/**
 * ${name}: a reingest pipeline (scaffolded from the sample by \`reingest init\`).
 *
 *   npx reingest plan ${relative(process.cwd(), file)}    the task DAG, keys, what is cached
 *   npx reingest run ${relative(process.cwd(), file)}     run it; prints the root digest, writes out/${name}/
 *
 * A pipeline is data: a source (which files), a chain run once per file ("segment"), whole-run steps,
 * and outputs. Every param below is part of the task keys, so changing one reruns what depends on it and
 * changes the root digest; where files are fetched from (the mirror) never does.
 */
import { c4Quality, finewebQuality, gopherQuality, gopherRepetition } from '${s('stages/quality-filters.ts')}';
import { dedup } from '${s('stages/dedup.ts')}';
import { htmlText } from '${s('stages/html-text.ts')}';
import { httpFetch } from '${s('stages/http-fetch.ts')}';
import { jsonl } from '${s('stages/jsonl.ts')}';
import { langId } from '${s('stages/lang-id.ts')}';
import { pathList } from '${s('stages/path-list.ts')}';
import { pii } from '${s('stages/pii.ts')}';
import { tokenShards } from '${s('stages/token-shards.ts')}';
import { tokenize } from '${s('stages/tokenize.ts')}';
import { warcRecords } from '${s('stages/warc-records.ts')}';
import { definePipeline, output, step } from '${s('pipelines/define.ts')}';

export default definePipeline({
  name: '${name}',
  description: 'WARC -> text -> language -> quality filters -> PII -> tokens -> dedup -> JSONL and token shards',

  // Where source paths are fetched from. The embedded sample, served on a loopback port during the run.
  // For Common Crawl: mirror: { url: 'https://data.commoncrawl.org/' }, and pathList
  // 'crawl-data/CC-MAIN-2025-18/warc.paths.gz' (pin its sha256 once you have seen it).
  mirror: { localDir: '${sampleDir}' },

  // The list of files. \`sha256\` pins the listing: a run fails if it changed. Select a subset with
  // \`--segments 0..9\`, \`every=1000\` or \`sample=5,seed=7\` on the command line.
  source: step(pathList, {
    pathList: 'crawl-data/CC-SAMPLE/warc.paths.gz',
    sha256: 'sha256:0a07f22f34179306d999c6226ca616aab0b956fd03424e299fa3febdb18bd169',
  }),

  // Once per file, streamed and fused: fetch -> WARC records -> transforms. Each boundary is hashed.
  segment: [
    step(httpFetch), // one whole-file GET per segment, resumed with Range, polite backoff
    step(warcRecords), // gzip members -> WARC records, digests checked
    step(htmlText), // main-content text; charset from header, <meta>, then detection
    step(langId, { threshold: '0.65' }), // fastText lid.176; keep docs whose top score >= 0.65
    step(gopherRepetition), // DataTrove's defaults; override any threshold here
    step(gopherQuality, { onlyLanguages: ['en'] }), // English stop-word rules apply to English only
    step(c4Quality, { onlyLanguages: ['en'], integers: { filterNoTerminalPunct: 0 } }),
    step(finewebQuality),
    step(pii), // emails and public IPv4 addresses -> fixed placeholders
    step(tokenize, { encoding: 'cl100k_base' }), // ids identical to tiktoken; also o200k_base, r50k_base, gpt2
  ],

  // Decisions over all segments, in list order (the first copy of a duplicate survives).
  global: [step(dedup)],

  // Outputs under out/${name}/: a file or, for token shards, a folder.
  aggregate: [
    output('text.jsonl', jsonl, { fields: ['id', 'url', 'title', 'text', 'charset', 'lang', 'langScore'] }),
    output('megatron', tokenShards, { format: 'megatron', encoding: 'cl100k_base', shardTokens: 32768 }),
    output('llmc', tokenShards, { format: 'llmc', encoding: 'cl100k_base', shardTokens: 32768 }),
  ],
});
`;
  // Create-only, never a half-written module: another `init` of the same name between the check and here wins.
  if (!(await writeFileAtomic(file, text, { exclusive: true }))) throw exists();
  return file;
}
