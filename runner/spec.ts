import { readFile } from 'node:fs/promises';
import { dirname, extname, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { firstDifference } from './json-diff.ts';
import { ReingestError } from './errors.ts';
import { pipelineIdentity, type Manifest } from './manifest.ts';
import { parseManifest } from './manifest-read.ts';
import { SpecError, array, closest, object, string, optionalString } from './validate.ts';
import { specFromManifest } from './rerun.ts';
import type { AnyStage, ListStage, SegmentPin, StageKind, StageRegistry } from './stage.ts';

/** One step of a pipeline as written by a user: a stage name and its params. */
export interface StepSpec {
  readonly stage: string;
  readonly params?: unknown;
}

export interface OutputStepSpec extends StepSpec {
  /** File name the aggregate's result is written to under the output directory. */
  readonly output: string;
}

/** Where source paths are fetched from. Not part of any key: the same bytes from any mirror give the same data. */
export type MirrorSpec = { readonly url: string } | { readonly localDir: string };

/** A pipeline is data: a TS module default-exporting this (see pipelines/define.ts) or a JSON file. */
export interface PipelineSpec {
  readonly name: string;
  readonly description?: string;
  readonly source: StepSpec;
  /** The chain run once per segment: a fetch stage, a decode stage, then transforms. */
  readonly segment: readonly StepSpec[];
  /** Decisions over the whole run (dedup), each applied back to every segment before the aggregates. */
  readonly global?: readonly StepSpec[];
  /** Steps over all segments' outputs, in list order. */
  readonly aggregate: readonly OutputStepSpec[];
  readonly mirror?: MirrorSpec;
}

export interface ResolvedStep {
  readonly stage: AnyStage;
  /** Canonical params, as validated by the stage. */
  readonly params: unknown;
}

/** The roles of a pipeline's steps, whatever a step is (resolved here, recorded in a manifest). */
export interface PipelineSteps<S> {
  readonly name: string;
  readonly source: S;
  readonly segment: readonly S[];
  readonly global: readonly S[];
  readonly aggregate: readonly (S & { readonly output: string })[];
}

export interface ResolvedPipeline extends PipelineSteps<ResolvedStep> {
  /** Resolved mirror: an http(s)/file URL, or an absolute local directory to serve on loopback. */
  readonly mirror: { readonly url: string } | { readonly localDir: string };
  /** The spec as written, for the manifest (plain data). */
  readonly spec: PipelineSpec;
  /** Segment digests that fetched bytes must match (set when rerunning a manifest). */
  readonly pins?: ReadonlyMap<string, SegmentPin>;
  /** The pinned listing (set when rerunning a manifest): where the rerun's sources come from is the caller's choice. */
  readonly listingPin?: { readonly path: string; readonly sha256: string };
}

export const DEFAULT_MIRROR = 'https://data.commoncrawl.org/';
const MIRROR_URL = /^(https?|file):\/\/.+\/$/;

/** Parses a --mirror value: a URL ending in "/" or a local folder (served on loopback). */
export function parseMirror(value: string, baseDir: string): ResolvedPipeline['mirror'] {
  if (/^[a-z]+:\/\//.test(value)) {
    const url = value.endsWith('/') ? value : `${value}/`;
    if (!MIRROR_URL.test(url)) throw new SpecError('--mirror', 'an http(s):// or file:// URL, or a local folder', value);
    return { url };
  }
  return { localDir: resolve(baseDir, value) };
}

/** Loads and validates a pipeline file. Errors name the file and the field. */
export async function loadPipeline(file: string, registry: StageRegistry): Promise<ResolvedPipeline> {
  const abs = resolve(file);
  const ext = extname(abs);
  if (!['.ts', '.mts', '.js', '.mjs', '.json'].includes(ext)) {
    throw new ReingestError('REINGEST_E_SPEC', `${file}: expected a pipeline file (.ts, .mts, .js, .mjs or .json) or a manifest.json, got ${ext === '' ? 'a name without an extension (a directory?)' : JSON.stringify(ext)}`, { where: file });
  }
  let text: string;
  try {
    text = await readFile(abs, 'utf8');
  } catch {
    throw new ReingestError('REINGEST_E_SPEC_NOT_FOUND', `pipeline file ${file} cannot be read; pass the path of an existing pipeline (such as pipelines/sample.ts), or write one with \`reingest init NAME\``, { where: file });
  }
  let raw: unknown;
  if (ext === '.json') {
    try {
      raw = JSON.parse(text);
    } catch (err) {
      throw new ReingestError('REINGEST_E_SPEC', `${file}: expected JSON, got a syntax error: ${(err as Error).message}`, { where: file });
    }
  } else {
    let mod: { default?: unknown };
    try {
      mod = (await import(pathToFileURL(abs).href)) as { default?: unknown };
    } catch (err) {
      throw new ReingestError('REINGEST_E_SPEC_LOAD', `${file}: the pipeline module failed to load: ${(err as Error).message}; fix the module (a type checker such as \`npx tsc --noEmit\` shows where)`, {
        where: file,
        cause: err,
      });
    }
    if (mod.default === undefined) {
      throw new ReingestError('REINGEST_E_SPEC', `${file}: expected a default export built with definePipeline(), got none`, { where: file });
    }
    raw = mod.default;
  }
  try {
    if (typeof (raw as { schema?: unknown })?.schema === 'string' && (raw as { schema: string }).schema.startsWith('reingest-manifest/')) {
      return rerunnable(parseManifest(raw, file), registry, file, dirname(abs));
    }
    return resolvePipeline(raw, registry, dirname(abs));
  } catch (err) {
    if (err instanceof SpecError) {
      throw new ReingestError('REINGEST_E_SPEC', `${file}: ${err.message}`, { where: `${file}:${err.where}` });
    }
    throw err;
  }
}

/**
 * A manifest's pipeline as it reruns: the stages at the recorded versions with the recorded params, and
 * `keyParams` as this reingest derives them from those params. Any disagreement with what the manifest
 * records is refused, so nothing that changes a rerun escapes the root. Then the listing and every
 * segment are pinned to their recorded digests.
 */
function rerunnable(m: Manifest, registry: StageRegistry, file: string, baseDir: string): ResolvedPipeline {
  const { spec, versions, pins } = specFromManifest(m);
  for (const [name, version] of versions) {
    const have = registry[name]?.version;
    if (have !== undefined && have !== version) {
      throw new ReingestError('REINGEST_E_STAGE_VERSION', `${file}: the manifest was made with stage ${name} version ${version}, this reingest has version ${have}; rerun it with a reingest whose stage ${name} is at version ${version}`, { where: file });
    }
  }
  const resolved = withListingPin(resolvePipeline(spec, registry, baseDir), m.inputs.listing.sha256);
  const diff = firstDifference(pipelineIdentity(resolved), m.pipeline, 'pipeline');
  if (diff) {
    throw new ReingestError('REINGEST_E_MANIFEST_TAMPERED', `${file}: ${diff.field}: the manifest records ${diff.b}, but its stages read as ${diff.a}; the recipe was edited by hand (params and keyParams must agree), get the manifest again from its publisher`, { where: `${file}:${diff.field}` });
  }
  return { ...resolved, pins, listingPin: { path: m.inputs.listing.path, sha256: m.inputs.listing.sha256 } };
}

/** The pipeline with its source pinned to this listing digest (when the source stage can pin). */
export function withListingPin(p: ResolvedPipeline, digest: string): ResolvedPipeline {
  const stage = p.source.stage as ListStage;
  return stage.withListingPin ? { ...p, source: { ...p.source, params: stage.withListingPin(p.source.params, digest) } } : p;
}

export function resolvePipeline(raw: unknown, registry: StageRegistry, baseDir: string): ResolvedPipeline {
  const o = object(raw, 'pipeline', ['name', 'description', 'source', 'segment', 'global', 'aggregate', 'mirror']);
  const name = string(o.name, 'name', { pattern: /^[a-z0-9][a-z0-9._-]{0,63}$/, what: 'a lower-case name of letters, digits, ".", "_" or "-"' });
  optionalString(o.description, 'description');
  const source = step(o.source, 'source', registry, ['list']);
  const segRaw = array(o.segment, 'segment');
  if (segRaw.length < 2) throw new SpecError('segment', 'a fetch stage then a decode stage, then any transforms', o.segment);
  const segment = segRaw.map((s, i) => step(s, `segment[${i}]`, registry, i === 0 ? ['fetch'] : i === 1 ? ['decode'] : ['transform']));
  const global = o.global === undefined ? [] : array(o.global, 'global').map((s, i) => step(s, `global[${i}]`, registry, ['global']));
  const aggRaw = array(o.aggregate, 'aggregate');
  const outputs = new Set<string>();
  const aggregate = aggRaw.map((s, i) => {
    const field = `aggregate[${i}]`;
    const r = step(s, field, registry, ['aggregate', 'files'], ['output']);
    const output = string(object(s, field).output, `${field}.output`, {
      pattern: /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/,
      what: 'a plain file name (letters, digits, ".", "_", "-")',
    });
    if (outputs.has(output)) throw new SpecError(`${field}.output`, 'a file name used once', output);
    outputs.add(output);
    return { ...r, output };
  });
  let mirror: ResolvedPipeline['mirror'] = { url: DEFAULT_MIRROR };
  if (o.mirror !== undefined) {
    const m = object(o.mirror, 'mirror', ['url', 'localDir']);
    if (m.url !== undefined) mirror = { url: string(m.url, 'mirror.url', { pattern: MIRROR_URL, what: 'an http(s):// or file:// URL ending in "/"' }) };
    else if (m.localDir !== undefined) mirror = { localDir: resolve(baseDir, string(m.localDir, 'mirror.localDir')) };
    else throw new SpecError('mirror', 'either url or localDir', o.mirror);
  }
  return { name, source, segment, global, aggregate, mirror, spec: raw as PipelineSpec };
}

function step(raw: unknown, field: string, registry: StageRegistry, kinds: readonly StageKind[], extra: readonly string[] = []): ResolvedStep {
  const o = object(raw, field, ['stage', 'params', ...extra]);
  const name = string(o.stage, `${field}.stage`);
  const stage = registry[name];
  const names = Object.keys(registry).sort();
  if (!stage) throw new SpecError(`${field}.stage`, `a known stage (${names.join(', ')})`, name, closest(name, names));
  if (!kinds.includes(stage.kind)) {
    const fitting = names.filter((n) => kinds.includes(registry[n]!.kind));
    throw new SpecError(`${field}.stage`, `a ${kinds.join(' or ')} stage here (${fitting.join(', ')})`, `${name} (a ${stage.kind} stage)`);
  }
  const params = stage.parseParams(o.params ?? {}, `${field}.params`);
  return { stage, params };
}

/** Narrows the segments a run takes (`--segments`), in the source stage's own selection syntax. */
export function selectSegments(p: ResolvedPipeline, selection: string): ResolvedPipeline {
  const stage = p.source.stage as ListStage;
  if (!stage.withSelection) {
    throw new ReingestError('REINGEST_E_USAGE', `--segments: the source stage ${stage.name} does not take a segment selection; edit the pipeline's source params instead`);
  }
  try {
    return { ...p, source: { ...p.source, params: stage.withSelection(p.source.params, selection) } };
  } catch (err) {
    if (err instanceof SpecError) throw new ReingestError('REINGEST_E_USAGE', err.message);
    throw err;
  }
}
