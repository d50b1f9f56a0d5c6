import { ReingestError } from './errors.ts';

/**
 * Small validators for specs and stage params. Each names the field path, what was expected and what came,
 * so a bad spec reads: `pipelines/x.json: segment[2].params.minChars: expected an integer >= 0, got "ten"`.
 */
export class SpecError extends ReingestError {
  constructor(field: string, expected: string, got: unknown, hint?: string) {
    super(
      'REINGEST_E_SPEC',
      `${field}: expected ${expected}, got ${describe(got)}${hint ? `; ${hint}` : ''}`,
      { where: field },
    );
  }
}

export function describe(v: unknown): string {
  if (v === undefined) return 'nothing';
  if (typeof v === 'string') return JSON.stringify(v.length > 80 ? `${v.slice(0, 77)}...` : v);
  if (Array.isArray(v)) return `an array of ${v.length}`;
  if (v === null) return 'null';
  if (typeof v === 'object') return `an object with keys ${JSON.stringify(Object.keys(v).slice(0, 8))}`;
  return `${typeof v} ${String(v)}`;
}

export type Obj = Record<string, unknown>;

export function object(v: unknown, field: string, allowed?: readonly string[]): Obj {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new SpecError(field, 'an object', v);
  if (allowed) {
    for (const k of Object.keys(v)) {
      if (!allowed.includes(k)) {
        throw new SpecError(`${field}.${k}`, `one of the fields ${allowed.join(', ')}`, k, closest(k, allowed));
      }
    }
  }
  return v as Obj;
}

export function string(v: unknown, field: string, opts: { pattern?: RegExp; what?: string } = {}): string {
  if (typeof v !== 'string') {
    // Ratios and thresholds are decimal strings so that no float ever reaches hashed material.
    const hint = typeof v === 'number' ? `write it in quotes: "${String(v)}" (numbers that are not whole are strings in reingest specs)` : undefined;
    throw new SpecError(field, opts.what ?? 'a string', v, hint);
  }
  if (v.normalize('NFC') !== v) throw new SpecError(field, 'an NFC-normalized string', v, 'normalize it to NFC');
  if (opts.pattern && !opts.pattern.test(v)) throw new SpecError(field, opts.what ?? `a string matching ${opts.pattern}`, v);
  return v;
}

export function optionalString(v: unknown, field: string, opts: { pattern?: RegExp; what?: string } = {}): string | undefined {
  return v === undefined ? undefined : string(v, field, opts);
}

export function integer(v: unknown, field: string, min = 0, max = Number.MAX_SAFE_INTEGER): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min || v > max) {
    throw new SpecError(field, `an integer from ${min} to ${max}`, v, typeof v === 'number' ? 'hashed params allow no fractions' : undefined);
  }
  return v;
}

export function optionalInteger(v: unknown, field: string, dflt: number, min = 0, max = Number.MAX_SAFE_INTEGER): number {
  return v === undefined ? dflt : integer(v, field, min, max);
}

export function boolean(v: unknown, field: string, dflt: boolean): boolean {
  if (v === undefined) return dflt;
  if (typeof v !== 'boolean') throw new SpecError(field, 'true or false', v);
  return v;
}

export function array(v: unknown, field: string): unknown[] {
  if (!Array.isArray(v)) throw new SpecError(field, 'an array', v);
  return v;
}

/** Suggests the closest valid name when a user misspells one. */
export function closest(got: string, valid: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDist = Infinity;
  for (const name of valid) {
    const d = editDistance(got, name);
    if (d < bestDist) {
      bestDist = d;
      best = name;
    }
  }
  return best !== undefined && bestDist <= Math.max(2, Math.floor(best.length / 3)) ? `did you mean ${JSON.stringify(best)}?` : undefined;
}

function editDistance(a: string, b: string): number {
  const prev = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0]!;
    prev[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = prev[j]!;
      prev[j] = Math.min(prev[j]! + 1, prev[j - 1]! + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = tmp;
    }
  }
  return prev[b.length]!;
}
