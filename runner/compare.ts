import { canonicalJson } from './canonical-json.ts';
import { firstDifference } from './json-diff.ts';
import type { Manifest, ManifestTask } from './manifest.ts';
import type { Edge } from './task-result.ts';

/**
 * Where two manifests part ways. Both were read by parseManifest, so each one's root commits to all of
 * its fields; two equal roots are the same dataset. Otherwise the recipe, the pinned inputs and every
 * task are compared field by field — every edge's digest, record count, records root and counters, not
 * only task outputs — and each divergence is labelled by what it means.
 */
export type DivergenceKind =
  /** Same task key, different bytes fetched, or another pinned input: the source changed (or the mirror lies). */
  | 'source-changed'
  /** Same key (same recipe, same input digests), a different edge or output: a nondeterministic stage. */
  | 'nondeterministic'
  /** Different inputs: an upstream task already differed; not independently compared. */
  | 'upstream'
  /** The recipe differs: the pipeline section, or a task with the same inputs under another key. */
  | 'recipe'
  /** A task (or pinned segment) one manifest has and the other lacks. */
  | 'missing'
  /** A task whose recorded inputs are not what its key commits to: the manifest was forged and re-rooted. */
  | 'tampered';

export interface Divergence {
  readonly task: string;
  readonly kind: DivergenceKind;
  readonly segment?: { readonly index: number; readonly path: string };
  /** The first stage whose edge differs, with both sides. */
  readonly stage?: string;
  /** The first differing field of that edge (digest, records, counters.drops.short, ...) or of the recipe. */
  readonly field?: string;
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
  /** The differing field's value on this side, when it is not the digest. */
  readonly value?: string;
}

export interface CompareReport {
  readonly same: boolean;
  readonly rootA: string;
  readonly rootB: string;
  readonly compared: number;
  readonly first: Divergence | null;
  readonly divergences: readonly Divergence[];
  /** Bitmask of EXIT_BITS over the divergences (0 when same). */
  readonly exit: number;
}

/**
 * Exit bits of `verify` and `compare`, one per kind of divergence (docs/verify.md). A manifest that cannot
 * be read is bit 16, one whose fields do not match its root bit 32 (cli/prove.ts).
 */
export const EXIT_BITS = { source: 1, nondeterministic: 2, missing: 4, recipe: 8, unreadable: 16, tampered: 32 } as const;

const BIT: Record<DivergenceKind, number> = {
  'source-changed': EXIT_BITS.source,
  nondeterministic: EXIT_BITS.nondeterministic,
  missing: EXIT_BITS.missing,
  recipe: EXIT_BITS.recipe,
  tampered: EXIT_BITS.tampered,
  upstream: 0,
};

export interface CompareScope {
  /** Compare only these tasks (a sampled rebuild: its list and whole-run tasks see fewer segments). */
  readonly task: (t: ManifestTask) => boolean;
  /** Compare only these pinned segments (by list index). */
  readonly segment: (index: number) => boolean;
}

/** Compares b against a (the reference). */
export function compareManifests(a: Manifest, b: Manifest, scope?: CompareScope): CompareReport {
  const divergences: Divergence[] = [];
  // A sampled rebuild narrows the source's selection on purpose; its recipe was checked when loaded.
  const recipe = scope ? null : firstDifference(a.pipeline, b.pipeline, 'pipeline');
  if (recipe) divergences.push({ task: 'pipeline', kind: 'recipe', field: recipe.field, expected: { digest: '', value: recipe.a }, found: { digest: '', value: recipe.b } });
  divergences.push(...compareInputs(a, b, scope));
  const inB = new Map(b.tasks.map((t) => [t.id, t]));
  let compared = 0;
  for (const ta of a.tasks) {
    if (scope && !scope.task(ta)) continue;
    compared++;
    const tb = inB.get(ta.id);
    inB.delete(ta.id);
    const d = tb ? compareTask(ta, tb) : { task: ta.id, kind: 'missing' as const, ...(ta.segment ? { segment: ta.segment } : {}) };
    if (d) divergences.push(d);
  }
  if (!scope) for (const tb of inB.values()) divergences.push({ task: tb.id, kind: 'missing', ...(tb.segment ? { segment: tb.segment } : {}) });
  let exit = 0;
  for (const d of divergences) exit |= BIT[d.kind];
  // Roots commit to every field, so unequal roots with nothing named would be a bug in this comparison.
  if (!scope && divergences.length === 0 && a.root !== b.root) throw new Error(`Internal error: roots ${a.root} and ${b.root} differ but no field does`);
  if (divergences.length > 0 && exit === 0) exit = EXIT_BITS.source;
  return { same: divergences.length === 0, rootA: a.root, rootB: b.root, compared, first: divergences[0] ?? null, divergences, exit };
}

function compareInputs(a: Manifest, b: Manifest, scope?: CompareScope): Divergence[] {
  const out: Divergence[] = [];
  if (canonicalJson(a.inputs.listing) !== canonicalJson(b.inputs.listing)) {
    out.push({ task: 'inputs.listing', kind: 'source-changed', expected: { digest: a.inputs.listing.sha256 }, found: { digest: b.inputs.listing.sha256 } });
  }
  const inB = new Map(b.inputs.segments.map((s) => [s.index, s]));
  for (const sa of a.inputs.segments) {
    if (scope && !scope.segment(sa.index)) continue;
    const sb = inB.get(sa.index);
    const segment = { index: sa.index, path: sa.path };
    if (!sb) out.push({ task: `inputs.segments[${sa.index}]`, kind: 'missing', segment });
    else if (canonicalJson(sa) !== canonicalJson(sb)) out.push({ task: `inputs.segments[${sa.index}]`, kind: 'source-changed', segment, expected: { digest: sa.sha256 }, found: { digest: sb.sha256 } });
  }
  return out;
}

