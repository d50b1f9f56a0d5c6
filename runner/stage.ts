/**
 * The stage interface: the one runner module that stages import. A stage is a small typed unit with a
 * name, a version (bump it whenever its output bytes may change), validated params and a streaming body
 * that honours an AbortSignal. The runner never names a stage; it only sees these shapes.
 */
import type { DataRecord } from './record-codec.ts';

export type { DataRecord, RecordValue } from './record-codec.ts';
import type { RecordValue } from './record-codec.ts';
import type { Digest } from '../cache/digest.ts';
export { isErrorCode, ReingestError, RestartSegment, type ReingestErrorCode } from './errors.ts';
export * as v from './validate.ts';
export { sha256, StreamDigest, type Digest } from '../cache/digest.ts';
/** Files a stage keeps in its work directory go through the same writer as the cache's (atomic-write.ts). */
export { AtomicFile, writeAllSync } from '../cache/atomic-write.ts';
export { canonicalJson } from './canonical-json.ts';
export { Slots } from './slots.ts';
export { ThroughputGuard } from '../cache/throughput.ts';

/** The part of a pino logger that stages may use. */
export interface StageLog {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
}

/** Deterministic counters that end up in the manifest (so they must not depend on timing). */
export interface Counters {
  /**
   * Counts a record dropped for a reason, e.g. `too-short`. Reasons are kebab-case and stable. Pass the
   * dropped document itself when it was a document (it had text, or was an HTML page) to list it, by id and
   * url, in the edge's exclusions object; WARC records that never were documents (requests, metadata,
   * non-HTML) are only counted.
   */
  drop(reason: string, document?: DataRecord): void;
  /** Counts anything else worth reporting, e.g. `non-html`. */
  add(name: string, n?: number): void;
}

export interface StageContext<P> {
  readonly params: P;
  readonly signal: AbortSignal;
  readonly log: StageLog;
  readonly counters: Counters;
  /** Base URL that relative source paths are resolved against (a mirror; never hashed). */
  readonly mirror: string;
  /**
   * A directory that persists with the cache and is shared by every process using it, for files a stage
   * must hold whole (a zip needs random access). Stages name what they put there by content digest and
   * publish with write-to-temp + rename, as the cache does.
   */
  readonly workDir: string;
  /** The segment a chain stage is working on (absent for list and aggregate stages). */
  readonly segment?: SegmentRef;
  /**
   * For a fetch stage when the run reruns a manifest: what the manifest recorded for this segment's bytes.
   * The stage delivers exactly `size` bytes or fails with REINGEST_E_PIN_MISMATCH, without retrying (a
   * mirror serving other bytes is not a transient fault): it refuses a declared size that differs and stops
   * reading at the first byte past `size`, so a hostile mirror cannot make a rerun read more. The runner
   * checks the digest when the stream ends, and stops a stream that passes `size` itself.
   */
  readonly pin?: SegmentPin;
  /**
   * A slot of a named resource shared by the whole run (all tasks, all worker threads), at most `limit`
   * held at once; call the returned function to give it back. E.g. concurrent HTTP streams to one service.
   */
  readonly acquire?: (resource: string, limit: number, signal: AbortSignal) => Promise<() => void>;
  /** Tells the runner the stage is waiting before a retry (progress shows the wait; --events records it). */
  readonly retrying?: (info: { readonly attempt: number; readonly waitMs: number; readonly reason: string }) => void;
}

/** One unit of input: a file named by a path list, resolved against the mirror when fetched. */
export interface SegmentRef {
  /** Position in the full path list, stable whatever subset is selected. */
  readonly index: number;
  /** Path relative to the mirror, as written in the path list. */
  readonly path: string;
}

/** A segment's raw bytes as a manifest records them: their sha256 and their length. */
export interface SegmentPin {
  readonly sha256: Digest;
  readonly size: number;
}

export interface ListOutput {
  /** Path of the listing relative to the mirror, its size and sha256 as fetched. */
  readonly listing: { readonly path: string; readonly size: number; readonly sha256: `sha256:${string}` };
  /** Selected segments, in list order. */
  readonly segments: readonly SegmentRef[];
}

interface StageBase<P> {
  readonly name: string;
  /** Part of every task key: bump when the output for the same input may change. */
  readonly version: string;
  readonly description: string;
  /** Validates raw params from a spec; throws a SpecError naming the field. Returns canonical params. */
  parseParams(raw: unknown, field: string): P;
  /**
   * The params that determine the output, for task keys. Defaults to all of them. Checks, such as a pinned
   * digest, are left out: adding a pin must not change a key, only fail the run when the bytes differ.
   */
  keyParams?(params: P): unknown;
  /**
   * Params that only say how the stage runs (politeness, memory), never what it outputs. The manifest
   * leaves them out of its recipe, so they move no root; a rerun of a manifest takes their defaults.
   */
  readonly runSettings?: readonly string[];
  /** Params for the reference docs when `parseParams({})` is not valid (a required field). */
  readonly exampleParams?: unknown;
  /** Record fields the stage adds, each with its meaning and unit, for the reference docs. */
  readonly addsFields?: { readonly [field: string]: string };
}

