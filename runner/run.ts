import { createReadStream } from 'node:fs';
import { hostname } from 'node:os';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Logger } from 'pino';
import { writeFileAtomic, writeStreamAtomic } from '../cache/atomic-write.ts';
import type { Digest } from '../cache/digest.ts';
import { HttpRemoteCache, type RemoteCacheConfig } from '../cache/remote.ts';
import { ObjectStore } from '../cache/store.ts';
import { isReingestError, ReingestError } from './errors.ts';
import { guard } from './exec-common.ts';
import { readFilesIndex, runAggregate } from './exec-aggregate.ts';
import type { ExecEnv, RunEvent } from './exec-common.ts';
import { runGlobalApply, runGlobalPlan, summarizeSegment, type PlanOutcome } from './exec-global.ts';
import { runList } from './exec-list.ts';
import { runSegment, type SegmentOutcome } from './exec-segment.ts';
import { withMirror } from './local-mirror.ts';
import { outputEntryOf } from './files-index.ts';
import { formatManifest, MANIFEST_SCHEMA, manifestRoot, manifestTask, pipelineIdentity, type Manifest, type ManifestOutput, type ManifestTask } from './manifest.ts';
import { replaceOutDir } from './out-dir.ts';
import { appendRunRecord, type RunRecord } from './run-record.ts';
import { runDag, type DagNode } from './scheduler.ts';
import { Slots } from './slots.ts';
import { segmentWorkersFor } from './worker-pool.ts';
import { withListingPin, type ResolvedPipeline } from './spec.ts';
import type { GlobalStage } from './stage.ts';
import type { TaskResult } from './task-result.ts';

export interface RunOptions {
  readonly cacheDir: string;
  readonly outDir: string;
  readonly concurrency: number;
  readonly signal: AbortSignal;
  readonly log: Logger;
  readonly toolVersion: string;
  readonly emit?: (e: RunEvent) => void;
  /** Start ready tasks in a seeded shuffled order (a determinism check; never changes a correct result). */
  readonly shuffleSeed?: number;
  /** Merge mode: fail instead of computing a segment chain that no shard put in the cache. */
  readonly requireCachedSegments?: boolean;
  /** Base URL of a shared HTTP cache (Bazel's /ac + /cas layout). */
  readonly remoteCache?: RemoteCacheConfig;
  /**
   * Run segment chains on this many worker threads (0: on the main thread). Workers load the stages from
   * `registry` (a module URL and export name): the runner itself names no stage.
   */
  readonly workers?: { readonly count: number; readonly registry: { readonly url: string; readonly exportName: string } };
}

export interface RunSummary {
  readonly root: Digest;
  readonly manifestPath: string;
  readonly manifest: Manifest;
  /** This run's facts, also appended to the cache's run records (run-record.ts). */
  readonly run: RunRecord;
}