function compareTask(ta: ManifestTask, tb: ManifestTask): Divergence | null {
  if (canonicalJson(ta) === canonicalJson(tb)) return null;
  const segment = ta.segment ? { segment: ta.segment } : {};
  const edge = firstEdgeDiff(ta, tb);
  const where = edge ? { stage: edge.stage, field: edge.field, expected: edge.a, found: edge.b } : {};
  const sameInputs = canonicalJson(ta.inputs) === canonicalJson(tb.inputs);
  if (ta.key === tb.key) {
    // A key commits to the inputs: equal keys with other inputs means one manifest's task was rewritten.
    if (!sameInputs) return { task: ta.id, kind: 'tampered', ...segment, field: 'inputs' };
    return { task: ta.id, kind: ta.kind === 'fetch' ? 'source-changed' : 'nondeterministic', ...segment, ...(edge ? where : { field: firstDifference(ta, tb, 'task')?.field ?? 'task' }) };
  }
  return { task: ta.id, kind: sameInputs ? 'recipe' : 'upstream', ...segment, ...where };
}

function view(e: Edge | undefined, field: string): EdgeView {
  if (!e) return { digest: '(none)' };
  const base = { digest: e.digest, stored: e.stored, ...(e.records === undefined ? {} : { records: e.records }), ...(e.recordIndex ? { recordIndex: e.recordIndex } : {}) };
  if (field === 'digest') return base;
  const value = field.split('.').reduce<unknown>((o, k) => (o as Record<string, unknown> | undefined)?.[k], e);
  return { ...base, value: value === undefined ? 'nothing' : JSON.stringify(value) };
}

/** The first edge, in stream order, that differs in any field, and that field. */
function firstEdgeDiff(a: ManifestTask, b: ManifestTask) {
  for (let i = 0; i < Math.max(a.edges.length, b.edges.length); i++) {
    const ea = a.edges[i];
    const eb = b.edges[i];
    const d = firstDifference(ea, eb, '');
    if (!d) continue;
    const field = !ea || !eb ? 'digest' : d.field.slice(1);
    return { stage: (ea ?? eb)!.stage, field, a: view(ea, field), b: view(eb, field) };
  }
  return null;
}

const WHY: Record<DivergenceKind, string> = {
  'source-changed': 'the source bytes differ from the pinned digest (moved upstream, or the mirror serves other bytes)',
  nondeterministic: 'same inputs and recipe, different result: NONDETERMINISTIC (or a forged manifest)',
  upstream: 'its inputs already differed (upstream change)',
  recipe: 'the recipe differs (stage, version or params)',
  missing: 'present in one manifest only',
  tampered: 'its recorded inputs are not what its key commits to: the manifest was forged',
};

/** One line per divergence, first one marked; for people. */
export function formatReport(r: CompareReport): string {
  if (r.same) return `same: root ${r.rootA}; ${r.compared} tasks compared, every edge, counter and output matches\n`;
  const lines = [`DIFFERENT: ${r.divergences.length} divergence(s) over ${r.compared} compared tasks`];
  for (const [i, d] of r.divergences.entries()) {
    const seg = d.segment ? ` segment ${d.segment.index} (${d.segment.path})` : '';
    lines.push(`${i === 0 ? '-> FIRST ' : '   '}${d.task}${seg}${describeWhere(d)} — ${WHY[d.kind]}`);
    if (d.record) {
      const urls = d.record.expectedUrl || d.record.foundUrl ? ` (expected ${d.record.expectedUrl ?? '?'}, found ${d.record.foundUrl ?? '?'})` : '';
      lines.push(`         first differing record: #${d.record.index} at byte ${d.record.offset} of the stage's canonical stream${urls}`);
    }
  }
  lines.push(`exit ${r.exit} (${exitMeaning(r.exit)})`);
  return `${lines.join('\n')}\n`;
}

function describeWhere(d: Divergence): string {
  const side = (v: EdgeView | undefined) => (v?.value !== undefined ? v.value : `${v?.digest}${v?.records === undefined ? '' : ` (${v.records} records)`}`);
  if (d.stage) return ` at stage ${d.stage}, ${d.field ?? 'digest'}: expected ${side(d.expected)}, found ${side(d.found)}`;
  if (d.field && d.expected) return ` ${d.field}: expected ${side(d.expected)}, found ${side(d.found)}`;
  if (d.field) return ` (${d.field})`;
  if (d.expected) return `: expected ${side(d.expected)}, found ${side(d.found)}`;
  return '';
}

export function exitMeaning(exit: number): string {
  const names: [number, string][] = [
    [EXIT_BITS.source, '1: source moved'],
    [EXIT_BITS.nondeterministic, '2: nondeterministic'],
    [EXIT_BITS.missing, '4: missing'],
    [EXIT_BITS.recipe, '8: recipe differs'],
    [EXIT_BITS.unreadable, '16: manifest unreadable'],
    [EXIT_BITS.tampered, '32: manifest tampered'],
  ];
  return names.filter(([bit]) => exit & bit).map(([, s]) => s).join('; ');
}
