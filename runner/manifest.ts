import { merkleRoot, type Digest } from '../cache/digest.ts';
import { canonicalJson } from './canonical-json.ts';
import { stageIdentity, type KeyPreimage } from './keys.ts';
import type { ResolvedPipeline, ResolvedStep } from './spec.ts';
import type { RecordValue } from './record-codec.ts';
import type { ListOutput } from './stage.ts';
import type { Edge, TaskResult } from './task-result.ts';

/**
 * The dataset lockfile. Everything but `runFacts` is deterministic: the same spec and inputs give the same
 * bytes on any machine, at any concurrency, from a cold or a warm cache. `root` is a Merkle root over the
 * tasks in canonical order (list, then per segment in list order its fetch and chain, then aggregates).
 */
export interface Manifest {
  readonly schema: 'reingest-manifest/1';
  readonly tool: { readonly name: 'reingest'; readonly version: string };
  readonly pipeline: ReturnType<typeof pipelineIdentity>;
  readonly inputs: {
    readonly listing: ListOutput['listing'];
    readonly segments: readonly { readonly index: number; readonly path: string; readonly size: number; readonly sha256: Digest }[];
  };
  readonly tasks: readonly ManifestTask[];
  readonly outputs: readonly ManifestOutput[];
  readonly root: Digest;
  /** Facts about this particular run. Not hashed, not compared. */
  readonly runFacts: RunFacts;
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

export interface RunFacts {
  readonly host: string;
  readonly node: string;
  readonly platform: string;
  readonly startedAt: string;
  readonly wallMs: number;
  readonly concurrency: number;
  readonly tasksRun: number;
  readonly tasksCached: number;
  readonly mirror: string;
  /** Wall milliseconds per stage (aggregates as "stage -> output") summed over the tasks that ran in this run. */
  readonly stageMs?: Readonly<Record<string, number>>;
}

/**
 * The resolved spec as the manifest records it: every param, pins included, so the manifest can be rerun;
 * and `keyParams`, what enters the task keys, so an independent verifier can recompute every key from the
 * manifest alone (docs/manifest.md).
 */
export function pipelineIdentity(p: ResolvedPipeline) {
  const step = (s: ResolvedStep) => ({ stage: s.stage.name, version: s.stage.version, params: s.params, keyParams: stageIdentity(s).params });
  return {
    name: p.name,
    source: step(p.source),
    segment: p.segment.map(step),
    global: p.global.map(step),
    aggregate: p.aggregate.map((a) => ({ ...step(a), output: a.output })),
  };
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

/** Leaves are canonical JSON of (kind, key, output digest): the root moves iff some task's output or recipe does. */
export function rootOf(tasks: readonly ManifestTask[]): Digest {
  return merkleRoot(tasks.map((t) => Buffer.from(canonicalJson({ kind: t.kind, key: t.key, output: t.output.digest }), 'utf8')));
}

/** Human-readable but still canonical: sorted keys, two-space indent, LF, trailing newline. */
export function formatManifest(m: Manifest): string {
  return `${JSON.stringify(JSON.parse(canonicalJson(m)), null, 2)}\n`;
}
