import { createHash } from 'node:crypto';
import { v } from '../../runner/stage.ts';

/**
 * Which entries of a listing a run takes, deterministically and as part of the spec (so of the key):
 *   1. `ranges` (inclusive, e.g. "0..9", "42"): the candidates, in listing order (default: all);
 *   2. `start`/`every`: every k-th candidate from the start-th;
 *   3. `sample` with `seed`: that many of them, chosen by sha256(seed:index) — the same on every machine;
 *   4. `count`: at most this many, the first ones.
 */
export interface Selection {
  readonly ranges?: readonly string[];
  readonly start: number;
  readonly every: number;
  readonly sample?: number;
  readonly seed?: string;
  readonly count: number;
}

const RANGE_RE = /^(\d+)(?:\.\.(\d+))?$/;

export function parseSelection(raw: unknown, field: string): Selection {
  const o = v.object(raw ?? {}, field, ['ranges', 'start', 'every', 'sample', 'seed', 'count']);
  const ranges = o.ranges === undefined ? undefined : v.array(o.ranges, `${field}.ranges`).map((r, i) => {
    const s = v.string(r, `${field}.ranges[${i}]`, { pattern: RANGE_RE, what: 'a range such as "0..9" or a single index "42"' });
    const m = RANGE_RE.exec(s)!;
    if (m[2] !== undefined && Number(m[2]) < Number(m[1])) throw new v.SpecError(`${field}.ranges[${i}]`, 'a range whose end is not below its start', s);
    return s;
  });
  const sample = o.sample === undefined ? undefined : v.integer(o.sample, `${field}.sample`, 1);
  const seed = v.optionalString(o.seed, `${field}.seed`);
  if (sample !== undefined && seed === undefined) throw new v.SpecError(`${field}.seed`, 'a seed string whenever sample is set (so the sample is reproducible)', undefined);
  return {
    ...(ranges ? { ranges } : {}),
    start: v.optionalInteger(o.start, `${field}.start`, 0),
    every: v.optionalInteger(o.every, `${field}.every`, 1, 1),
    ...(sample !== undefined ? { sample, seed } : {}),
    count: v.optionalInteger(o.count, `${field}.count`, Number.MAX_SAFE_INTEGER, 1),
  };
}

/** `--segments` syntax: "0..9", "0..9,100..109", "every=1000", "sample=5,seed=7", "start=3,every=10,count=4". */
export function selectionFromFlag(text: string): Selection {
  const raw: Record<string, unknown> = {};
  const ranges: string[] = [];
  for (const part of text.split(',').map((p) => p.trim()).filter(Boolean)) {
    const kv = /^(start|every|sample|seed|count)=(.+)$/.exec(part);
    if (kv) raw[kv[1]!] = kv[1] === 'seed' ? kv[2] : /^\d+$/.test(kv[2]!) ? Number(kv[2]) : kv[2];
    else ranges.push(part);
  }
  if (ranges.length > 0) raw.ranges = ranges;
  return parseSelection(raw, '--segments');
}

export function applySelection(total: number, sel: Selection): number[] {
  let candidates: number[] = [];
  if (sel.ranges) {
    const seen = new Set<number>();
    for (const r of sel.ranges) {
      const m = RANGE_RE.exec(r)!;
      const lo = Number(m[1]);
      const hi = Math.min(total - 1, m[2] === undefined ? lo : Number(m[2]));
      for (let i = lo; i <= hi; i++) seen.add(i);
    }
    candidates = [...seen].sort((a, b) => a - b);
  } else {
    candidates = Array.from({ length: total }, (_, i) => i);
  }
  let picked = candidates.filter((_, k) => k >= sel.start && (k - sel.start) % sel.every === 0);
  if (sel.sample !== undefined) {
    const rank = (i: number) => createHash('sha256').update(`${sel.seed}:${i}`).digest('hex');
    picked = picked
      .map((i) => [rank(i), i] as const)
      .sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
      .slice(0, sel.sample)
      .map(([, i]) => i)
      .sort((a, b) => a - b);
  }
  return picked.slice(0, sel.count);
}

/**
 * A range reaching past the listing is refused rather than clamped: "0..20" over 8 files would silently
 * mean "0..7" under another key, giving another root for the same data.
 */
export function rangePastEnd(total: number, sel: Selection): string | undefined {
  for (const r of sel.ranges ?? []) {
    const m = RANGE_RE.exec(r)!;
    if (Number(m[2] ?? m[1]) >= total) return `the range "${r}" reaches past the last of the ${total} listed (index ${total - 1}); use ${Number(m[1]) < total ? `"${m[1]}..${total - 1}"` : 'a range inside it'}`;
  }
  return undefined;
}
