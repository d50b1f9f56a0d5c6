import t from 'tap';
import { runDag, type DagNode } from '../runner/scheduler.ts';

/**
 * The whole-crawl DAG as run.ts builds it for the sample pipeline, with no-op tasks: per segment a
 * fetch+chain root and a dedup summary, one plan over every summary, per segment an apply of the plan,
 * then three aggregates over every apply. What is timed is the scheduler's own bookkeeping.
 */
function crawlShape(segments: number, run: (id: string) => Promise<void>): DagNode[] {
  const nodes: DagNode[] = [];
  const add = (id: string, deps: string[]): string => {
    nodes.push({ id, deps, run: () => run(id) });
    return id;
  };
  const chains = Array.from({ length: segments }, (_, i) => add(`segment:${i}`, []));
  const summaries = chains.map((c, i) => add(`summary:0:${i}`, [c]));
  const plan = add('global:0', summaries);
  const applies = chains.map((_, i) => add(`apply:0:${i}`, [plan]));
  for (let a = 0; a < 3; a++) add(`aggregate:${a}`, applies);
  return nodes;
}

// SCHED_SEGMENTS sets a smaller shape to measure how the time grows.
const SEGMENTS = Number(process.env.SCHED_SEGMENTS ?? 100_000);

t.test(`schedules a ${SEGMENTS}-segment crawl-shaped DAG of no-op tasks in seconds`, async (t) => {
  for (const shuffleSeed of [undefined, 7]) {
    let ran = 0;
    const nodes = crawlShape(SEGMENTS, async () => void ran++);
    const t0 = performance.now();
    const out = await runDag(nodes, { concurrency: 2, signal: new AbortController().signal, ...(shuffleSeed === undefined ? {} : { shuffleSeed }) });
    const ms = performance.now() - t0;
    t.comment(`${nodes.length} tasks, shuffle ${shuffleSeed ?? 'off'}: ${Math.round(ms)} ms`);
    t.same(out, { status: 'done' });
    t.equal(ran, nodes.length, 'every task ran once');
    // Generous for a loaded 2-core machine; quadratic bookkeeping takes minutes at this size.
    t.ok(ms < 20_000, `finished in ${Math.round(ms)} ms (bound 20000 ms)`);
  }
});
