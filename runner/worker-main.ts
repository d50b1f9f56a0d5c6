import { parentPort, workerData } from 'node:worker_threads';
import pino from 'pino';
import { fromOsError } from '../cache/os-errors.ts';
import { HttpRemoteCache } from '../cache/remote.ts';
import { ObjectStore } from '../cache/store.ts';
import { isReingestError } from './errors.ts';
import type { ExecEnv } from './exec-common.ts';
import { summarizeSegment } from './exec-global.ts';
import { runSegment } from './exec-segment.ts';
import type { ResolvedStep } from './spec.ts';
import type { AnyStage, StageRegistry } from './stage.ts';
import type { FromWorker, ToWorker, WireError, WorkerInit } from './worker-protocol.ts';

/*
 * The body of a segment worker thread: it rebuilds the chain's steps from plain data and the stage
 * registry module, then runs one segment chain per request against the shared on-disk cache. Events go
 * to the main thread; run-wide slots (HTTP streams) are granted by the main thread.
 */
const init = workerData as WorkerInit;
const port = parentPort!;
const post = (m: FromWorker) => port.postMessage(m);

const registry = (await import(init.registry.url))[init.registry.exportName] as StageRegistry;
/** A step as plain data (stage name, params) back into a resolved step from the registry. */
function resolveStep(s: { readonly stage: string; readonly params: unknown }): ResolvedStep {
  const stage: AnyStage | undefined = registry[s.stage];
  if (!stage) throw new Error(`Internal error: worker registry has no stage ${s.stage}`);
  return { stage, params: s.params };
}
const pipeline = { segment: init.steps.map(resolveStep), ...(init.pins ? { pins: new Map(init.pins) } : {}) };
const summarizers = new Map<number, ResolvedStep>(init.summarizers.map((s) => [s.g, resolveStep(s)]));

let nextGrant = 0;
const grants = new Map<number, () => void>();
const env: ExecEnv = {
  store: new ObjectStore(init.cacheDir),
  mirror: init.mirror,
  log: pino({ level: init.logLevel, base: undefined }, pino.destination({ fd: 2, sync: true })),
  emit: (event) => post({ type: 'event', event }),
  ...(init.remoteCache ? { remote: new HttpRemoteCache(init.remoteCache) } : {}),
  acquire: (resource, limit, signal) =>
    new Promise((resolve, reject) => {
      signal.throwIfAborted();
      const grant = nextGrant++;
      const onAbort = () => {
        grants.delete(grant);
        post({ type: 'cancel', grant });
        reject(signal.reason);
      };
      grants.set(grant, () => {
        signal.removeEventListener('abort', onAbort);
        let released = false;
        resolve(() => {
          if (released) return;
          released = true;
          post({ type: 'release', grant });
        });
      });
      signal.addEventListener('abort', onAbort, { once: true });
      post({ type: 'acquire', grant, resource, limit });
    }),
};

/** A full disk or a forbidden folder is typed here as on the main thread; only typed errors cross as such. */
function wire(caught: unknown): WireError {
  const err = fromOsError(caught) ?? caught;
  if (isReingestError(err)) return { reingest: true, code: err.code, message: err.message, ...(err.where ? { where: err.where } : {}) };
  const e = err as Error;
  return { reingest: false, message: e?.message ?? String(err), ...(e?.stack ? { stack: e.stack } : {}) };
}

const running = new Map<number, AbortController>();
port.on('message', (m: ToWorker) => {
  if (m.type === 'granted') {
    const wake = grants.get(m.grant);
    grants.delete(m.grant);
    wake?.();
  } else if (m.type === 'abort') {
    running.get(m.task)?.abort(new Error('aborted by the run'));
  } else {
    const controller = new AbortController();
    running.set(m.task, controller);
    const fail = (err: unknown) => post({ type: 'failed', task: m.task, error: wire(err) });
    if (m.type === 'run') {
      runSegment(env, pipeline, m.listing, m.segment, controller.signal).then((outcome) => post({ type: 'done', task: m.task, outcome }), fail).finally(() => running.delete(m.task));
      return;
    }
    const step = summarizers.get(m.g);
    if (!step) throw new Error(`Internal error: worker has no summarizing step ${m.g}`);
    // Here, on this thread: a worker has no pool of its own.
    summarizeSegment(null, env, step, m.g, m.segment, m.input, controller.signal)
      .then((outcome) => post({ type: 'summarized', task: m.task, outcome }), fail)
      .finally(() => running.delete(m.task));
  }
});
