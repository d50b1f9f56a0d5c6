import type { Digest } from '../cache/digest.ts';
import { ObjectStore } from '../cache/store.ts';
import { guard, lookup, type ExecEnv } from './exec-common.ts';
import { EMPTY_DROP_LIST, readPlan } from './exec-global.ts';
import { runList } from './exec-list.ts';
import { aggregatePreimage, chainPreimage, fetchPreimage, globalApplyPreimage, globalPlanPreimage, globalSummaryPreimage, type KeyPreimage } from './keys.ts';
import { withMirror } from './local-mirror.ts';
import type { RunOptions } from './run.ts';
import type { ResolvedPipeline } from './spec.ts';
import type { GlobalStage } from './stage.ts';

export interface PlannedTask {
  readonly id: string;
  readonly kind: KeyPreimage['kind'];
  /** Null when the key depends on content not known yet (a segment never fetched into this cache). */
  readonly key: Digest | null;
  readonly cached: boolean;
}

/**
 * The DAG with each task's key and whether the cache holds it. Runs nothing but the listing task (small,
 * and itself cached). Chain keys need the raw segment's digest, known only once a segment was fetched.
 */
export async function planPipeline(p: ResolvedPipeline, opts: Pick<RunOptions, 'cacheDir' | 'signal' | 'log'>): Promise<PlannedTask[]> {
  const store = new ObjectStore(opts.cacheDir);
  await store.init();
  return withMirror(p.mirror, async (mirror) => {
    const env: ExecEnv = { store, mirror, log: opts.log, emit: () => {} };
    const list = await guard('list', () => runList(env, p, opts.signal));
    const planned: PlannedTask[] = [{ id: 'list', kind: 'list', key: list.result.key, cached: list.cached }];
    const [fetchStep, ...chainSteps] = p.segment;
    const outputs: (Digest | null)[] = [];
    for (const seg of list.list.segments) {
      const fetch = await lookup(env, fetchPreimage(fetchStep!, list.list.listing.sha256, seg.path), { verify: false });
      planned.push({ id: `fetch:${seg.index}`, kind: 'fetch', key: fetch.key, cached: fetch.hit !== null });
      if (!fetch.hit) {
        planned.push({ id: `segment:${seg.index}`, kind: 'chain', key: null, cached: false });
        outputs.push(null);
        continue;
      }
      const chain = await lookup(env, chainPreimage(chainSteps, fetch.hit.output.digest), { verify: false });
      planned.push({ id: `segment:${seg.index}`, kind: 'chain', key: chain.key, cached: chain.hit !== null });
      outputs.push(chain.hit?.output.digest ?? null);
    }
    let current = outputs;
    for (const [g, step] of p.global.entries()) {
      let planInputs = current;
      if ((step.stage as GlobalStage).summarize) {
        planInputs = [];
        for (const [i, seg] of list.list.segments.entries()) {
          const input = current[i] ?? null;
          const summary = input ? await lookup(env, globalSummaryPreimage(step, input), { verify: false }) : null;
          planned.push({ id: `summary:${g}:${seg.index}`, kind: 'global-summary', key: summary?.key ?? null, cached: summary?.hit != null });
          planInputs.push(summary?.hit?.output.digest ?? null);
        }
      }
      const known = planInputs.every((o): o is Digest => o !== null);
      const plan = known ? await lookup(env, globalPlanPreimage(step, planInputs as Digest[]), { verify: false }) : null;
      planned.push({ id: `global:${g}`, kind: 'global-plan', key: plan?.key ?? null, cached: plan?.hit != null });
      // An apply is keyed by its segment's own drop list, which only the stored plan object names.
      const drops = plan?.hit ? await readPlan(env, plan.hit.output.digest, opts.signal) : null;
      const next: (Digest | null)[] = [];
      for (const [i, seg] of list.list.segments.entries()) {
        const input = current[i] ?? null;
        const apply = input && drops ? await lookup(env, globalApplyPreimage(step, input, drops.get(seg.index) ?? EMPTY_DROP_LIST), { verify: false }) : null;
        planned.push({ id: `apply:${g}:${seg.index}`, kind: 'global-apply', key: apply?.key ?? null, cached: apply?.hit != null });
        next.push(apply?.hit?.output.digest ?? null);
      }
      current = next;
    }
    for (const [i, step] of p.aggregate.entries()) {
      const known = current.every((o): o is Digest => o !== null);
      const agg = known ? await lookup(env, aggregatePreimage(step, current as Digest[]), { verify: false }) : null;
      planned.push({ id: `aggregate:${i}`, kind: 'aggregate', key: agg?.key ?? null, cached: agg?.hit != null });
    }
    return planned;
  });
}
