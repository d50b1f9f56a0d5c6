import { setTimeout as sleep } from 'node:timers/promises';
import t from 'tap';
import { runDag, type DagNode } from '../runner/scheduler.ts';

const node = (id: string, deps: string[], run: (signal: AbortSignal) => Promise<void>): DagNode => ({ id, deps, run });

t.test('never runs more than `concurrency` nodes at once, and runs them all', async (t) => {
  let active = 0;
  let peak = 0;
  const ran: string[] = [];
  const nodes = Array.from({ length: 12 }, (_, i) =>
    node(`n${i}`, [], async () => {
      active++;
      peak = Math.max(peak, active);
      await sleep(5 + (i % 3) * 5);
      active--;
      ran.push(`n${i}`);
    }),
  );
  const out = await runDag(nodes, { concurrency: 3, signal: new AbortController().signal });
  t.same(out, { status: 'done' });
  t.equal(peak, 3);
  t.equal(ran.length, 12);
});

t.test('a node starts only after all its deps finished', async (t) => {
  const finished = new Set<string>();
  const order: string[] = [];
  const mk = (id: string, deps: string[], ms: number) =>
    node(id, deps, async () => {
      for (const d of deps) t.ok(finished.has(d), `${id} after ${d}`);
      await sleep(ms);
      finished.add(id);
      order.push(id);
    });
  const out = await runDag([mk('agg', ['a', 'b', 'c'], 1), mk('a', [], 20), mk('b', [], 1), mk('c', ['b'], 5)], { concurrency: 4, signal: new AbortController().signal });
  t.equal(out.status, 'done');
  t.equal(order.at(-1), 'agg');
});

t.test('the first failure aborts running nodes and starts no new ones', async (t) => {
  let sawAbort = false;
  let lateStarted = false;
  const boom = new Error('boom');
  const nodes = [
    node('slow', [], async (signal) => {
      await sleep(1000, undefined, { signal }).catch(() => (sawAbort = true));
      signal.throwIfAborted();
    }),
    node('bad', [], async () => {
      await sleep(5);
      throw boom;
    }),
    node('late', ['bad'], async () => {
      lateStarted = true;
    }),
    node('queued', [], async () => {
      lateStarted = true;
    }),
  ];
  const out = await runDag(nodes, { concurrency: 2, signal: new AbortController().signal });
  t.equal(out.status, 'failed');
  t.same(out.status === 'failed' && out.failures.map((f) => f.id), ['bad'], 'only the real failure is reported');
  t.ok(sawAbort, 'the running node saw the abort');
  t.notOk(lateStarted, 'nothing started after the failure');
});

t.test('an outer abort stops the run and reports it as aborted', async (t) => {
  const ac = new AbortController();
  setTimeout(() => ac.abort(new Error('SIGINT')), 10);
  const out = await runDag([node('a', [], (signal) => sleep(2000, undefined, { signal }))], { concurrency: 1, signal: ac.signal });
  t.equal(out.status, 'aborted');
});

t.test('cycles, unknown deps and bad concurrency are refused', async (t) => {
  const noop = async () => {};
  const signal = new AbortController().signal;
  await t.rejects(runDag([node('a', ['b'], noop), node('b', ['a'], noop)], { concurrency: 1, signal }), /cycle/);
  await t.rejects(runDag([node('a', ['zz'], noop)], { concurrency: 1, signal }), /unknown node zz/);
  await t.rejects(runDag([node('a', [], noop)], { concurrency: 0, signal }), { code: 'REINGEST_E_USAGE' });
});

t.test('a shuffle seed changes the start order, reproducibly, and still respects deps', async (t) => {
  const orderFor = async (seed?: number) => {
    const started: string[] = [];
    const nodes = Array.from({ length: 8 }, (_, i) => node(`n${i}`, i === 7 ? ['n0'] : [], async () => void started.push(`n${i}`)));
    await runDag(nodes, { concurrency: 1, signal: new AbortController().signal, ...(seed === undefined ? {} : { shuffleSeed: seed }) });
    return started;
  };
  const plain = await orderFor();
  t.same(plain, ['n0', 'n7', 'n1', 'n2', 'n3', 'n4', 'n5', 'n6'], 'n7, readied by n0, goes before the roots still waiting');
  const a = await orderFor(7);
  t.same(await orderFor(7), a, 'same seed, same order');
  t.same(a, ['n4', 'n0', 'n7', 'n1', 'n2', 'n6', 'n5', 'n3'], 'seed 7 gives the order it always gave');
  t.notSame(a, plain, 'a different order');
  t.ok(a.indexOf('n7') > a.indexOf('n0'), 'deps still respected');
});

/**
 * The ready order as a plain array: roots in node order; when a node finishes, the dependents it readied
 * (in node order) go to the front as one batch; the next node to start is the front one.
 */
function referenceOrder(nodes: readonly { id: string; deps: string[] }[]): string[] {
  const waiting = new Map(nodes.map((n) => [n.id, n.deps.length]));
  const ready = nodes.filter((n) => n.deps.length === 0).map((n) => n.id);
  const started: string[] = [];
  while (ready.length > 0) {
    const id = ready.shift()!;
    started.push(id);
    const readied: string[] = [];
    for (const n of nodes) {
      if (!n.deps.includes(id)) continue;
      const left = waiting.get(n.id)! - n.deps.filter((d) => d === id).length;
      waiting.set(n.id, left);
      if (left === 0) readied.push(n.id);
    }
    ready.unshift(...readied);
  }
  return started;
}

t.test('one at a time, nodes start in the reference order: newly readied batches first, each in node order', async (t) => {
  let s = 42;
  const rnd = (n: number) => ((s = (Math.imul(s, 1103515245) + 12345) >>> 0), s % n);
  for (let trial = 0; trial < 30; trial++) {
    const size = 3 + rnd(40);
    const specs = Array.from({ length: size }, (_, i) => ({ id: `n${i}`, deps: i === 0 ? [] : [...new Set(Array.from({ length: rnd(4) }, () => `n${rnd(i)}`))] }));
    // Node order is not topological order: the scheduler must not depend on it.
    for (let i = specs.length - 1; i > 0; i--) {
      const j = rnd(i + 1);
      [specs[i], specs[j]] = [specs[j]!, specs[i]!];
    }
    const started: string[] = [];
    const out = await runDag(
      specs.map((x) => node(x.id, x.deps, async () => void started.push(x.id))),
      { concurrency: 1, signal: new AbortController().signal },
    );
    t.equal(out.status, 'done');
    t.same(started, referenceOrder(specs), `trial ${trial}: ${size} nodes`);
  }
});
