import { merkleRoot, type Digest } from '../cache/digest.ts';
import { canonicalJson } from './canonical-json.ts';
import { stageIdentity, type KeyPreimage } from './keys.ts';
import type { PipelineSteps, ResolvedPipeline, ResolvedStep } from './spec.ts';
import type { RecordValue } from './record-codec.ts';
import type { ListOutput } from './stage.ts';
import type { Edge, TaskResult } from './task-result.ts';

export const MANIFEST_SCHEMA = 'reingest-manifest/2';

/**
 * The dataset lockfile. Every field but `root` is committed by `root`, and nothing in it describes one
 * particular run (times, host, mirror, tool build: see run-record.ts), so the same recipe and inputs give
 * the same bytes on any machine, at any concurrency, from a cold or a warm cache.
 */
export interface Manifest {
  readonly schema: typeof MANIFEST_SCHEMA;
  readonly pipeline: PipelineIdentity;
  readonly inputs: {
    readonly listing: ListOutput['listing'];
    readonly segments: readonly SegmentInputEntry[];
  };
  readonly tasks: readonly ManifestTask[];
  readonly outputs: readonly ManifestOutput[];
  readonly root: Digest;
}

export interface SegmentInputEntry {
  readonly index: number;
  readonly path: string;
  readonly size: number;
  readonly sha256: Digest;
}

/** A file written under --out. Files of a multi-file output (shards) carry the facts their stage gave. */
export interface ManifestOutput {
  readonly file: string;
  readonly digest: Digest;
  /** Of the uncompressed bytes when `compression` is set. */
  readonly size: number;
  /** The file under --out is compressed; `digest` and `size` are of its uncompressed content. */
  readonly compression?: 'gzip';
  readonly facts?: { readonly [key: string]: RecordValue };
}

export interface ManifestTask {
  readonly id: string;
  readonly kind: KeyPreimage['kind'];
  readonly key: Digest;
  readonly inputs: readonly Digest[];
  readonly segment?: { readonly index: number; readonly path: string };
  readonly edges: readonly Edge[];
  readonly output: Edge;
}

export interface StepIdentity {
  readonly stage: string;
  readonly version: string;
  readonly params: unknown;
  readonly keyParams: unknown;
  readonly output?: string;
}

export type PipelineIdentity = PipelineSteps<StepIdentity>;

/**
 * The resolved spec as the manifest records it: every param but a stage's run settings, pins included,
 * exactly what `reingest run manifest.json` reruns; and `keyParams`, what enters the task keys, so an
 * independent verifier can recompute every key from the manifest alone (docs/manifest.md). Both are
 * committed by the root.
 */
export function pipelineIdentity(p: ResolvedPipeline): PipelineIdentity {
  const step = (s: ResolvedStep) => ({ stage: s.stage.name, version: s.stage.version, params: recipeParams(s), keyParams: stageIdentity(s).params });
  return {
    name: p.name,
    source: step(p.source),
    segment: p.segment.map(step),
    global: p.global.map(step),
    aggregate: p.aggregate.map((a) => ({ ...step(a), output: a.output })),
  };
}

/** A step's params without its run settings (StageBase.runSettings). */
function recipeParams(s: ResolvedStep): unknown {
  const skip = new Set<string>(s.stage.runSettings ?? []);
  if (skip.size === 0) return s.params;
  return Object.fromEntries(Object.entries(s.params as object).filter(([k]) => !skip.has(k)));
}

export function manifestTask(id: string, segment: ManifestTask['segment'], r: TaskResult): ManifestTask {
  return {
    id,
    kind: r.preimage.kind,
    key: r.key,
    inputs: r.preimage.inputs,
    ...(segment ? { segment } : {}),
    edges: r.edges,
    output: r.output,
  };
}

/**
 * The root's leaves, in order: the recipe (schema and pipeline), the listing, each pinned segment, each
 * task whole (key, inputs, every edge with its counters and record roots, output), each output file.
 * Every field of the manifest except `root` itself lies in exactly one leaf.
 */
export function manifestLeaves(m: Omit<Manifest, 'root'>): string[] {
  return [
    canonicalJson({ part: 'recipe', schema: m.schema, pipeline: m.pipeline }),
    canonicalJson({ part: 'listing', listing: m.inputs.listing }),
    ...m.inputs.segments.map((segment) => canonicalJson({ part: 'segment', segment })),
    ...m.tasks.map((task) => canonicalJson({ part: 'task', task })),
    ...m.outputs.map((output) => canonicalJson({ part: 'output', output })),
  ];
}

/** RFC 6962 Merkle tree hash over manifestLeaves: changing any committed value moves it. */
export function manifestRoot(m: Omit<Manifest, 'root'>): Digest {
  return merkleRoot(manifestLeaves(m).map((l) => Buffer.from(l, 'utf8')));
}

/**
 * Human-readable and deterministic: two-space indent, LF, trailing newline, members in canonical order
 * except that JSON.parse puts integer-like keys first (a fixed rule of the language). The root is over
 * canonical JSON of the values, never over these bytes, so the layout is presentation only.
 */
export function formatManifest(m: Manifest): string {
  return `${JSON.stringify(JSON.parse(canonicalJson(m)), null, 2)}\n`;
}
