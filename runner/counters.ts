import { compareUtf8 } from './canonical-json.ts';
import type { DataRecord } from './record-codec.ts';
import type { Counters } from './stage.ts';

export interface StageCounters {
  readonly drops: Record<string, number>;
  readonly counts: Record<string, number>;
}

/**
 * One dropped document as the exclusions object lists it: why, and which document (WARC-Record-ID and
 * URL, whichever the record carried). No position: the id names the document in the crawl.
 */
export interface Exclusion {
  readonly reason: string;
  readonly id?: string;
  readonly url?: string;
}

export class CounterSet implements Counters {
  readonly #drops = new Map<string, number>();
  readonly #counts = new Map<string, number>();
  /** Dropped documents in the order the stage dropped them (stream order, so deterministic). */
  readonly excluded: Exclusion[] = [];
  drop(reason: string, document?: DataRecord): void {
    this.#drops.set(reason, (this.#drops.get(reason) ?? 0) + 1);
    if (document) this.excluded.push(exclusionOf(reason, document));
  }
  add(name: string, n = 1): void {
    this.#counts.set(name, (this.#counts.get(name) ?? 0) + n);
  }
  toJSON(): StageCounters {
    return { drops: sorted(this.#drops), counts: sorted(this.#counts) };
  }
}

/** Text documents carry `url`; WARC records carry `uri` (their WARC-Target-URI). */
function exclusionOf(reason: string, rec: DataRecord): Exclusion {
  const url = typeof rec.url === 'string' ? rec.url : typeof rec.uri === 'string' ? rec.uri : undefined;
  return { reason, ...(typeof rec.id === 'string' ? { id: rec.id } : {}), ...(url === undefined ? {} : { url }) };
}

function sorted(m: Map<string, number>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const k of [...m.keys()].sort(compareUtf8)) out[k] = m.get(k)!;
  return out;
}
