import { isDigest, type Digest } from '../cache/digest.ts';
import { ACTION_MAX_BYTES } from '../cache/store.ts';
import type { StageCounters } from './counters.ts';
import { edgeProblem } from './edge-check.ts';
import { ENTRY as RECORD_INDEX_ENTRY } from './record-index.ts';
import { taskKey, type KeyPreimage } from './keys.ts';

/** The digest of one DAG edge: the bytes (or canonical record frames) that crossed a stage boundary. */
export interface Edge {
  /** The stage that produced this stream. */
  readonly stage: string;
  readonly digest: Digest;
  readonly bytes: number;
  /** Records on a record edge; absent on a byte edge. */
  readonly records?: number;
  /** Whether the bytes are kept in the cache (only task outputs are, by default). */
  readonly stored: boolean;
  /** What the producing stage counted while making this stream (drops by reason, other counts). */
  readonly counters?: StageCounters;
  /** Record edges: Merkle tree hash over the records (RFC 6962 leaves = frames), for one-record proofs. */
  readonly recordsRoot?: Digest;
  /** Record edges: the stored per-record index (leaf hash + frame length per record; runner/record-index.ts). */
  readonly recordIndex?: Digest;
  /**
   * Record edges whose stage dropped documents: the stored list of them, canonical frames of
   * {reason, id, url} in the order dropped (runner/counters.ts). Its count is the edge's document drops.
   */
  readonly exclusions?: Digest;
}

/** Every object an edge names in the cache: its bytes when stored, its record index, its exclusions. */
export function edgeObjects(e: Edge): Digest[] {
  return [...(e.stored ? [e.digest] : []), ...(e.recordIndex ? [e.recordIndex] : []), ...(e.exclusions ? [e.exclusions] : [])];
}

/** Every stored object a task made: its output, each file of a multi-file output, record indexes, exclusions. */
export function storedDigests(result: TaskResult): Set<Digest> {
  return new Set([result.output, ...result.edges].flatMap(edgeObjects));
}

/**
 * The most bytes each stored object of a task can have, as its entry declares: a stored edge its `bytes`,
 * a record index 36 bytes a record; an exclusions list (whose size the entry does not state) no more than
 * every edge of the task together, as its documents' ids and URLs came from those records. A download
 * longer than this is refused before it fills a disk.
 */
export function declaredSizes(result: TaskResult): Map<Digest, number> {
  const edges = [result.output, ...result.edges];
  const all = edges.reduce((n, e) => n + e.bytes, 0);
  const sizes = new Map<Digest, number>();
  const atMost = (d: Digest, n: number) => sizes.set(d, Math.max(n, sizes.get(d) ?? 0));
  for (const e of edges) {
    if (e.stored) atMost(e.digest, e.bytes);
    if (e.recordIndex) atMost(e.recordIndex, (e.records ?? 0) * RECORD_INDEX_ENTRY);
    if (e.exclusions) atMost(e.exclusions, Math.max(all, EXCLUSIONS_FLOOR));
  }
  return sizes;
}

/** Room for an exclusions list of a task whose edges are small (a few drops of long URLs). */
const EXCLUSIONS_FLOOR = 1024 * 1024;

/** What the action index holds for a task key. Deterministic: it is replayed on every cache hit. */
export interface TaskResult {
  readonly schema: 'reingest-action/1';
  readonly key: Digest;
  readonly preimage: KeyPreimage;
  readonly edges: readonly Edge[];
  /** The edge whose digest names the task's output. */
  readonly output: Edge;
}

const KINDS = new Set<string>(['list', 'fetch', 'chain', 'global-summary', 'global-plan', 'global-apply', 'aggregate']);

/**
 * The one validator of action entries, whether read from this cache, a shared one or a remote: every
 * field is checked before anything uses it, and the preimage must hash to the key it is filed under.
 * Returns why an entry is refused (it is then a miss), or the entry.
 */
export function parseTaskResult(text: string, key: Digest): TaskResult | { readonly refused: string } {
  if (text.length > ACTION_MAX_BYTES) return { refused: `${text.length} characters, more than ${ACTION_MAX_BYTES}` };
  let r: TaskResult;
  try {
    r = JSON.parse(text) as TaskResult;
  } catch {
    return { refused: 'not JSON' };
  }
  const problem = entryProblem(r, key);
  return problem ? { refused: problem } : r;
}

export function isRefused(r: TaskResult | { readonly refused: string }): r is { readonly refused: string } {
  return 'refused' in r;
}

function entryProblem(r: TaskResult, key: Digest): string | null {
  if (typeof r !== 'object' || r === null || r.schema !== 'reingest-action/1') return 'schema: expected "reingest-action/1"';
  if (r.key !== key) return `key: expected ${key}`;
  const pre = r.preimage as KeyPreimage | undefined;
  if (typeof pre !== 'object' || pre === null || pre.v !== 'reingest/key/1' || !KINDS.has(pre.kind)) return 'preimage: expected {v: "reingest/key/1", kind, stages, inputs}';
  if (!Array.isArray(pre.stages) || !pre.stages.every((s) => typeof s?.name === 'string' && typeof s.version === 'string')) return 'preimage.stages: expected [{name, version, params}]';
  if (!Array.isArray(pre.inputs) || !pre.inputs.every(isDigest)) return 'preimage.inputs: expected digests';
  if (pre.select !== undefined && typeof pre.select !== 'string') return 'preimage.select: expected a string';
  try {
    if (taskKey(pre) !== key) return `preimage: hashes to ${taskKey(pre)}, not to the key it is filed under`;
  } catch {
    return 'preimage: not canonical JSON';
  }
  if (!Array.isArray(r.edges)) return 'edges: expected an array';
  for (const [i, e] of r.edges.entries()) {
    const p = edgeProblem(e, `edges[${i}]`);
    if (p) return p;
  }
  const out = edgeProblem(r.output, 'output');
  if (out) return out;
  if (!r.edges.some((e) => e.digest === r.output.digest && e.stage === r.output.stage)) return 'output: expected the digest of one of its edges';
  return null;
}
