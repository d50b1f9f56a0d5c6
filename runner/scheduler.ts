import { setMaxListeners } from 'node:events';
import { ReingestError } from './errors.ts';
import { ReadyStack } from './ready-stack.ts';

export interface DagNode {
  readonly id: string;
  readonly deps: readonly string[];
  run(signal: AbortSignal): Promise<void>;
}

export type DagOutcome =
  | { readonly status: 'done' }
  | { readonly status: 'failed'; readonly failures: readonly { readonly id: string; readonly error: unknown }[] }
  | { readonly status: 'aborted'; readonly reason: unknown };

/** Nodes by position: each node's dependents and its count of deps not yet done. */
interface Graph {
  readonly dependents: readonly (readonly number[])[];
  readonly waiting: Int32Array;
}

/**
 * Runs a DAG with at most `concurrency` nodes at once; a node starts when all its deps are done.
 * Failure mode "kill": the first failure aborts the running nodes and starts no new ones. Every node's
 * promise is awaited before returning, so nothing is left running behind the caller's back.
 * Bookkeeping is linear in nodes plus edges: a whole crawl is a few hundred thousand tasks.
 */
export async function runDag(nodes: readonly DagNode[], opts: { concurrency: number; signal: AbortSignal; shuffleSeed?: number }): Promise<DagOutcome> {
  if (!Number.isInteger(opts.concurrency) || opts.concurrency < 1) {
    throw new ReingestError('REINGEST_E_USAGE', `expected --concurrency to be an integer >= 1, got ${opts.concurrency}`);
  }
  const { dependents, waiting } = graphOf(nodes);
  assertAcyclic(nodes, dependents);

  const inner = new AbortController();
  // Every running stage (HTTP body, gunzip pipeline, file streams) listens on this one signal.
  setMaxListeners(Math.max(10, opts.concurrency * 16), inner.signal);
  const onOuterAbort = () => inner.abort(opts.signal.reason);
  if (opts.signal.aborted) onOuterAbort();
  else opts.signal.addEventListener('abort', onOuterAbort, { once: true });

  const failures: { id: string; error: unknown }[] = [];
  // A node readied by one that finished goes to the front: a segment's follow-up (its summary) runs next
  // to the chains still going instead of after all of them, so less is left for the end.
  const ready = new ReadyStack();
  let active = 0;
  let idle!: () => void;
  const finished = new Promise<void>((resolve) => (idle = resolve));

  const runNode = async (i: number): Promise<void> => {
    const node = nodes[i]!;
    try {
      await node.run(inner.signal);
    } catch (error) {
      // A node that throws after the run was stopped is reporting the stop, not a failure of its own.
      if (inner.signal.aborted) return;
      failures.push({ id: node.id, error });
      inner.abort(error);
      return;
    }
    const readied: number[] = [];
    for (const next of dependents[i]!) if (--waiting[next]! === 0) readied.push(next);
    ready.pushFront(order(readied));
  };

  const pump = (): void => {
    while (active < opts.concurrency && !ready.empty && !inner.signal.aborted) {
      active++;
      void runNode(ready.take()!).finally(() => {
        active--;
        pump();
      });
    }
    // Nothing runs and nothing more can start: every started node's promise has settled.
    if (active === 0) idle();
  };

  // With a seed, ready nodes start in a shuffled (seeded) order: a missing dependency or an output that
  // depends on completion order then shows up as a different root instead of hiding behind luck.
  const order = (ids: number[]): number[] => (opts.shuffleSeed === undefined ? ids : shuffled(ids, opts.shuffleSeed));
  const roots: number[] = [];
  nodes.forEach((n, i) => n.deps.length === 0 && roots.push(i));
  ready.pushFront(order(roots));
  pump();
  await finished;
  opts.signal.removeEventListener('abort', onOuterAbort);

  if (failures.length > 0) return { status: 'failed', failures };
  if (opts.signal.aborted) return { status: 'aborted', reason: opts.signal.reason };
  return { status: 'done' };
}

/** Dependents in node order, as positions: a dep's list grows by push, never by copying. */
function graphOf(nodes: readonly DagNode[]): Graph {
  const position = new Map<string, number>();
  nodes.forEach((n, i) => position.set(n.id, i));
  if (position.size !== nodes.length) throw new Error('Internal error: duplicate DAG node ids');
  const dependents: number[][] = nodes.map(() => []);
  const waiting = new Int32Array(nodes.length);
  nodes.forEach((n, i) => {
    waiting[i] = n.deps.length;
    for (const d of n.deps) {
      const at = position.get(d);
      if (at === undefined) throw new Error(`Internal error: node ${n.id} depends on unknown node ${d}`);
      dependents[at]!.push(i);
    }
  });
  return { dependents, waiting };
}

function assertAcyclic(nodes: readonly DagNode[], dependents: readonly (readonly number[])[]): void {
  const indeg = Int32Array.from(nodes, (n) => n.deps.length);
  const stack: number[] = [];
  indeg.forEach((d, i) => d === 0 && stack.push(i));
  let seen = 0;
  while (stack.length > 0) {
    const i = stack.pop()!;
    seen++;
    for (const d of dependents[i]!) if (--indeg[d]! === 0) stack.push(d);
  }
  if (seen !== nodes.length) {
    const stuck = nodes.filter((_, i) => indeg[i]! > 0).map((n) => n.id);
    throw new Error(`Internal error: the task graph has a cycle through ${stuck.slice(0, 5).join(', ')}`);
  }
}

function shuffled<T>(ids: readonly T[], seed: number): T[] {
  const out = [...ids];
  let s = seed >>> 0;
  for (let i = out.length - 1; i > 0; i--) {
    s = (Math.imul(s ^ (s >>> 15), 0x2c1b3c6d) + 0x6d2b79f5) >>> 0;
    const j = s % (i + 1);
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}
