import { canonicalJson } from './canonical-json.ts';

/** The first field (a dotted path) where two JSON values differ, with both sides shortened. */
export function firstDifference(a: unknown, b: unknown, field: string): { field: string; a: string; b: string } | null {
  if (a === undefined || b === undefined) {
    if (a === b) return null;
  } else if (canonicalJson(a) === canonicalJson(b)) return null;
  if (typeof a === 'object' && a !== null && typeof b === 'object' && b !== null && Array.isArray(a) === Array.isArray(b)) {
    for (const k of [...new Set([...Object.keys(a), ...Object.keys(b)])].sort()) {
      const d = firstDifference((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k], Array.isArray(a) ? `${field}[${k}]` : `${field}.${k}`);
      if (d) return d;
    }
  }
  const show = (v: unknown) => (v === undefined ? 'nothing' : JSON.stringify(v).slice(0, 120));
  return { field, a: show(a), b: show(b) };
}
