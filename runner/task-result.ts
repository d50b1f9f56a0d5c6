import { isDigest, type Digest } from '../cache/digest.ts';
import type { StageCounters } from './counters.ts';
import type { KeyPreimage } from './keys.ts';

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

/** What the action index holds for a task key. Deterministic: it is replayed on every cache hit. */
export interface TaskResult {
  readonly schema: 'reingest-action/1';
  readonly key: Digest;
  readonly preimage: KeyPreimage;
  readonly edges: readonly Edge[];
  /** The edge whose digest names the task's output. */
  readonly output: Edge;
}

export function parseTaskResult(text: string, key: Digest): TaskResult | null {
  try {
    const r = JSON.parse(text) as TaskResult;
    if (r.schema !== 'reingest-action/1' || r.key !== key || !isDigest(r.output?.digest) || !Array.isArray(r.edges)) return null;
    return r;
  } catch {
    return null;
  }
}
