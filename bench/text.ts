/**
 * `npm run bench -- text`: each text stage on its own over the sample's HTML responses (repeated to a few
 * thousand documents): docs/s and MB/s on one core, and each stage's share of the chain's time.
 */
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CounterSet } from '../runner/counters.ts';
import type { DataRecord, StageContext, TransformStage } from '../runner/stage.ts';
import { htmlText } from '../stages/html-text.ts';
import { langId } from '../stages/lang-id.ts';
import { pii } from '../stages/pii.ts';
import { c4Quality, finewebQuality, gopherQuality, gopherRepetition } from '../stages/quality-filters.ts';
import { warcRecords } from '../stages/warc-records.ts';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');

function ctx<P>(params: P): StageContext<P> {
  const noop = () => {};
  return { params, signal: new AbortController().signal, log: { debug: noop, info: noop, warn: noop }, counters: new CounterSet(), mirror: '', workDir: '' };
}

async function collect(it: AsyncIterable<DataRecord>): Promise<DataRecord[]> {
  const out: DataRecord[] = [];
  for await (const r of it) out.push(r);
  return out;
}

async function* from(records: readonly DataRecord[]): AsyncGenerator<DataRecord> {
  yield* records;
}

export async function textBench(): Promise<void> {
  const sums = (await readFile(join(ROOT, 'sample/SHA256SUMS'), 'utf8')).trim().split('\n').map((l) => l.split('  ')[1]!).filter((p) => p.endsWith('.warc.gz'));
  let responses: DataRecord[] = [];
  for (const p of sums) {
    const bytes = await readFile(join(ROOT, 'sample', p));
    async function* one() {
      yield bytes;
    }
    responses.push(...(await collect(warcRecords.run(one(), ctx(warcRecords.parseParams({}, 'p'))))).filter((r) => r.type === 'response'));
  }
  const reps = Number(process.env.BENCH_TEXT_REPS ?? 5);
  responses = Array.from({ length: reps }, () => responses).flat();
  const stages: [string, TransformStage<never>, unknown][] = [
    ['html-text', htmlText as TransformStage<never>, {}],
    ['lang-id', langId as TransformStage<never>, { threshold: '0' }],
    ['gopher-repetition', gopherRepetition as TransformStage<never>, {}],
    ['gopher-quality', gopherQuality as TransformStage<never>, { onlyLanguages: ['en'] }],
    ['c4-quality', c4Quality as TransformStage<never>, { onlyLanguages: ['en'] }],
    ['fineweb-quality', finewebQuality as TransformStage<never>, {}],
    ['pii', pii as TransformStage<never>, {}],
  ];
  // Each stage is timed on the full input it would see first in the chain (docs after extraction and
  // language ID), not on the survivors of the previous filter, so the figures compare like with like.
  let input = responses;
  const rows: { stage: string; docs: number; inMB: number; ms: number }[] = [];
  for (const [name, stage, raw] of stages) {
    const params = stage.parseParams(raw, 'p');
    await collect(stage.run(from(input.slice(0, 50)), ctx(params))); // warm up (JIT, model load)
    const bytes = input.reduce((n, r) => n + (r.block instanceof Uint8Array && name === 'html-text' ? r.block.byteLength : Buffer.byteLength(String(r.text ?? ''))), 0);
    const t0 = performance.now();
    const out = await collect(stage.run(from(input), ctx(params)));
    rows.push({ stage: name, docs: input.length, inMB: bytes / 1e6, ms: performance.now() - t0 });
    if (name === 'html-text' || name === 'lang-id') input = out;
  }
  const total = rows.reduce((n, r) => n + r.ms, 0);
  console.table(rows.map((r) => ({ stage: r.stage, docs: r.docs, 'input MB': r.inMB.toFixed(1), 'docs/s': Math.round(r.docs / (r.ms / 1000)), 'MB/s': (r.inMB / (r.ms / 1000)).toFixed(1), share: `${((100 * r.ms) / total).toFixed(1)}%` })));
}
