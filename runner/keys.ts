import { sha256, type Digest } from '../cache/digest.ts';
import { canonicalJson } from './canonical-json.ts';
import type { ResolvedStep } from './spec.ts';

/**
 * A task key is the sha256 of the canonical JSON of this preimage. It holds what determines the output
 * and nothing else: never concurrency, shard or worker counts, paths, host names, time or retry counts.
 * The preimage is stored beside each action entry so a third party can diff *why* two keys differ.
 */
export interface KeyPreimage {
  /** Bump when the key scheme itself changes. */
  readonly v: 'reingest/key/1';
  readonly kind: 'list' | 'fetch' | 'chain' | 'global-summary' | 'global-plan' | 'global-apply' | 'aggregate';
  readonly stages: readonly { readonly name: string; readonly version: string; readonly params: unknown }[];
  /** Content digests of the inputs, in a canonical order (list order for segments). */
  readonly inputs: readonly Digest[];
  /** For a fetch: the path inside the listing named by inputs[0]. */
  readonly select?: string;
}

export function stageIdentity(step: ResolvedStep): KeyPreimage['stages'][number] {
  const stage = step.stage as { keyParams?(p: unknown): unknown } & ResolvedStep['stage'];
  return { name: stage.name, version: stage.version, params: stage.keyParams ? stage.keyParams(step.params) : step.params };
}

export function taskKey(pre: KeyPreimage): Digest {
  return sha256(canonicalJson(pre));
}

export function listPreimage(source: ResolvedStep): KeyPreimage {
  return { v: 'reingest/key/1', kind: 'list', stages: [stageIdentity(source)], inputs: [] };
}

/** A fetch is fixed-output: identified by the listing's content and the path in it; the mirror is not part of it. */
export function fetchPreimage(fetch: ResolvedStep, listing: Digest, path: string): KeyPreimage {
  return { v: 'reingest/key/1', kind: 'fetch', stages: [stageIdentity(fetch)], inputs: [listing], select: path };
}

/** The fused decode + transforms of one segment, keyed by the raw bytes' content digest. */
export function chainPreimage(steps: readonly ResolvedStep[], raw: Digest): KeyPreimage {
  return { v: 'reingest/key/1', kind: 'chain', stages: steps.map(stageIdentity), inputs: [raw] };
}

export function aggregatePreimage(step: ResolvedStep, inputs: readonly Digest[]): KeyPreimage {
  return { v: 'reingest/key/1', kind: 'aggregate', stages: [stageIdentity(step)], inputs };
}

/** What a whole-run step needs of one segment (GlobalStage.summarize), keyed by that segment's current output. */
export function globalSummaryPreimage(step: ResolvedStep, segmentOutput: Digest): KeyPreimage {
  return { v: 'reingest/key/1', kind: 'global-summary', stages: [stageIdentity(step)], inputs: [segmentOutput] };
}

/** A whole-run decision: the stage over every segment's current output (or its summary), in list order. */
export function globalPlanPreimage(step: ResolvedStep, inputs: readonly Digest[]): KeyPreimage {
  return { v: 'reingest/key/1', kind: 'global-plan', stages: [stageIdentity(step)], inputs };
}

/**
 * Applying a plan to one segment: its records and *its own* drop list are the inputs (EMPTY_DROP_LIST in
 * runner/exec-global.ts when the plan drops nothing from it), not the whole plan. The output depends on
 * those two alone, so equal keys give equal outputs even for segments whose records are byte-identical (a
 * listing that names a file twice, mirrored copies of a WARC) but whose drops differ; keyed by the plan,
 * such segments shared a key with different outputs. Old (plan) and new (drop list) preimages coincide
 * only when both digests are of zero bytes (a plan that drops nothing), where the outputs agree too.
 */
export function globalApplyPreimage(step: ResolvedStep, segmentOutput: Digest, drops: Digest): KeyPreimage {
  return { v: 'reingest/key/1', kind: 'global-apply', stages: [stageIdentity(step)], inputs: [segmentOutput, drops] };
}
