import { setMaxListeners } from 'node:events';
import { ReingestError } from './errors.ts';

export interface DagNode {
  readonly id: string;
  readonly deps: readonly string[];
  run(signal: AbortSignal): Promise<void>;
}

export type DagOutcome =
  | { readonly status: 'done' }
  | { readonly status: 'failed'; readonly failures: readonly { readonly id: string; readonly error: unknown }[] }
  | { readonly status: 'aborted'; readonly reason: unknown };

/**
 * Runs a DAG with at most `concurrency` nodes at once; a node starts when all its deps are done.
 * Failure mode "kill": the first failure aborts the running nodes and starts no new ones. Every node's
 * promise is awaited before returning, so nothing is left running behind the caller's back.
 */
export async function runDag(nodes: readonly DagNode[], opts: { concurrency: number; signal: AbortSignal; shuffleSeed?: number }): Promise<DagOutcome> {
  if (!Number.isInteger(opts.concurrency) || opts.concurrency < 1) {
    throw new ReingestError('REINGEST_E_USAGE', `expected --concurrency to be an integer >= 1, got ${opts.concurrency}`);
  }
  const byId = new Map(nodes.map((n) => [n.id, n]));
  if (byId.size !== nodes.length) throw new Error('Internal error: duplicate DAG node ids');
  const waiting = new Map<string, number>();
  const dependents = new Map<string, string[]>();
  for (const n of nodes) {
    waiting.set(n.id, n.deps.length);
    for (const d of n.deps) {
      if (!byId.has(d)) throw new Error(`Internal error: node ${n.id} depends on unknown node ${d}`);
      dependents.set(d, [...(dependents.get(d) ?? []), n.id]);
    }
  }
  assertAcyclic(nodes, dependents);

  const inner = new AbortController();
  // Every running stage (HTTP body, gunzip pipeline, file streams) listens on this one signal.
  setMaxListeners(Math.max(10, opts.concurrency * 16), inner.signal);
  const onOuterAbort = () => inner.abort(opts.signal.reason);
  if (opts.signal.aborted) onOuterAbort();
  else opts.signal.addEventListener('abort', onOuterAbort, { once: true });

  const failures: { id: string; error: unknown }[] = [];
  const running = new Set<Promise<void>>();
  // Ready nodes wait here. A node readied by one that finished goes to the front: a segment's follow-up
  // (its summary) runs next to the chains still going instead of after all of them, so less is left for the end.
  const ready: string[] = [];
  let active = 0;

  const runNode = async (id: string): Promise<void> => {
    try {
      await byId.get(id)!.run(inner.signal);
    } catch (error) {
      // A node that throws after the run was stopped is reporting the stop, not a failure of its own.
      if (inner.signal.aborted) return;
      failures.push({ id, error });
      inner.abort(error);
      return;
    }
    const readied: string[] = [];
    for (const next of dependents.get(id) ?? []) {
      const left = waiting.get(next)! - 1;
      waiting.set(next, left);
      if (left === 0) readied.push(next);
    }
    ready.unshift(...order(readied));
  };

  const pump = (): void => {
    while (active < opts.concurrency && ready.length > 0 && !inner.signal.aborted) {
      const id = ready.shift()!;
      active++;
      const p = runNode(id).finally(() => {
        active--;
        pump();
      });
      running.add(p);
      void p.finally(() => running.delete(p));
    }
  };

  // With a seed, ready nodes start in a shuffled (seeded) order: a missing dependency or an output that
  // depends on completion order then shows up as a different root instead of hiding behind luck.
  const order = (ids: string[]): string[] => (opts.shuffleSeed === undefined ? ids : shuffled(ids, opts.shuffleSeed));
  ready.push(...order(nodes.filter((n) => n.deps.length === 0).map((n) => n.id)));
  pump();
  while (running.size > 0) await Promise.allSettled([...running]);
  opts.signal.removeEventListener('abort', onOuterAbort);

  if (failures.length > 0) return { status: 'failed', failures };
  if (opts.signal.aborted) return { status: 'aborted', reason: opts.signal.reason };
  return { status: 'done' };
}

function assertAcyclic(nodes: readonly DagNode[], dependents: Map<string, string[]>): void {
  const indeg = new Map(nodes.map((n) => [n.id, n.deps.length]));
  const queue = nodes.filter((n) => n.deps.length === 0).map((n) => n.id);
  let seen = 0;
  while (queue.length > 0) {
    const id = queue.pop()!;
    seen++;
    for (const d of dependents.get(id) ?? []) {
      const left = indeg.get(d)! - 1;
      indeg.set(d, left);
      if (left === 0) queue.push(d);
    }
  }
  if (seen !== nodes.length) {
    const stuck = [...indeg].filter(([, n]) => n > 0).map(([id]) => id);
    throw new Error(`Internal error: the task graph has a cycle through ${stuck.slice(0, 5).join(', ')}`);
  }
}

function shuffled(ids: readonly string[], seed: number): string[] {
  const out = [...ids];
  let s = seed >>> 0;
  for (let i = out.length - 1; i > 0; i--) {
    s = (Math.imul(s ^ (s >>> 15), 0x2c1b3c6d) + 0x6d2b79f5) >>> 0;
    const j = s % (i + 1);
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}
