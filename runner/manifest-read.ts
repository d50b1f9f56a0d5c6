import { readFile } from 'node:fs/promises';
import { isDigest, sha256 } from '../cache/digest.ts';
import { CanonicalJsonError } from './canonical-json.ts';
import { ReingestError } from './errors.ts';
import { edgeProblem } from './edge-check.ts';
import { filesIndexBytes, indexEntryOf } from './files-index.ts';
import { MANIFEST_SCHEMA, manifestRoot, type Manifest, type ManifestOutput } from './manifest.ts';
import { describe } from './validate.ts';

/**
 * The one reader of manifests: every command that takes a manifest (verify, compare, run, shards check,
 * proof, report, exclusions, attest, gc) goes through parseManifest, which refuses a manifest whose fields
 * are not committed by its root, whose shape is wrong, or whose `outputs[]` is not the aggregates' output.
 */
export async function readManifestFile(file: string, flag = 'manifest'): Promise<Manifest> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch {
    throw new ReingestError('REINGEST_E_MANIFEST_UNREADABLE', `${flag} ${file}: expected a manifest file, found none`, { where: file });
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new ReingestError('REINGEST_E_MANIFEST_UNREADABLE', `${flag} ${file}: expected a reingest manifest (JSON), got a syntax error: ${(err as Error).message}; a run writes one to out/<pipeline name>/manifest.json`, { where: file });
  }
  return parseManifest(raw, `${flag} ${file}`);
}

export function parseManifest(raw: unknown, where: string): Manifest {
  const m = shape(raw, where);
  let actual: string;
  try {
    actual = manifestRoot(m);
  } catch (err) {
    // Canonical JSON refuses floats and unsafe integers anywhere (params included): no root exists for them.
    if (!(err instanceof CanonicalJsonError)) throw err;
    throw new ReingestError('REINGEST_E_MANIFEST', `${where}: expected canonical JSON values only, got ${err.message.replace(/^Internal error: canonical JSON /, '')}`, { where });
  }
  if (actual !== m.root) {
    throw new ReingestError(
      'REINGEST_E_MANIFEST_TAMPERED',
      `${where}: the recorded root ${m.root} is not the root of the manifest's fields (${actual}): the manifest was edited after it was written, or is corrupt; get it again from its publisher`,
      { where },
    );
  }
  checkOutputs(m, where);
  return m;
}

const TOP = ['schema', 'pipeline', 'inputs', 'tasks', 'outputs', 'root'];
const KINDS = new Set(['list', 'fetch', 'chain', 'global-summary', 'global-plan', 'global-apply', 'aggregate']);
/** Relative paths of plain names only: no "..", no absolute paths, no empty segments. */
const OUTPUT_FILE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}(\/[A-Za-z0-9][A-Za-z0-9._-]{0,127})*$/;

function fail(where: string, field: string, expected: string, got: unknown): never {
  throw new ReingestError('REINGEST_E_MANIFEST', `${where}: ${field}: expected ${expected}, got ${describe(got)}`, { where: field });
}

function obj(v: unknown, field: string, where: string, allowed: readonly string[], required: readonly string[] = allowed): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) fail(where, field, 'an object', v);
  for (const k of Object.keys(v)) if (!allowed.includes(k)) fail(where, `${field}.${k}`, `only the fields ${allowed.join(', ')}`, k);
  for (const k of required) if ((v as Record<string, unknown>)[k] === undefined) fail(where, `${field}.${k}`, 'a value', undefined);
  return v as Record<string, unknown>;
}

function arr(v: unknown, field: string, where: string): unknown[] {
  if (!Array.isArray(v)) fail(where, field, 'an array', v);
  return v;
}

function str(v: unknown, field: string, where: string, pattern?: RegExp): string {
  if (typeof v !== 'string' || (pattern && !pattern.test(v))) fail(where, field, pattern ? `a string matching ${pattern}` : 'a string', v);
  return v;
}

function int(v: unknown, field: string, where: string): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) fail(where, field, 'an integer >= 0', v);
  return v;
}

function digest(v: unknown, field: string, where: string): void {
  if (!isDigest(v)) fail(where, field, 'a digest (sha256: and 64 lowercase hex digits)', v);
}

function edge(v: unknown, field: string, where: string): void {
  const problem = edgeProblem(v, field);
  if (problem) throw new ReingestError('REINGEST_E_MANIFEST', `${where}: ${problem}`, { where: field });
}

function step(v: unknown, field: string, where: string, withOutput: boolean): void {
  const s = obj(v, field, where, withOutput ? ['stage', 'version', 'params', 'keyParams', 'output'] : ['stage', 'version', 'params', 'keyParams']);
  str(s.stage, `${field}.stage`, where);
  str(s.version, `${field}.version`, where);
  if (withOutput) str(s.output, `${field}.output`, where, OUTPUT_FILE);
}

function task(v: unknown, field: string, where: string): void {
  const t = obj(v, field, where, ['id', 'kind', 'key', 'inputs', 'segment', 'edges', 'output'], ['id', 'kind', 'key', 'inputs', 'edges', 'output']);
  str(t.id, `${field}.id`, where);
  if (!KINDS.has(t.kind as string)) fail(where, `${field}.kind`, `one of ${[...KINDS].join(', ')}`, t.kind);
  digest(t.key, `${field}.key`, where);
  arr(t.inputs, `${field}.inputs`, where).forEach((d, i) => digest(d, `${field}.inputs[${i}]`, where));
  if (t.segment !== undefined) {
    const s = obj(t.segment, `${field}.segment`, where, ['index', 'path']);
    int(s.index, `${field}.segment.index`, where);
    str(s.path, `${field}.segment.path`, where);
  }
  const edges = arr(t.edges, `${field}.edges`, where);
  edges.forEach((e, i) => edge(e, `${field}.edges[${i}]`, where));
  edge(t.output, `${field}.output`, where);
  const out = t.output as { stage: string; digest: string };
  if (!(edges as { stage: string; digest: string }[]).some((e) => e.digest === out.digest && e.stage === out.stage)) fail(where, `${field}.output`, 'the digest of one of the task\'s edges', out.digest);
}

