import { v, type DataRecord, type TransformStage } from '../../runner/stage.ts';

/**
 * A document filter: params with DataTrove's defaults (ratios as decimal strings — no floats in hashed
 * params), and a check that returns the reason a document is dropped, or null. A filter may also rewrite
 * the text it keeps (C4 drops lines). `onlyLanguages` limits a language-specific filter (English stop
 * words, say) to documents lang-id tagged with those languages; others pass untouched.
 */
export interface FilterSpec<P> {
  readonly name: string;
  readonly version: string;
  readonly description: string;
  readonly ratios: Readonly<Record<keyof P & string, string>> | Record<string, never>;
  readonly integers: Readonly<Record<string, number>>;
  check(text: string, p: Readonly<Record<string, number>>): { drop: string } | { keep: string };
}

export interface FilterParams {
  readonly onlyLanguages: readonly string[];
  readonly ratios: Readonly<Record<string, string>>;
  readonly integers: Readonly<Record<string, number>>;
}

const DECIMAL = /^\d+(\.\d{1,6})?$/;

export function defineFilter(spec: FilterSpec<Record<string, unknown>>): TransformStage<FilterParams> {
  const ratioKeys = Object.keys(spec.ratios);
  const intKeys = Object.keys(spec.integers);
  return {
    kind: 'transform',
    name: spec.name,
    version: spec.version,
    description: spec.description,
    parseParams(raw, field) {
      const o = v.object(raw, field, ['onlyLanguages', 'ratios', 'integers']);
      const r = v.object(o.ratios ?? {}, `${field}.ratios`, ratioKeys);
      const n = v.object(o.integers ?? {}, `${field}.integers`, intKeys);
      const ratios: Record<string, string> = {};
      for (const k of ratioKeys) ratios[k] = v.string(r[k] ?? (spec.ratios as Record<string, string>)[k], `${field}.ratios.${k}`, { pattern: DECIMAL, what: 'a decimal string such as "0.3"' });
      const integers: Record<string, number> = {};
      for (const k of intKeys) integers[k] = v.optionalInteger(n[k], `${field}.integers.${k}`, spec.integers[k]!, 0);
      const onlyLanguages = o.onlyLanguages === undefined ? [] : v.array(o.onlyLanguages, `${field}.onlyLanguages`).map((l, i) => v.string(l, `${field}.onlyLanguages[${i}]`));
      return { onlyLanguages: [...onlyLanguages].sort(), ratios, integers };
    },
    async *run(input, ctx) {
      const p: Record<string, number> = { ...ctx.params.integers };
      for (const [k, s] of Object.entries(ctx.params.ratios)) p[k] = Number(s);
      const only = new Set(ctx.params.onlyLanguages);
      for await (const rec of input) {
        if (only.size > 0 && !only.has(String(rec.lang))) {
          ctx.counters.add('other-language-passed');
          yield rec;
          continue;
        }
        const verdict = spec.check(typeof rec.text === 'string' ? rec.text : '', p);
        if ('drop' in verdict) {
          ctx.counters.drop(verdict.drop, rec);
          continue;
        }
        yield verdict.keep === rec.text ? rec : ({ ...rec, text: verdict.keep } as DataRecord);
      }
    },
  };
}
