import type { Manifest } from '../runner/manifest.ts';
import type { RunRecord } from '../runner/run-record.ts';

/**
 * What the run report shows, computed from a manifest alone (so a third party can report on a dataset
 * they did not build). Counts come from the manifest; timings from the run record of the run that computed
 * the data, when the cache holds it (a dataset someone else built has none).
 */
export interface FunnelRow {
  readonly stage: string;
  /** Records leaving the stage, summed over segments. */
  readonly records: number;
  readonly drops: readonly { readonly reason: string; readonly n: number }[];
}

export interface ReportData {
  readonly name: string;
  readonly root: string;
  readonly tool: string;
  readonly chain: readonly string[];
  readonly global: readonly string[];
  readonly aggregates: readonly { readonly stage: string; readonly output: string }[];
  readonly funnel: readonly FunnelRow[];
  readonly tokens: { readonly documents: number; readonly tokens: number; readonly output: string } | null;
  readonly languages: readonly { readonly lang: string; readonly n: number }[];
  readonly shards: readonly { readonly output: string; readonly file: string; readonly tokens: number; readonly documents: number }[];
  readonly stages: readonly { readonly stage: string; readonly ms: number; readonly records: number | null; readonly bytes: number | null }[];
  readonly listing: Manifest['inputs']['listing'];
  readonly segments: Manifest['inputs']['segments'];
  readonly outputs: Manifest['outputs'];
  readonly facts: RunRecord | null;
}

function sortedEntries(o: Record<string, number>): [string, number][] {
  // Byte order, not locale order: the report must read the same everywhere.
  return Object.entries(o).sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
}

export function reportData(m: Manifest, run: RunRecord | undefined): ReportData {
  const chains = m.tasks.filter((t) => t.kind === 'chain');
  const chainStages = m.pipeline.segment.slice(1).map((s) => s.stage);
  const funnel: FunnelRow[] = chainStages.map((stage, i) => {
    const drops: Record<string, number> = {};
    let records = 0;
    for (const c of chains) {
      const e = c.edges[i];
      if (!e) continue;
      records += e.records ?? 0;
      for (const [reason, n] of Object.entries(e.counters?.drops ?? {})) drops[reason] = (drops[reason] ?? 0) + n;
    }
    return { stage, records, drops: sortedEntries(drops).map(([reason, n]) => ({ reason, n })) };
  });
  m.pipeline.global.forEach((g, gi) => {
    const applies = m.tasks.filter((t) => t.kind === 'global-apply' && t.id.startsWith(`apply:${gi}:`));
    const drops: Record<string, number> = {};
    for (const a of applies) for (const [reason, n] of Object.entries(a.output.counters?.drops ?? {})) drops[reason] = (drops[reason] ?? 0) + n;
    funnel.push({ stage: g.stage, records: applies.reduce((n, a) => n + (a.output.records ?? 0), 0), drops: sortedEntries(drops).map(([reason, n]) => ({ reason, n })) });
  });

  const languages: Record<string, number> = {};
  for (const c of chains) {
    for (const e of c.edges) {
      for (const [k, n] of Object.entries(e.counters?.counts ?? {})) if (k.startsWith('lang-')) languages[k.slice(5)] = (languages[k.slice(5)] ?? 0) + n;
    }
  }

  const shards = m.outputs
    .filter((o) => typeof o.facts?.tokens === 'number')
    .map((o) => ({ output: o.file.split('/')[0]!, file: o.file, tokens: o.facts!.tokens as number, documents: o.facts!.documents as number }))
    // One file per shard: Megatron's .idx repeats its .bin's facts.
    .filter((s) => !s.file.endsWith('.idx'));
  const firstShardOutput = shards[0]?.output;
  const mine = shards.filter((s) => s.output === firstShardOutput);
  const tokens = firstShardOutput === undefined ? null : { output: firstShardOutput, tokens: mine.reduce((n, s) => n + s.tokens, 0), documents: mine.reduce((n, s) => n + s.documents, 0) };

  const recordsOut: Record<string, number> = {};
  for (const row of funnel) recordsOut[row.stage] = row.records;
  const fetched = m.inputs.segments.reduce((n, s) => n + s.size, 0);
  const fetchStage = m.pipeline.segment[0]?.stage;
  const stages = sortedEntries({ ...(run?.stageMs ?? {}) }).map(([stage, ms]) => ({
    stage,
    ms,
    records: recordsOut[stage] ?? null,
    bytes: stage === fetchStage ? fetched : null,
  }));

  return {
    name: m.pipeline.name,
    root: m.root,
    tool: run ? `${run.tool.name} ${run.tool.version}` : 'reingest',
    chain: m.pipeline.segment.map((s) => s.stage),
    global: m.pipeline.global.map((s) => s.stage),
    aggregates: m.pipeline.aggregate.map((a) => ({ stage: a.stage, output: a.output })),
    funnel,
    tokens,
    languages: sortedEntries(languages).map(([lang, n]) => ({ lang, n })),
    shards,
    stages,
    listing: m.inputs.listing,
    segments: m.inputs.segments,
    outputs: m.outputs,
    facts: run ?? null,
  };
}
