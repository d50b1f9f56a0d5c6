import { hostname } from 'node:os';
import { copyFile, mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import type { Digest } from '../cache/digest.ts';
import { ObjectStore } from '../cache/store.ts';
import { isReingestError, ReingestError } from './errors.ts';
import { guard } from './exec-common.ts';
import { runAggregate } from './exec-aggregate.ts';
import type { ExecEnv, RunEvent } from './exec-common.ts';
import { runList } from './exec-list.ts';
import { runSegment, type SegmentOutcome } from './exec-segment.ts';
import { withMirror } from './local-mirror.ts';
import { formatManifest, manifestTask, pipelineIdentity, rootOf, type Manifest, type ManifestTask } from './manifest.ts';
import { runDag, type DagNode } from './scheduler.ts';
import type { ResolvedPipeline } from './spec.ts';
import type { TaskResult } from './task-result.ts';

export interface RunOptions {
  readonly cacheDir: string;
  readonly outDir: string;
  readonly concurrency: number;
  readonly signal: AbortSignal;
  readonly log: Logger;
  readonly toolVersion: string;
  readonly emit?: (e: RunEvent) => void;
}

export interface RunSummary {
  readonly root: Digest;
  readonly manifestPath: string;
  readonly manifest: Manifest;
}

/** Runs a pipeline end to end and writes the manifest and outputs under outDir. */
export async function runPipeline(p: ResolvedPipeline, opts: RunOptions): Promise<RunSummary> {
  const started = Date.now();
  const store = new ObjectStore(opts.cacheDir);
  await store.init();
  return withMirror(p.mirror, async (mirror) => {
    const env: ExecEnv = { store, mirror, log: opts.log, emit: opts.emit ?? (() => {}) };
    const list = await guard('list', () => runList(env, p, opts.signal));
    const segments: SegmentOutcome[] = new Array(list.list.segments.length);
    const aggregates: { result: TaskResult; cached: boolean }[] = new Array(p.aggregate.length);
    const nodes: DagNode[] = list.list.segments.map((seg, i) => ({
      id: `segment:${seg.index}`,
      deps: [],
      run: async (signal) => {
        segments[i] = await runSegment(env, p, list.list.listing.sha256, seg, signal);
      },
    }));
    const segIds = nodes.map((n) => n.id);
    p.aggregate.forEach((step, a) => {
      nodes.push({
        id: `aggregate:${a}`,
        deps: segIds,
        run: async (signal) => {
          const inputs = segments.map((s) => ({ segment: s.segment, output: s.chain.output.digest }));
          aggregates[a] = await runAggregate(env, step, a, inputs, signal);
        },
      });
    });
    const outcome = await runDag(nodes, { concurrency: opts.concurrency, signal: opts.signal });
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
    aggregates.forEach((a, i) => tasks.push(manifestTask(`aggregate:${i}`, undefined, a.result)));
    const cachedCount = [list.cached, ...segments.map((s) => s.cached), ...aggregates.map((a) => a.cached)].filter(Boolean).length;

    await mkdir(opts.outDir, { recursive: true });
    const outputs = [];
    for (const [i, step] of p.aggregate.entries()) {
      const out = aggregates[i]!.result.output;
      await atomicCopy(store.objectPath(out.digest), join(opts.outDir, step.output));
      outputs.push({ file: step.output, digest: out.digest, size: out.bytes });
    }
    const manifest: Manifest = {
      schema: 'reingest-manifest/1',
      tool: { name: 'reingest', version: opts.toolVersion },
      pipeline: pipelineIdentity(p),
      inputs: {
        listing: list.list.listing,
        segments: segments.map((s) => ({ index: s.segment.index, path: s.segment.path, size: s.fetch.output.bytes, sha256: s.fetch.output.digest })),
      },
      tasks,
      outputs,
      root: rootOf(tasks),
      runFacts: {
        host: hostname(),
        node: process.version,
        platform: `${process.platform}-${process.arch}`,
        startedAt: new Date(started).toISOString(),
        wallMs: Date.now() - started,
        concurrency: opts.concurrency,
        tasksRun: 1 + segments.length + aggregates.length - cachedCount,
        tasksCached: cachedCount,
        mirror: 'localDir' in p.mirror ? `${pathToFileURL(p.mirror.localDir).href}/` : p.mirror.url,
      },
    };
    const manifestPath = join(opts.outDir, 'manifest.json');
    await atomicWrite(manifestPath, formatManifest(manifest));
    return { root: manifest.root, manifestPath, manifest };
  });
}

async function atomicWrite(dest: string, text: string): Promise<void> {
  const tmp = `${dest}.tmp-${randomBytes(6).toString('hex')}`;
  try {
    await writeFile(tmp, text, { encoding: 'utf8', flush: true });
    await rename(tmp, dest);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
}

async function atomicCopy(src: string, dest: string): Promise<void> {
  const tmp = `${dest}.tmp-${randomBytes(6).toString('hex')}`;
  try {
    await copyFile(src, tmp);
    await rename(tmp, dest);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
}
