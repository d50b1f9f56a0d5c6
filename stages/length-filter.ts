import { v, type TransformStage } from '../runner/stage.ts';

export interface LengthFilterParams {
  readonly minChars: number;
  readonly minWords: number;
}

/** Drops documents too short to be worth training on (a stand-in until the quality-filter issue lands). */
export const lengthFilter: TransformStage<LengthFilterParams> = {
  kind: 'transform',
  name: 'length-filter',
  version: '1',
  description: 'Drops documents with fewer than minChars characters or minWords words.',
  parseParams(raw, field) {
    const o = v.object(raw, field, ['minChars', 'minWords']);
    return {
      minChars: v.optionalInteger(o.minChars, `${field}.minChars`, 200),
      minWords: v.optionalInteger(o.minWords, `${field}.minWords`, 0),
    };
  },
  async *run(input, ctx) {
    const { minChars, minWords } = ctx.params;
    for await (const rec of input) {
      const text = typeof rec.text === 'string' ? rec.text : '';
      // Count code points, not UTF-16 units, so CJK and emoji count the same in every runtime.
      let chars = 0;
      for (const _ of text) chars++;
      if (chars < minChars) {
        ctx.counters.drop('too-few-chars', rec);
        continue;
      }
      if (minWords > 0 && text.split(/\s+/u).filter(Boolean).length < minWords) {
        ctx.counters.drop('too-few-words', rec);
        continue;
      }
      yield rec;
    }
  },
};
