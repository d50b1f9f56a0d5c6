import { compareUtf8 } from './canonical-json.ts';
import type { Counters } from './stage.ts';

export interface StageCounters {
  readonly drops: Record<string, number>;
  readonly counts: Record<string, number>;
}

export class CounterSet implements Counters {
  readonly #drops = new Map<string, number>();
  readonly #counts = new Map<string, number>();
  drop(reason: string, n = 1): void {
    this.#drops.set(reason, (this.#drops.get(reason) ?? 0) + n);
  }
  add(name: string, n = 1): void {
    this.#counts.set(name, (this.#counts.get(name) ?? 0) + n);
  }
  toJSON(): StageCounters {
    return { drops: sorted(this.#drops), counts: sorted(this.#counts) };
  }
}

function sorted(m: Map<string, number>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const k of [...m.keys()].sort(compareUtf8)) out[k] = m.get(k)!;
  return out;
}