/** Runs a pipeline end to end and writes the manifest and outputs under outDir. */
export async function runPipeline(p: ResolvedPipeline, opts: RunOptions): Promise<RunSummary> {
  const started = Date.now();
  const store = new ObjectStore(opts.cacheDir);
  await store.init();
  return withMirror(p.mirror, async (mirror) => {
    // Wall time per stage over the tasks that ran here (not cached ones): a run fact for reports.
    const stageMs: Record<string, number> = {};
    const addMs = (stage: string, ms: number) => (stageMs[stage] = (stageMs[stage] ?? 0) + Math.round(ms));
    const timed = async <T>(stage: string, fn: () => Promise<T & { cached: boolean }>): Promise<T & { cached: boolean }> => {
      const t0 = performance.now();
      const r = await fn();
      if (!r.cached) addMs(stage, performance.now() - t0);
      return r;
    };
    const slots = new Slots();
    const env: ExecEnv = {
      store,
      mirror,
      acquire: slots.acquire,
      log: opts.log,
      emit: (e) => {
        if (e.type === 'task-done' && e.stageMs) for (const [stage, ms] of Object.entries(e.stageMs)) addMs(stage, ms);
        opts.emit?.(e);
      },
      requireCachedSegments: opts.requireCachedSegments ?? false,
      ...(opts.remoteCache ? { remote: new HttpRemoteCache(opts.remoteCache) } : {}),
    };
    const list = await guard('list', () => runList(env, p, opts.signal));
    const pool = segmentWorkersFor(opts, p, mirror, list.list.segments.length, env.emit, slots);
    try {
      const segments: SegmentOutcome[] = new Array(list.list.segments.length);
      const aggregates: { result: TaskResult; cached: boolean }[] = new Array(p.aggregate.length);
      const nodes: DagNode[] = list.list.segments.map((seg, i) => ({
        id: `segment:${seg.index}`,
        deps: [],
        run: async (signal) => {
          segments[i] = pool ? await pool.run(list.list.listing.sha256, seg, signal) : await runSegment(env, p, list.list.listing.sha256, seg, signal);
        },
      }));
      // Segment i's records as global step g sees them: its chain's output, or global step g-1's applied version.
      const outputAt = (g: number, i: number): Digest => (g === 0 ? segments[i]!.chain.output.digest : applied[g - 1]![i]!.result.output.digest);
      const inputsAt = (g: number) => segments.map((s, i) => ({ segment: s.segment, output: outputAt(g, i) }));
      const plans: PlanOutcome[] = [];
      const applied: { result: TaskResult; cached: boolean }[][] = [];
      const summaries: { result: TaskResult; cached: boolean }[][] = [];
      let layer = nodes.map((n) => n.id);
      p.global.forEach((step, g) => {
        const planId = `global:${g}`;
        // A summarizing step first reduces each segment on its own (in parallel, cached per segment).
        const summarizes = (step.stage as GlobalStage).summarize !== undefined;
        if (summarizes) {
          summaries[g] = new Array(segments.length);
          layer = list.list.segments.map((seg, i) => {
            const id = `summary:${g}:${seg.index}`;
            nodes.push({
              id,
              deps: [layer[i]!],
              run: async (signal) => {
                const s = await summarizeSegment(pool, env, step, g, seg, outputAt(g, i), signal);
                if (!s.cached) addMs(step.stage.name, s.ms);
                summaries[g]![i] = s;
              },
            });
            return id;
          });
        }
        nodes.push({
          id: planId,
          deps: layer,
          run: async (signal) => {
            const planInputs = summarizes ? segments.map((s, i) => ({ segment: s.segment, output: summaries[g]![i]!.result.output.digest })) : inputsAt(g);
            plans[g] = await timed(step.stage.name, () => runGlobalPlan(env, step, g, planInputs, signal));
            applied[g] = new Array(segments.length);
          },
        });
        layer = list.list.segments.map((seg, i) => {
          const id = `apply:${g}:${seg.index}`;
          nodes.push({
            id,
            deps: [planId],
            run: async (signal) => {
              const input = outputAt(g, i);
              const plan = { drops: plans[g]!.drops.get(seg.index) };
              applied[g]![i] = await timed(step.stage.name, () => runGlobalApply(env, step, g, seg, input, plan, signal));
            },
          });
          return id;
        });
      });
      p.aggregate.forEach((step, a) => {
        nodes.push({
          id: `aggregate:${a}`,
          deps: layer,
          run: async (signal) => {
            aggregates[a] = await timed(`${step.stage.name} -> ${step.output}`, () => runAggregate(env, step, a, inputsAt(p.global.length), signal));
          },
        });
      });
      env.emit({ type: 'run-plan', tasks: nodes.length + 1, segments: list.list.segments.length });
      const outcome = await runDag(nodes, { concurrency: opts.concurrency, signal: opts.signal, ...(opts.shuffleSeed === undefined ? {} : { shuffleSeed: opts.shuffleSeed }) });
      if (outcome.status === 'aborted') {
        throw new ReingestError('REINGEST_E_INTERRUPTED', 'the run was interrupted; finished tasks are cached, rerun the same command to resume');
      }
      if (outcome.status === 'failed') {
        const first = outcome.failures[0]!;
        for (const f of outcome.failures) env.emit({ type: 'task-failed', id: f.id, code: isReingestError(f.error) ? f.error.code : 'internal' });
        throw isReingestError(first.error) ? first.error : Object.assign(first.error as Error, { task: first.id });
      }

      const tasks: ManifestTask[] = [manifestTask('list', undefined, list.result)];
      for (const s of segments) {
        const seg = { index: s.segment.index, path: s.segment.path };
        tasks.push(manifestTask(`fetch:${seg.index}`, seg, s.fetch), manifestTask(`segment:${seg.index}`, seg, s.chain));
      }
      const segRef = (i: number) => ({ index: segments[i]!.segment.index, path: segments[i]!.segment.path });
      plans.forEach((plan, g) => {
        summaries[g]?.forEach((x, i) => tasks.push(manifestTask(`summary:${g}:${segRef(i).index}`, segRef(i), x.result)));
        tasks.push(manifestTask(`global:${g}`, undefined, plan.result));
        applied[g]!.forEach((a, i) => tasks.push(manifestTask(`apply:${g}:${segRef(i).index}`, segRef(i), a.result)));
      });
      aggregates.forEach((a, i) => tasks.push(manifestTask(`aggregate:${i}`, undefined, a.result)));
      const ran = [list.cached, ...segments.map((s) => s.cached), ...summaries.flat().map((x) => x.cached), ...plans.map((x) => x.cached), ...applied.flat().map((x) => x.cached), ...aggregates.map((a) => a.cached)];
      const cachedCount = ran.filter(Boolean).length;

      const outputs: ManifestOutput[] = [];
      let manifest: Manifest | undefined;
      await replaceOutDir(opts.outDir, async (dir) => {
        for (const [i, step] of p.aggregate.entries()) {
          const out = aggregates[i]!.result.output;
          if (step.stage.kind === 'files') {
            // The output is a folder of files named by the stage (its index was validated as it was read).
            await mkdir(join(dir, step.output));
            const index = await readFilesIndex({ store }, out.digest, opts.signal ?? new AbortController().signal);
            for (const f of index.files) {
              const entry = outputEntryOf(step.output, f);
              if (f.compress === 'gzip') await gzipAtomic(store.objectPath(f.digest), join(dir, entry.file));
              else await copyAtomic(store.objectPath(f.digest), join(dir, entry.file));
              outputs.push(entry);
            }
          } else {
            await copyAtomic(store.objectPath(out.digest), join(dir, step.output));
            outputs.push({ file: step.output, digest: out.digest, size: out.bytes });
          }
        }
        const body = {
          schema: MANIFEST_SCHEMA,
          pipeline: pipelineIdentity(withListingPin(p, list.list.listing.sha256)),
          inputs: {
            listing: list.list.listing,
            segments: segments.map((s) => ({ index: s.segment.index, path: s.segment.path, size: s.fetch.output.bytes, sha256: s.fetch.output.digest })),
          },
          tasks,
          outputs,
        } as const;
        manifest = { ...body, root: manifestRoot(body) };
        await writeFileAtomic(join(dir, 'manifest.json'), formatManifest(manifest));
      });
      const manifestPath = join(opts.outDir, 'manifest.json');
      if (!manifest) throw new Error('Internal error: the output folder was published without a manifest');
      const run: RunRecord = {
        schema: 'reingest-run/1',
        root: manifest.root,
        pipeline: p.name,
        tool: { name: 'reingest', version: opts.toolVersion },
        host: hostname(),
        node: process.version,
        platform: `${process.platform}-${process.arch}`,
        startedAt: new Date(started).toISOString(),
        wallMs: Date.now() - started,
        concurrency: opts.concurrency,
        tasksRun: ran.length - cachedCount,
        tasksCached: cachedCount,
        mirror: 'localDir' in p.mirror ? `${pathToFileURL(p.mirror.localDir).href}/` : p.mirror.url,
        stageMs,
      };
      await appendRunRecord(store, run);
      return { root: manifest.root, manifestPath, manifest, run };
    } finally {
      await pool?.close();
    }
  });
}

/**
 * Streamed through the atomic writer, not copyFile: fsynced and size-checked like every publish, and a
 * full disk names the destination (copyFile's error names the source).
 */
function copyAtomic(src: string, dest: string): Promise<void> {
  return writeStreamAtomic(dest, createReadStream(src, { highWaterMark: 1 << 20 }));
}

/** gzip with a fixed level and Node's fixed header (mtime 0, no name), so one zlib build gives one file. */
function gzipAtomic(src: string, dest: string): Promise<void> {
  return pipeline(createReadStream(src), createGzip({ level: 9 }), (gz: AsyncIterable<Uint8Array>) => writeStreamAtomic(dest, gz));
}
