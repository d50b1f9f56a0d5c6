import { isDigest } from '../cache/digest.ts';

/**
 * What is wrong with a value that claims to be an Edge, or null. One check for every reader of edges:
 * manifests (runner/manifest-read.ts) and action entries from a local, shared or remote cache
 * (runner/task-result.ts). Every digest must be a digest, so none can name a path outside the cache.
 */
export function edgeProblem(v: unknown, field: string): string | null {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return `${field}: expected an object`;
  const e = v as Record<string, unknown>;
  for (const k of Object.keys(e)) if (!EDGE_FIELDS.has(k)) return `${field}.${k}: expected only the fields ${[...EDGE_FIELDS].join(', ')}`;
  if (typeof e.stage !== 'string') return `${field}.stage: expected a string`;
  if (!isDigest(e.digest)) return `${field}.digest: expected a digest (sha256: and 64 lowercase hex digits)`;
  if (!isCount(e.bytes)) return `${field}.bytes: expected an integer >= 0`;
  if (e.records !== undefined && !isCount(e.records)) return `${field}.records: expected an integer >= 0`;
  if (typeof e.stored !== 'boolean') return `${field}.stored: expected true or false`;
  for (const d of ['recordsRoot', 'recordIndex', 'exclusions'] as const) if (e[d] !== undefined && !isDigest(e[d])) return `${field}.${d}: expected a digest`;
  if (e.counters !== undefined) {
    const c = e.counters as Record<string, unknown>;
    if (typeof c !== 'object' || c === null || Object.keys(c).some((k) => k !== 'drops' && k !== 'counts')) return `${field}.counters: expected {drops, counts}`;
    for (const part of ['drops', 'counts'] as const) {
      const m = c[part];
      if (typeof m !== 'object' || m === null || Array.isArray(m) || !Object.values(m).every(isCount)) return `${field}.counters.${part}: expected a map of integers >= 0`;
    }
  }
  return null;
}

const EDGE_FIELDS = new Set(['stage', 'digest', 'bytes', 'records', 'stored', 'counters', 'recordsRoot', 'recordIndex', 'exclusions']);

function isCount(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}
