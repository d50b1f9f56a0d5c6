import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeFileAtomic } from '../cache/atomic-write.ts';
import { collectGarbage, verifyStore } from '../cache/maintenance.ts';
import { isDigest, type Digest } from '../cache/digest.ts';
import { NOT_A_FILE, ObjectStore } from '../cache/store.ts';
import { EXIT, isReingestError, ReingestError } from '../runner/errors.ts';
import type { Manifest } from '../runner/manifest.ts';
import { edgeObjects } from '../runner/task-result.ts';
import { planPipeline } from '../runner/plan.ts';
import { runPipeline } from '../runner/run.ts';
import { loadPipeline, parseMirror, selectSegments, type ResolvedPipeline } from '../runner/spec.ts';
import { builtinStages } from '../stages/index.ts';
import { HELP } from './help.ts';
import { createLogger, isLogLevel } from './log.ts';
import { cacheDir, concurrency, parse, UsageError } from './options.ts';
import { Progress } from './progress.ts';
import { fromOsError } from '../cache/os-errors.ts';
import { openEventsFile, outFile } from './out-file.ts';
import type { RunEvent } from '../runner/exec-common.ts';
import { warcLs } from './warc-ls.ts';
import { checkProof, makeProof, readProofFile } from './proof.ts';
import { listExclusions } from './exclusions.ts';
import { initPipeline } from './init.ts';
import { reportData } from './report-data.ts';
import { renderReport } from './report-html.ts';
import { checkShards, isDirectory, isFile, tokenizeStdin } from './tokens.ts';
import { cmdAttest, cmdCompare, cmdVerify, runOf } from './prove.ts';
import { readManifestFile } from '../runner/manifest-read.ts';
import { auditEntries } from '../runner/cache-audit.ts';
import { parseShard, runShard } from '../runner/shard.ts';
import { describeSplit } from '../runner/shard-markers.ts';
import { chooseSplit } from '../runner/shard-split.ts';
import { k8sManifests, slurmScript, submitOptions } from './submit.ts';
import { keygen, REMOTE, remoteCache, type RemoteFlags } from './remote-options.ts';

export interface Io {
  readonly stdout: NodeJS.WritableStream;
  readonly stderr: NodeJS.WriteStream;
  readonly env: NodeJS.ProcessEnv;
  readonly signal: AbortSignal;
  /** Defaults to process.stdin (for `tokenize`). */
  readonly stdin?: NodeJS.ReadableStream;
}