function shape(raw: unknown, where: string): Manifest {
  const m = obj(raw, 'manifest', where, TOP);
  if (m.schema !== MANIFEST_SCHEMA) {
    fail(where, 'manifest.schema', `"${MANIFEST_SCHEMA}" (a manifest of an older reingest: rerun its pipeline with this one to get a current manifest)`, m.schema);
  }
  const p = obj(m.pipeline, 'manifest.pipeline', where, ['name', 'source', 'segment', 'global', 'aggregate']);
  str(p.name, 'manifest.pipeline.name', where);
  step(p.source, 'manifest.pipeline.source', where, false);
  for (const part of ['segment', 'global'] as const) arr(p[part], `manifest.pipeline.${part}`, where).forEach((s, i) => step(s, `manifest.pipeline.${part}[${i}]`, where, false));
  arr(p.aggregate, 'manifest.pipeline.aggregate', where).forEach((s, i) => step(s, `manifest.pipeline.aggregate[${i}]`, where, true));
  const inputs = obj(m.inputs, 'manifest.inputs', where, ['listing', 'segments']);
  const listing = obj(inputs.listing, 'manifest.inputs.listing', where, ['path', 'size', 'sha256']);
  str(listing.path, 'manifest.inputs.listing.path', where);
  int(listing.size, 'manifest.inputs.listing.size', where);
  digest(listing.sha256, 'manifest.inputs.listing.sha256', where);
  arr(inputs.segments, 'manifest.inputs.segments', where).forEach((s, i) => {
    const f = `manifest.inputs.segments[${i}]`;
    const o = obj(s, f, where, ['index', 'path', 'size', 'sha256']);
    int(o.index, `${f}.index`, where);
    str(o.path, `${f}.path`, where);
    int(o.size, `${f}.size`, where);
    digest(o.sha256, `${f}.sha256`, where);
  });
  arr(m.tasks, 'manifest.tasks', where).forEach((t, i) => task(t, `manifest.tasks[${i}]`, where));
  arr(m.outputs, 'manifest.outputs', where).forEach((o, i) => {
    const f = `manifest.outputs[${i}]`;
    const x = obj(o, f, where, ['file', 'digest', 'size', 'compression', 'facts'], ['file', 'digest', 'size']);
    str(x.file, `${f}.file`, where, OUTPUT_FILE);
    digest(x.digest, `${f}.digest`, where);
    int(x.size, `${f}.size`, where);
    if (x.compression !== undefined && x.compression !== 'gzip') fail(where, `${f}.compression`, '"gzip" or nothing', x.compression);
    if (x.facts !== undefined) obj(x.facts, `${f}.facts`, where, Object.keys(x.facts as object), []);
  });
  digest(m.root, 'manifest.root', where);
  return raw as Manifest;
}

/**
 * `outputs[]` is derived from the aggregates' committed outputs: a single-file output is that object, a
 * folder's files rebuild its files index object (the aggregate's output) byte for byte. So no reader can
 * be shown a file list that the task outputs do not commit to.
 */
function tampered(where: string, field: string, expected: string, got: unknown): never {
  throw new ReingestError('REINGEST_E_MANIFEST_TAMPERED', `${where}: ${field}: expected ${expected}, got ${describe(got)}; outputs[] must list exactly the aggregates' committed outputs`, { where: field });
}

function checkOutputs(m: Manifest, where: string): void {
  const expected: string[] = [];
  let at = 0;
  m.pipeline.aggregate.forEach((step, a) => {
    const t = m.tasks.find((x) => x.id === `aggregate:${a}`);
    if (!t) tampered(where, `manifest.tasks`, `a task aggregate:${a} for output ${step.output}`, undefined);
    const mine: ManifestOutput[] = [];
    while (at < m.outputs.length && (m.outputs[at]!.file === step.output || m.outputs[at]!.file.startsWith(`${step.output}/`))) mine.push(m.outputs[at++]!);
    const single = mine.length === 1 && mine[0]!.file === step.output;
    if (single) {
      if (mine[0]!.digest !== t.output.digest || mine[0]!.size !== t.output.bytes || mine[0]!.compression !== undefined) {
        tampered(where, `manifest.outputs (${step.output})`, `digest ${t.output.digest} and size ${t.output.bytes}, the output of task aggregate:${a}`, mine[0]);
      }
    } else {
      const found = sha256(filesIndexBytes(mine.map((o) => indexEntryOf(step.output, o))));
      if (found !== t.output.digest) tampered(where, `manifest.outputs (${step.output}/…)`, `the files of task aggregate:${a}'s files index ${t.output.digest}`, `${mine.length} entries whose index is ${found}`);
    }
    expected.push(step.output);
  });
  if (at !== m.outputs.length) tampered(where, `manifest.outputs[${at}].file`, `a file of one of the outputs ${expected.join(', ')}, in pipeline order`, m.outputs[at]!.file);
}
