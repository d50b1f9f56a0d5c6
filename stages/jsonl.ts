import { canonicalJson, v, type AggregateStage } from '../runner/stage.ts';

export interface JsonlParams {
  /** Record fields written to each line, in canonical (sorted) key order. */
  readonly fields: readonly string[];
}

/** Writes every segment's records, in list order, as canonical JSON lines (UTF-8, LF). */
export const jsonl: AggregateStage<JsonlParams> = {
  kind: 'aggregate',
  name: 'jsonl',
  version: '1',
  description: 'Concatenates all segments into one JSONL file of canonical JSON lines.',
  parseParams(raw, field) {
    const o = v.object(raw, field, ['fields']);
    const fields = o.fields === undefined ? ['id', 'url', 'text'] : v.array(o.fields, `${field}.fields`).map((f, i) => v.string(f, `${field}.fields[${i}]`));
    return { fields };
  },
  async *run(inputs, ctx) {
    let batch: string[] = [];
    for await (const { segment, records } of inputs) {
      for await (const rec of records) {
        // Own fields only: a field named "constructor" or "toString" must not reach Object.prototype's
        // functions, and a line without a prototype takes "__proto__" as a plain key.
        const line: Record<string, unknown> = Object.assign(Object.create(null) as Record<string, unknown>, { segment: segment.path });
        for (const f of ctx.params.fields) {
          if (!Object.hasOwn(rec, f)) continue;
          const val = rec[f];
          line[f] = val instanceof Uint8Array ? Buffer.from(val).toString('base64') : val;
        }
        batch.push(canonicalJson(line));
        if (batch.length >= 256) {
          yield Buffer.from(`${batch.join('\n')}\n`, 'utf8');
          batch = [];
        }
      }
    }
    if (batch.length > 0) yield Buffer.from(`${batch.join('\n')}\n`, 'utf8');
  },
};