const VERSION = (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;

const COMMON = {
  cache: { type: 'string' },
  mirror: { type: 'string' },
  segments: { type: 'string' },
  'log-level': { type: 'string' },
  json: { type: 'boolean' },
  debug: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

/** The stage registry as worker threads load it (the runner names no stage). */
const REGISTRY = { url: new URL('../stages/index.ts', import.meta.url).href, exportName: 'builtinStages' };

/** --workers N: segment chains on N worker threads; "auto" is one per task slot (--concurrency); 0 none. */
function workersOption(flag: string | undefined, conc: number): { workers?: { count: number; registry: typeof REGISTRY } } {
  if (flag === undefined) return {};
  const count = flag === 'auto' ? conc : /^\d+$/.test(flag) ? Number(flag) : NaN;
  if (!Number.isInteger(count) || count > 256) throw new UsageError(`--workers: expected a number of threads from 0 to 256 or "auto", got ${JSON.stringify(flag)}`);
  return count > 0 ? { workers: { count, registry: REGISTRY } } : {};
}

/** Entry point: returns the exit status instead of exiting, so tests can call it in-process. */
export async function main(argv: string[], io: Io): Promise<number> {
  const debug = argv.includes('--debug');
  try {
    return await dispatch(argv, io);
  } catch (caught) {
    const err = fromOsError(caught) ?? interruption(caught, io.signal) ?? caught;
    if (isReingestError(err)) {
      io.stderr.write(`reingest: ${err.code}: ${err.message}\n`);
      if (debug) io.stderr.write(`${err.stack}\n${err.cause instanceof Error ? `cause: ${err.cause.stack}\n` : ''}`);
      if (err.code === 'REINGEST_E_INTERRUPTED') return EXIT.interrupted;
      return err.code === 'REINGEST_E_USAGE' ? EXIT.usage : EXIT.failed;
    }
    const task = (err as { task?: string }).task;
    io.stderr.write(`reingest: internal error${task ? ` in task ${task}` : ''}: ${(err as Error).message ?? String(err)}\n`);
    io.stderr.write(debug ? `${(err as Error).stack}\n` : 'This is a bug in reingest. Rerun with --debug and report the output.\n');
    return EXIT.internal;
  }
}

/**
 * An untyped error thrown once SIGINT/SIGTERM has aborted the run's signal is that stop arriving (a backoff
 * sleep, a request or a stream cut short), wherever it was waiting: the exit is 130, as for an interrupted
 * DAG. The error itself is kept as the cause (--debug prints it).
 */
function interruption(err: unknown, signal: AbortSignal): ReingestError | null {
  if (!signal.aborted || isReingestError(err)) return null;
  const why = signal.reason instanceof Error ? signal.reason.message : 'interrupted';
  return new ReingestError('REINGEST_E_INTERRUPTED', `${why}; finished tasks are cached, rerun the same command to resume`, { cause: err });
}

async function dispatch(argv: string[], io: Io): Promise<number> {
  const [command, ...rest] = argv;
  if (command === 'help' && rest[0] !== undefined && Object.hasOwn(HELP, rest[0])) {
    io.stdout.write(HELP[rest[0]]!);
    return EXIT.ok;
  }
  if (command === undefined || command === '--help' || command === '-h' || command === 'help') {
    io.stdout.write(HELP.main!);
    return command === undefined ? EXIT.usage : EXIT.ok;
  }
  if (command === '--version') {
    io.stdout.write(`${VERSION}\n`);
    return EXIT.ok;
  }
  switch (command) {
    case 'run':
      return cmdRun(rest, io);
    case 'plan':
      return cmdPlan(rest, io);
    case 'cache':
      return cmdCache(rest, io);
    case 'warc':
      return cmdWarc(rest, io);
    case 'merge': {
      const { values, positionals } = parse(rest, { ...COMMON, ...REMOTE, concurrency: { type: 'string' }, out: { type: 'string' }, quiet: { type: 'boolean' }, shards: { type: 'string' } }, 'merge');
      if (values.help) return help(io, 'merge');
      const base = await load(onePipeline(positionals, 'merge'), { mirror: values.mirror });
      const split = await chooseSplit('merge', base, { segments: values.segments, shards: shardsFlag(values.shards) }, cacheDir(values.cache, io.env));
      return runAndReport(split.pipeline, values, io, concurrency(values.concurrency), logger(values['log-level']), true);
    }
    case 'status':
      return cmdStatus(rest, io);
    case 'submit': {
      const { values, positionals } = parse(rest, { ...COMMON, shards: { type: 'string' }, out: { type: 'string' }, image: { type: 'string' }, concurrency: { type: 'string' }, logs: { type: 'string' } }, 'submit');
      if (values.help || positionals.length !== 2 || !['slurm', 'k8s'].includes(positionals[0]!)) return help(io, 'submit', !values.help);
      const pipeline = await load(positionals[1]!, values);
      const o = submitOptions(values, positionals[1]!, pipeline.name);
      io.stdout.write(positionals[0] === 'slurm' ? slurmScript(o, process.cwd()) : k8sManifests(o));
      return EXIT.ok;
    }
    case 'verify': {
      const { values, positionals } = parse(rest, { ...COMMON, sample: { type: 'string' }, seed: { type: 'string' }, concurrency: { type: 'string' }, 'reference-cache': { type: 'string' } }, 'verify');
      if (values.help || positionals.length !== 1) return help(io, 'verify', !values.help);
      const sample = values.sample === undefined ? undefined : Number(values.sample);
      if (sample !== undefined && !(Number.isInteger(sample) && sample >= 1)) throw new UsageError(`--sample: expected a number of segments >= 1, got ${JSON.stringify(values.sample)}`);
      return cmdVerify(
        positionals[0]!,
        () => load(positionals[0]!, { mirror: values.mirror }),
        {
          json: values.json ?? false,
          ...(sample !== undefined ? { sample } : {}),
          seed: values.seed ?? '0',
          ...(values.cache ? { cacheDir: cacheDir(values.cache, io.env) } : {}),
          ...(values['reference-cache'] ? { referenceCache: resolve(values['reference-cache']) } : {}),
          concurrency: concurrency(values.concurrency),
          log: logger(values['log-level']),
          toolVersion: VERSION,
        },
        io,
      );
    }
    case 'compare': {
      const { values, positionals } = parse(rest, { ...COMMON, cache: { type: 'string', multiple: true } }, 'compare');
      if (values.help || positionals.length !== 2) return help(io, 'compare', !values.help);
      return cmdCompare(positionals[0]!, positionals[1]!, values.json ?? false, io, (values.cache ?? []).map((c) => resolve(c)));
    }
    case 'init': {
      const { values, positionals } = parse(rest, { ...COMMON, dir: { type: 'string' } }, 'init');
      if (values.help || positionals.length !== 1) return help(io, 'init', !values.help);
      const dir = values.dir ?? ((await isDirectory('pipelines')) ? 'pipelines' : '.');
      const file = await initPipeline(positionals[0]!, dir);
      io.stdout.write(values.json ? `${JSON.stringify({ pipeline: file })}\n` : `wrote ${file}\nnext: npx reingest plan ${file} && npx reingest run ${file}\n`);
      return EXIT.ok;
    }
    case 'report': {
      const { values, positionals } = parse(rest, { ...COMMON, output: { type: 'string', short: 'o' } }, 'report');
      if (values.help || positionals.length !== 1) return help(io, 'report', !values.help);
      const m = await readManifestFile(positionals[0]!);
      const html = renderReport(reportData(m, await runOf(m, cacheDir(values.cache, io.env))));
      const dest = values.output === undefined ? join(dirname(positionals[0]!), 'report.html') : await outFile('-o', values.output, 'report.html');
      await writeFileAtomic(dest, html);
      io.stdout.write(values.json ? `${JSON.stringify({ report: resolve(dest) })}\n` : `report ${resolve(dest)}\n`);
      return EXIT.ok;
    }
    case 'tokenize': {
      const { values, positionals } = parse(rest, { ...COMMON, encoding: { type: 'string' } }, 'tokenize');
      if (values.help || positionals.length !== 0) return help(io, 'tokenize', !values.help);
      return tokenizeStdin(values.encoding ?? 'cl100k_base', io.stdin ?? process.stdin, io.stdout);
    }
    case 'shards': {
      const { values, positionals } = parse(rest, { ...COMMON, manifest: { type: 'string' }, root: { type: 'string' } }, 'shards');
      if (values.help || positionals[0] !== 'check' || positionals.length !== 2) return help(io, 'shards', !values.help);
      const dir = positionals[1]!;
      if (!(await isDirectory(dir))) throw new ReingestError('REINGEST_E_SHARDS_DIR', `shards check ${dir}: expected a directory of shards, found none`, { where: dir });
      const manifestFile = values.manifest ?? join(dir, 'manifest.json');
      if (values.manifest === undefined && !(await isFile(manifestFile))) {
        throw new UsageError(`shards check ${dir}: no manifest.json in that directory; pass the dataset's manifest with --manifest M`);
      }
      const manifest = await readManifestFile(manifestFile, '--manifest');
      if (values.root !== undefined && values.root !== manifest.root) {
        throw new ReingestError('REINGEST_E_MANIFEST_TAMPERED', `--manifest ${manifestFile}: its root is ${manifest.root}, not the published ${values.root}; get the publisher's manifest`, { where: manifestFile });
      }
      const results = await checkShards(dir, manifest, dirname(resolve(manifestFile)));
      const bad = results.filter((r) => r.status !== 'ok');
      if (values.json) io.stdout.write(`${JSON.stringify({ ok: bad.length === 0, root: manifest.root, files: results })}\n`);
      else for (const r of results) io.stdout.write(`${r.status.padEnd(15)} ${r.file}${r.status === 'differs' ? ` (expected ${r.expected}, found ${r.found})` : ''}\n`);
      if (!values.json) io.stderr.write(`reingest: ${results.length - bad.length} of ${results.length} checks match the manifest with root ${manifest.root}${values.root ? ' (the published root)' : '; compare that root with the published one, or pass --root'}\n`);
      return bad.length === 0 ? EXIT.ok : EXIT.failed;
    }
    case 'proof': {
      const { values, positionals } = parse(rest, { ...COMMON, task: { type: 'string' }, record: { type: 'string' }, manifest: { type: 'string' } }, 'proof');
      if (values.help) return help(io, 'proof');
      if (positionals[0] === 'check' && positionals.length === 2) {
        if (!values.manifest) throw new UsageError('proof check: expected --manifest M, the manifest to check the proof against');
        const proof = await readProofFile(positionals[1]!);
        const r = checkProof(await readManifestFile(values.manifest, '--manifest'), proof);
        io.stdout.write(values.json ? `${JSON.stringify(r)}\n` : `${r.ok ? 'ok' : 'FAILED'}: ${r.why}\n`);
        return r.ok ? EXIT.ok : EXIT.failed;
      }
      if (positionals.length !== 1 || values.task === undefined || values.record === undefined || !/^\d+$/.test(values.record)) return help(io, 'proof', true);
      const proof = await makeProof(await readManifestFile(positionals[0]!), values.task, Number(values.record), cacheDir(values.cache, io.env));
      io.stdout.write(`${JSON.stringify(proof, null, 2)}\n`);
      return EXIT.ok;
    }
    case 'exclusions': {
      const { values, positionals } = parse(rest, { ...COMMON, stage: { type: 'string' }, reason: { type: 'string' } }, 'exclusions');
      if (values.help || positionals.length !== 1) return help(io, 'exclusions', !values.help);
      const byReason = await listExclusions(await readManifestFile(positionals[0]!), cacheDir(values.cache, io.env), { stage: values.stage, reason: values.reason }, io.stdout, io.signal);
      const total = [...byReason.values()].reduce((a, b) => a + b, 0);
      io.stderr.write(`reingest: ${total} dropped documents${total ? `: ${[...byReason].map(([k, n]) => `${k}=${n}`).join(' ')}` : ''}\n`);
      return EXIT.ok;
    }
    case 'attest': {
      const { values, positionals } = parse(rest, { ...COMMON, out: { type: 'string' } }, 'attest');
      if (values.help || positionals.length !== 1) return help(io, 'attest', !values.help);
      return cmdAttest(positionals[0]!, io, { cache: cacheDir(values.cache, io.env), out: resolve(values.out ?? dirname(positionals[0]!)) }, VERSION);
    }
    default: {
      const hint = ['run', 'plan', 'cache', 'warc', 'merge', 'status', 'submit', 'verify', 'compare', 'attest', 'tokenize', 'shards', 'report', 'init', 'proof', 'exclusions'].find((c) => c[0] === command[0]);
      throw new UsageError(`unknown command ${JSON.stringify(command)}${hint ? `; did you mean "${hint}"?` : ''}. See \`reingest --help\``);
    }
  }
}

function logger(level: string | undefined) {
  const l = level ?? 'warn';
  if (!isLogLevel(l)) throw new UsageError(`--log-level: expected fatal|error|warn|info|debug|trace|silent, got ${JSON.stringify(l)}`);
  return createLogger(l);
}

/**
 * Loads a pipeline file (or a manifest, to rerun it). --mirror replaces where sources are fetched from;
 * --segments narrows which listed files are taken.
 */
async function load(file: string, flags: { mirror?: string | undefined; segments?: string | undefined }): Promise<ResolvedPipeline> {
  let p = await loadPipeline(file, builtinStages);
  const mirror = flags.mirror ?? embeddedMirrorFor(p);
  if (mirror !== undefined) p = { ...p, mirror: parseMirror(mirror, process.cwd()) };
  if (flags.segments !== undefined) p = selectSegments(p, flags.segments);
  return p;
}

/**
 * A manifest never says where to fetch from. Its sources are pinned, so any mirror will do: Common Crawl
 * by default, or --mirror. The embedded CC-SAMPLE crawl ships with reingest, so a manifest of it reruns
 * from this package's sample/ folder.
 */
const SAMPLE_DIR = fileURLToPath(new URL('../sample', import.meta.url));

function embeddedMirrorFor(p: ResolvedPipeline): string | undefined {
  return p.listingPin?.path.startsWith('crawl-data/CC-SAMPLE/') ? SAMPLE_DIR : undefined;
}

function seedFlag(s: string): number {
  if (!/^\d{1,9}$/.test(s)) throw new UsageError(`--shuffle: expected an integer seed, got ${JSON.stringify(s)}`);
  return Number(s);
}

function onePipeline(positionals: string[], command: string): string {
  if (positionals.length !== 1) throw new UsageError(`${command}: expected one pipeline file, got ${positionals.length}. See \`reingest ${command} --help\``);
  return positionals[0]!;
}

async function cmdRun(args: string[], io: Io): Promise<number> {
  const { values, positionals } = parse(args, { ...COMMON, ...REMOTE, concurrency: { type: 'string' }, workers: { type: 'string' }, out: { type: 'string' }, quiet: { type: 'boolean' }, shuffle: { type: 'string' }, shard: { type: 'string' }, events: { type: 'string' } }, 'run');
  if (values.help) return help(io, 'run');
  const file = onePipeline(positionals, 'run');
  const log = logger(values['log-level']);
  const conc = concurrency(values.concurrency);
  const base = await load(file, { mirror: values.mirror });
  const shard = parseShard(values.shard, io.env);
  if (shard) {
    const s = await runShard(base, values.segments, shard, { cacheDir: cacheDir(values.cache, io.env), concurrency: conc, signal: io.signal, log, toolVersion: VERSION, ...remoteCache(values, io.env), ...workersOption(values.workers, conc) });
    const cached = s.segments.filter((x) => x.cached).length;
    io.stdout.write(values.json ? `${JSON.stringify(s)}\n` : `shard ${shard.index}/${shard.count}: ${s.segments.length} segments (${cached} already cached) published to the cache; run \`reingest merge\` when every shard is done\n`);
    return EXIT.ok;
  }
  return runAndReport(values.segments === undefined ? base : selectSegments(base, values.segments), values, io, conc, log, false);
}

/**
 * Which shards are done, of the split the markers of this pipeline record: --segments and --shards default
 * to what the shards ran with and must agree with it when given. Exit 1 while a shard is missing.
 */
async function cmdStatus(args: string[], io: Io): Promise<number> {
  const { values, positionals } = parse(args, { ...COMMON, shards: { type: 'string' } }, 'status');
  if (values.help) return help(io, 'status');
  const base = await load(onePipeline(positionals, 'status'), { mirror: values.mirror });
  const cache = cacheDir(values.cache, io.env);
  const split = await chooseSplit('status', base, { segments: values.segments, shards: shardsFlag(values.shards) }, cache);
  const n = split.count;
  if (n === undefined) {
    io.stdout.write(values.json ? `${JSON.stringify({ shards: null, segments: split.segments, done: [], missing: [] })}\n` : `no shard of this pipeline has finished in ${cache}; pass --shards N to list the missing ones\n`);
    return EXIT.failed;
  }
  const missing = Array.from({ length: n }, (_, k) => k).filter((k) => !split.done.includes(k));
  const ran = split.done.length > 0 ? `; they ran with ${describeSplit({ segments: split.segments, count: n })}` : '';
  io.stdout.write(values.json ? `${JSON.stringify({ shards: n, segments: split.segments, done: split.done, missing })}\n` : `${split.done.length} of ${n} shards done${missing.length ? `; missing: ${missing.join(', ')}` : ''}${ran}\n`);
  return missing.length === 0 ? EXIT.ok : EXIT.failed;
}

function shardsFlag(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  if (!/^\d{1,9}$/.test(text) || Number(text) < 1) throw new UsageError(`--shards: expected an integer >= 1, got ${JSON.stringify(text)}`);
  return Number(text);
}

async function runAndReport(
  pipeline: ResolvedPipeline,
  values: { cache?: string | undefined; out?: string | undefined; json?: boolean | undefined; quiet?: boolean | undefined; shuffle?: string | undefined; events?: string | undefined; workers?: string | undefined } & RemoteFlags,
  io: Io,
  conc: number,
  log: ReturnType<typeof logger>,
  merge: boolean,
): Promise<number> {
  const progress = io.stderr.isTTY && !values.quiet && !values.json ? new Progress(io.stderr) : undefined;
  // --events FILE: one JSON line per task event, for other tools.
  const events = values.events === undefined ? undefined : await openEventsFile(values.events);
  const emit = (e: RunEvent) => {
    progress?.onEvent(e);
    events?.write(`${JSON.stringify({ ...e, time: new Date().toISOString() })}\n`);
  };
  let summary;
  try {
    summary = await runPipeline(pipeline, {
      cacheDir: cacheDir(values.cache, io.env),
      outDir: resolve(values.out ?? `out/${pipeline.name}`),
      concurrency: conc,
      signal: io.signal,
      log,
      toolVersion: VERSION,
      emit,
      ...(values.shuffle === undefined ? {} : { shuffleSeed: seedFlag(values.shuffle) }),
      requireCachedSegments: merge,
      ...remoteCache(values, io.env),
      ...workersOption(values.workers, conc),
    });
  } finally {
    progress?.stop();
    events?.close();
  }
  const { root, manifestPath, run } = summary;
  if (values.json) {
    io.stdout.write(`${JSON.stringify({ root, manifest: manifestPath, tasksRun: run.tasksRun, tasksCached: run.tasksCached })}\n`);
  } else {
    io.stdout.write(`root ${root}\nmanifest ${manifestPath}\ntasks ${run.tasksRun} run, ${run.tasksCached} cached\n`);
  }
  return EXIT.ok;
}

async function cmdPlan(args: string[], io: Io): Promise<number> {
  const { values, positionals } = parse(args, COMMON, 'plan');
  if (values.help) return help(io, 'plan');
  const pipeline = await load(onePipeline(positionals, 'plan'), values);
  const tasks = await planPipeline(pipeline, { cacheDir: cacheDir(values.cache, io.env), signal: io.signal, log: logger(values['log-level']) });
  if (values.json) {
    io.stdout.write(`${JSON.stringify({ pipeline: pipeline.name, tasks })}\n`);
    return EXIT.ok;
  }
  // Columns as wide as their longest entry (global-apply ids and kinds are longer than the rest).
  const idW = Math.max(...tasks.map((t) => t.id.length));
  const kindW = Math.max(...tasks.map((t) => t.kind.length));
  for (const t of tasks) io.stdout.write(`${t.id.padEnd(idW)}  ${t.kind.padEnd(kindW)}  ${(t.key ?? 'pending (inputs not yet known)').padEnd(71)} ${t.cached ? 'cached' : 'to run'}\n`);
  const cached = tasks.filter((t) => t.cached).length;
  io.stdout.write(`${tasks.length} tasks, ${cached} cached, ${tasks.length - cached} to run\n`);
  return EXIT.ok;
}

async function cmdCache(args: string[], io: Io): Promise<number> {
  const { values, positionals } = parse(args, { ...COMMON, keep: { type: 'string', multiple: true }, 'dry-run': { type: 'boolean' }, grace: { type: 'string' } }, 'cache');
  if (values.help || positionals.length === 0) return help(io, 'cache', positionals.length === 0 && !values.help);
  if (positionals[0] === 'keygen') {
    if (positionals.length !== 2) throw new UsageError(`cache keygen: expected one FILE for the new private key, got ${positionals.length - 1}. See \`reingest cache --help\``);
    const id = await keygen(positionals[1]!);
    io.stdout.write(values.json ? `${JSON.stringify({ key: positionals[1], publicKey: id })}\n` : `${id}\n`);
    return EXIT.ok;
  }
  const store = new ObjectStore(cacheDir(values.cache, io.env));
  await store.init();
  const sub = positionals[0];
  if (sub === 'verify') {
    const report = await verifyStore(store);
    // Entries after objects: an entry naming an object just quarantined is dangling now.
    const entries = await auditEntries(store);
    if (values.json) io.stdout.write(`${JSON.stringify({ cache: store.root, ...report, entries })}\n`);
    else {
      for (const c of report.corrupt) io.stdout.write(`CORRUPT ${c.digest} (${c.found === NOT_A_FILE ? 'not a file' : `bytes hash to ${c.found}`}), moved to ${c.movedTo}\n`);
      for (const r of entries.refused) io.stdout.write(`REFUSED entry ${r.key}: ${r.problem}; removed\n`);
      for (const d of entries.dangling) io.stdout.write(`DANGLING entry ${d.key}: names ${d.missing.length} object(s) not in the cache (${d.missing[0]}${d.missing.length > 1 ? ', ...' : ''}); removed\n`);
      io.stdout.write(`${report.checked} objects (${report.bytes} bytes) checked in ${store.root}, ${report.corrupt.length} corrupt; ${entries.checked} action entries, ${entries.refused.length} refused, ${entries.dangling.length} dangling\n`);
    }
    return report.corrupt.length === 0 && entries.refused.length === 0 && entries.dangling.length === 0 ? EXIT.ok : EXIT.failed;
  }
  if (sub === 'gc') {
    const keepFiles = values.keep ?? [];
    if (keepFiles.length === 0) throw new UsageError('cache gc: expected at least one --keep MANIFEST (gc drops everything no kept manifest references)');
    const keep = { objects: new Set<Digest>(), actions: new Set<Digest>() };
    for (const f of keepFiles) addManifestRefs(await readManifestFile(f, '--keep'), keep);
    const grace = values.grace ?? '3600';
    if (!/^\d{1,9}$/.test(grace)) throw new UsageError(`--grace: expected a number of seconds, got ${JSON.stringify(values.grace)}`);
    const report = await collectGarbage(store, keep, { dryRun: values['dry-run'] ?? false, now: Date.now(), graceMs: Number(grace) * 1000 });
    if (values.json) io.stdout.write(`${JSON.stringify({ cache: store.root, dryRun: values['dry-run'] ?? false, ...report })}\n`);
    else io.stdout.write(`${values['dry-run'] ? 'would remove' : 'removed'} ${report.removedObjects} objects (${report.removedBytes} bytes) and ${report.removedActions} action entries; kept ${report.keptObjects} objects, ${report.keptActions} actions\n`);
    return EXIT.ok;
  }
  if (sub === 'ls') {
    const objects = [];
    for await (const o of store.listObjects()) objects.push(o);
    let actions = 0;
    for await (const _ of store.listActions()) actions++;
    if (values.json) io.stdout.write(`${JSON.stringify({ cache: store.root, objects, actions })}\n`);
    else {
      for (const o of objects) io.stdout.write(`${o.digest} ${o.size}\n`);
      io.stdout.write(`${objects.length} objects, ${actions} action entries in ${store.root}\n`);
    }
    return EXIT.ok;
  }
  throw new UsageError(`cache: expected verify, gc, ls or keygen, got ${JSON.stringify(sub)}. See \`reingest cache --help\``);
}

function addManifestRefs(m: Manifest, keep: { objects: Set<Digest>; actions: Set<Digest> }): void {
  for (const t of m.tasks) {
    if (isDigest(t.key)) keep.actions.add(t.key);
    for (const e of [...t.edges, t.output]) for (const d of edgeObjects(e)) if (isDigest(d)) keep.objects.add(d);
  }
}

async function cmdWarc(args: string[], io: Io): Promise<number> {
  const { values, positionals } = parse(args, { ...COMMON, 'max-record-bytes': { type: 'string' }, strict: { type: 'boolean' } }, 'warc');
  if (values.help || positionals[0] !== 'ls' || positionals.length !== 2) return help(io, 'warc', !values.help);
  const max = values['max-record-bytes'] ?? String(64 * 1024 * 1024);
  if (!/^\d+$/.test(max)) throw new UsageError(`--max-record-bytes: expected a number of bytes, got ${JSON.stringify(max)}`);
  const { records, flaggedRecords, findings, notes } = await warcLs(positionals[1]!, { json: values.json ?? false, maxRecordBytes: Number(max), signal: io.signal, log: logger(values['log-level']), out: io.stdout });
  const extra = Object.entries(notes).map(([k, n]) => `${k}=${n}`).join(' ');
  io.stderr.write(`reingest: ${records} records${extra ? `; ${extra}` : ''}\n`);
  // --strict: a file the reader had to repair is an error for whoever checks it (the listing is complete).
  if (values.strict && (findings.length > 0 || flaggedRecords > 0)) {
    const first = findings[0];
    throw new ReingestError('REINGEST_E_WARC_FINDINGS', `${positionals[1]}: expected a clean WARC file, found ${findings.length} run(s) of skipped bytes${first ? ` (first: ${first.kind}, ${first.length} bytes at offset ${first.offset})` : ''} and ${flaggedRecords} flagged record(s); see the listing`, { where: positionals[1]! });
  }
  return EXIT.ok;
}

function help(io: Io, topic: string, asError = false): number {
  (asError ? io.stderr : io.stdout).write(HELP[topic] ?? HELP.main!);
  return asError ? EXIT.usage : EXIT.ok;
}
