import { rootOf, type Manifest, type ManifestTask } from './manifest.ts';

/**
 * Where two manifests of the same recipe part ways. Tasks are walked in DAG order (the manifest's own
 * order: list, then per segment its fetch and chain, then global steps, then aggregates), and within a
 * task its edges stage by stage, so the first divergence names the stage and segment where it began.
 */
export type DivergenceKind =
  /** Same task key, different bytes fetched: the pinned source changed upstream (or the mirror lies). */
  | 'source-changed'
  /** Same key (same recipe, same input digests), different output: a nondeterministic stage. */
  | 'nondeterministic'
  /** Different inputs: an upstream task already differed; not independently compared. */
  | 'upstream'
  /** Same inputs, different key: the recipe differs (stage version or params). */
  | 'recipe'
  /** A task one manifest has and the other lacks. */
  | 'missing'
  /** A manifest's recorded root is not the Merkle root of its own tasks (edited or corrupt). */
  | 'root';

export interface Divergence {
  readonly task: string;
  readonly kind: DivergenceKind;
  readonly segment?: { readonly index: number; readonly path: string };
  /** The first stage whose output edge differs, with both digests and record counts. */
  readonly stage?: string;
  readonly expected?: EdgeView;
  readonly found?: EdgeView;
  /** The first record that differs at that stage, when both per-record indexes could be read. */
  readonly record?: { readonly index: number; readonly offset: number; readonly expectedUrl?: string; readonly foundUrl?: string };
}

export interface EdgeView {
  readonly digest: string;
  readonly records?: number;
  readonly recordIndex?: string;
  readonly stored?: boolean;
}

export interface CompareReport {
  readonly same: boolean;
  readonly rootA: string;
  readonly rootB: string;
  readonly compared: number;
  readonly first: Divergence | null;
  readonly divergences: readonly Divergence[];
  /** Bitmask: 1 content differs from a pinned digest, or the recipe or a root differs; 2 nondeterministic stage; 4 a task or input is missing. */
  readonly exit: number;
}

export const EXIT_BITS = { pinned: 1, nondeterministic: 2, missing: 4 } as const;

/** Compares the tasks of b against a (the reference); `only` restricts the comparison to some task ids. */
export function compareManifests(a: Manifest, b: Manifest, only?: (t: ManifestTask) => boolean): CompareReport {
  const inB = new Map(b.tasks.map((t) => [t.id, t]));
  const divergences: Divergence[] = [];
  let compared = 0;
  for (const ta of a.tasks) {
    if (only && !only(ta)) continue;
    compared++;
    const tb = inB.get(ta.id);
    const segment = ta.segment ? { segment: ta.segment } : {};
    if (!tb) {
      divergences.push({ task: ta.id, kind: 'missing', ...segment });
      continue;
    }
    if (ta.key === tb.key && ta.output.digest === tb.output.digest) continue;
    const edge = firstEdgeDiff(ta, tb);
    const where = edge ? { stage: edge.stage, expected: edge.a, found: edge.b } : {};
    if (ta.key === tb.key) {
      divergences.push({ task: ta.id, kind: ta.kind === 'fetch' ? 'source-changed' : 'nondeterministic', ...segment, ...where });
    } else if (JSON.stringify(ta.inputs) !== JSON.stringify(tb.inputs)) {
      divergences.push({ task: ta.id, kind: 'upstream', ...segment, ...where });
    } else {
      divergences.push({ task: ta.id, kind: 'recipe', ...segment, ...where });
    }
  }
  // The root is what people quote: it must be the root of the tasks it claims to summarise.
  for (const [name, m] of [['a', a], ['b', b]] as const) {
    if (only && name === 'b') continue; // a sampled rebuild has fewer tasks: its own root is not comparable
    const actual = rootOf(m.tasks);
    if (actual !== m.root) divergences.push({ task: `root of ${name}`, kind: 'root', expected: { digest: actual }, found: { digest: m.root } });
  }
  if (!only && divergences.length === 0 && a.root !== b.root) divergences.push({ task: 'root', kind: 'root', expected: { digest: a.root }, found: { digest: b.root } });
  let exit = 0;
  for (const d of divergences) {
    if (d.kind === 'source-changed' || d.kind === 'root') exit |= EXIT_BITS.pinned;
    if (d.kind === 'nondeterministic') exit |= EXIT_BITS.nondeterministic;
    if (d.kind === 'missing') exit |= EXIT_BITS.missing;
  }
  if (divergences.length > 0 && exit === 0) exit |= EXIT_BITS.pinned;
  return { same: divergences.length === 0, rootA: a.root, rootB: b.root, compared, first: divergences[0] ?? null, divergences, exit };
}

function firstEdgeDiff(a: ManifestTask, b: ManifestTask) {
  for (let i = 0; i < Math.max(a.edges.length, b.edges.length); i++) {
    const ea = a.edges[i];
    const eb = b.edges[i];
    if (!ea || !eb || ea.digest !== eb.digest) {
      const view = (e: typeof ea): EdgeView =>
        e ? { digest: e.digest, stored: e.stored, ...(e.records === undefined ? {} : { records: e.records }), ...(e.recordIndex ? { recordIndex: e.recordIndex } : {}) } : { digest: '(none)' };
      return { stage: (ea ?? eb)!.stage, a: view(ea), b: view(eb) };
    }
  }
  return null;
}

/** One line per divergence, first one marked; for people. */
export function formatReport(r: CompareReport): string {
  if (r.same) return `same: ${r.compared} tasks compared, every edge digest matches\n`;
  const lines = [`DIFFERENT: ${r.divergences.length} of ${r.compared} compared tasks diverge`];
  for (const [i, d] of r.divergences.entries()) {
    const seg = d.segment ? ` segment ${d.segment.index} (${d.segment.path})` : '';
    const stage = d.stage && d.kind !== 'root' ? ` at stage ${d.stage}: expected ${d.expected!.digest}${d.expected!.records === undefined ? '' : ` (${d.expected!.records} records)`}, found ${d.found!.digest}${d.found!.records === undefined ? '' : ` (${d.found!.records} records)`}` : '';
    const why = {
      'source-changed': 'the source bytes differ from the pinned digest (moved upstream?)',
      nondeterministic: 'same inputs, different output: NONDETERMINISTIC',
      upstream: 'its inputs already differed (upstream change)',
      recipe: 'same inputs, different recipe (stage version or params)',
      missing: 'missing from the rebuilt manifest',
      root: `the recorded root ${d.found?.digest} is not the root of the tasks (${d.expected?.digest}): the manifest was edited or is corrupt`,
    }[d.kind];
    lines.push(`${i === 0 ? '-> FIRST ' : '   '}${d.task}${seg}${stage} — ${why}`);
    if (d.record) {
      const urls = d.record.expectedUrl || d.record.foundUrl ? ` (expected ${d.record.expectedUrl ?? '?'}, found ${d.record.foundUrl ?? '?'})` : '';
      lines.push(`         first differing record: #${d.record.index} at byte ${d.record.offset} of the stage's canonical stream${urls}`);
    }
  }
  const bits = [r.exit & 1 ? '1: content, recipe or root differs' : '', r.exit & 2 ? '2: nondeterministic' : '', r.exit & 4 ? '4: missing' : ''].filter(Boolean);
  lines.push(`exit ${r.exit} (${bits.join('; ')})`);
  return `${lines.join('\n')}\n`;
}