/** Turns the spec's source into the list of segments (e.g. fetch `warc.paths.gz`). */
export interface ListStage<P = unknown> extends StageBase<P> {
  readonly kind: 'list';
  /** Applies a user's `--segments` selection (syntax is the stage's) to validated params. */
  withSelection?(params: P, selection: string): P;
  /** The listing digest the params pin, if any: checked against a cached listing too, not only a fetched one. */
  pinnedListing?(params: P): string | undefined;
  /**
   * The params with the listing pinned to this digest. The manifest records the source pinned to the
   * listing it read, so a pinned and an unpinned recipe give one manifest, and a rerun is pinned.
   */
  withListingPin?(params: P, digest: string): P;
  list(ctx: StageContext<P>): Promise<ListOutput>;
}

/** Opens one segment's raw bytes. The runner hashes them as they stream; they are not stored. */
export interface FetchStage<P = unknown> extends StageBase<P> {
  readonly kind: 'fetch';
  open(segment: SegmentRef, ctx: StageContext<P>): AsyncIterable<Uint8Array>;
}

/** Bytes to records (e.g. a WARC reader). */
export interface DecodeStage<P = unknown> extends StageBase<P> {
  readonly kind: 'decode';
  run(input: AsyncIterable<Uint8Array>, ctx: StageContext<P>): AsyncIterable<DataRecord>;
}

/**
 * Records to records, within one segment (extract, filter, annotate). Input records are read-only: to keep
 * a document, yield the same object; to change one, yield a new object (`{ ...rec, text }`). The runner
 * names a record it has already framed on an earlier edge by the digest it computed there, and freezes
 * such records so that a change in place fails instead of going unhashed.
 */
export interface TransformStage<P = unknown> extends StageBase<P> {
  readonly kind: 'transform';
  run(input: AsyncIterable<DataRecord>, ctx: StageContext<P>): AsyncIterable<DataRecord>;
}

export interface SegmentInput {
  readonly segment: SegmentRef;
  /** Content digest of this segment's record stream (the artifact the records come from). */
  readonly digest: Digest;
  readonly records: AsyncIterable<DataRecord>;
}

/** Many segments' records, in list order, to one output file (e.g. JSONL, later dedup or shards). */
export interface AggregateStage<P = unknown> extends StageBase<P> {
  readonly kind: 'aggregate';
  run(inputs: AsyncIterable<SegmentInput>, ctx: StageContext<P>): AsyncIterable<Uint8Array>;
}

/** One file of a multi-file output. */
export interface OutputFile {
  /** A plain file name (letters, digits, `.`, `_`, `-`), unique within the output. */
  readonly name: string;
  /** The file's bytes. The runner reads them to the end before it asks for the next file. */
  readonly chunks: AsyncIterable<Uint8Array>;
  /** Deterministic facts about the file (documents, tokens, sources), asked for once its chunks are read. */
  facts?(): { readonly [key: string]: RecordValue };
  /**
   * Written compressed under --out (`NAME.gz`, gzip level 9, mtime 0). The cache, the digest and the root
   * cover the uncompressed bytes: compressed bytes may differ between zlib builds (Node 20 vs 24).
   */
  readonly compress?: 'gzip';
}

/**
 * Many segments' records, in list order, to a set of named files (token shards): the output step's name is
 * a directory. Each file is stored and hashed on its own, so a reader can check one shard without the rest.
 */
export interface FilesStage<P = unknown> extends StageBase<P> {
  readonly kind: 'files';
  run(inputs: AsyncIterable<SegmentInput>, ctx: StageContext<P>): AsyncIterable<OutputFile>;
}

/** Which records of one segment to drop, and why: [ordinal in the segment's stream, reason], ordinals ascending. */
export interface SegmentDrops {
  /** The segment's index (SegmentRef.index). */
  readonly segment: number;
  readonly drops: readonly (readonly [number, string])[];
}

/**
 * A whole-run decision (e.g. dedup), streamed: segments in list order, each at most once, those that lose
 * nothing left out. Streamed so that neither the stage nor the runner holds every drop of a crawl at once.
 */
export type GlobalPlan = AsyncIterable<SegmentDrops>;

/**
 * A decision that needs the whole run (deduplication across segments). The stage reads every segment's
 * records in list order and returns the drops; the runner stores that plan and applies it to each segment
 * as its own task, so the result never depends on task completion order, concurrency or sharding.
 */
export interface GlobalStage<P = unknown> extends StageBase<P> {
  readonly kind: 'global';
  /**
   * Optional: what the plan needs of one segment (e.g. dedup's key hashes, one record per input record, in
   * order). The runner runs it per segment as its own cached task, beside the segment (on shards, on the
   * shard that ran the segment), and then hands plan() these summaries instead of the segments' records —
   * so re-planning never recomputes them and the plan reads a small fraction of the bytes.
   */
  summarize?(records: AsyncIterable<DataRecord>, ctx: StageContext<P>): AsyncIterable<DataRecord>;
  plan(inputs: AsyncIterable<SegmentInput>, ctx: StageContext<P>): GlobalPlan;
}

export type AnyStage = ListStage | FetchStage | DecodeStage | TransformStage | GlobalStage | AggregateStage | FilesStage;
export type StageKind = AnyStage['kind'];

export type StageRegistry = Readonly<Record<string, AnyStage>>;
