import { spawn, type ChildProcess } from 'node:child_process';
import { CounterSet } from '../runner/counters.ts';
import type { StageContext } from '../runner/stage.ts';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
export const BIN = join(ROOT, 'bin', 'reingest.mjs');
export const SAMPLE_PIPELINE = join(ROOT, 'pipelines', 'sample.ts');

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Runs the real CLI in a child process (as a user would), with a clean environment for the cache. */
export function startCli(args: string[], env: Record<string, string> = {}, cwd = ROOT, node = process.execPath): { child: ChildProcess; done: Promise<CliResult> } {
  const child = spawn(node, [BIN, ...args], {
    cwd,
    env: { ...process.env, REINGEST_CACHE: '', XDG_CACHE_HOME: '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const done = new Promise<CliResult>((resolve) => child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr })));
  return { child, done };
}

export function runCli(args: string[], env: Record<string, string> = {}, cwd = ROOT, node = process.execPath): Promise<CliResult> {
  return startCli(args, env, cwd, node).done;
}

/** Splits bytes into chunks of the given sizes, cycling, to exercise every boundary a parser can meet. */
export async function* chunked(bytes: Uint8Array, sizes: readonly number[]): AsyncGenerator<Uint8Array> {
  let pos = 0;
  let i = 0;
  while (pos < bytes.length) {
    const n = sizes[i++ % sizes.length]!;
    yield bytes.subarray(pos, pos + n);
    pos += n;
  }
}

export async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

export interface RunJson {
  root: string;
  manifest: string;
  tasksRun: number;
  tasksCached: number;
}

/** Parses the `--json` summary that `reingest run` prints as its last stdout line. */
export function runJson(stdout: string): RunJson {
  return JSON.parse(stdout.trim().split('\n').at(-1)!) as RunJson;
}

/** A stage context for calling a stage directly, as the runner would (quiet log, fresh counters). */
export function stageCtx<P>(
  params: P,
  over: { mirror?: string; workDir?: string; signal?: AbortSignal; counters?: CounterSet } = {},
): StageContext<P> & { counters: CounterSet } {
  const noop = () => {};
  return {
    params,
    signal: over.signal ?? new AbortController().signal,
    log: { debug: noop, info: noop, warn: noop },
    counters: over.counters ?? new CounterSet(),
    mirror: over.mirror ?? 'file:///nonexistent/',
    workDir: over.workDir ?? '/nonexistent-workdir',
  };
}
