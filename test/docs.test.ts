import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import t from 'tap';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { pipelineSchema, stagesMarkdown } from '../docs/gen.ts';
import sample from '../pipelines/sample.ts';
import cc from '../pipelines/cc-main-2025-18.ts';
import { ROOT } from './helpers.ts';

t.test('the shipped JSON Schema and stage reference are what the code generates (npm run docs:gen)', async (t) => {
  t.same(JSON.parse(await readFile(join(ROOT, 'docs/pipeline.schema.json'), 'utf8')), pipelineSchema(), 'docs/pipeline.schema.json is current');
  t.equal(await readFile(join(ROOT, 'docs/stages.md'), 'utf8'), stagesMarkdown(), 'docs/stages.md is current');
});

t.test('the schema accepts the shipped pipelines and rejects what the loader rejects', async (t) => {
  const ajv = new Ajv2020({ allErrors: true, strict: false });
  const validate = ajv.compile(pipelineSchema());
  const asJson = (p: object) => JSON.parse(JSON.stringify(p)) as Record<string, unknown>;
  for (const p of [sample, cc]) t.ok(validate(asJson(p)), `${p.name}: ${JSON.stringify(validate.errors)}`);
  const bad = (mutate: (p: Record<string, unknown> & { segment: { stage: string; params?: Record<string, unknown> }[] }) => void, why: string) => {
    const p = asJson(sample) as Record<string, unknown> & { segment: { stage: string; params?: Record<string, unknown> }[] };
    mutate(p);
    t.notOk(validate(p), why);
  };
  bad((p) => (p.segment[3]!.stage = 'lang-idd'), 'a misspelled stage name');
  bad((p) => (p.segment[3]!.params = { threshold: 0.65 }), 'a float where a decimal string is expected');
  bad((p) => (p.segment[2]!.stage = 'jsonl'), 'an aggregate stage inside the segment chain');
  bad((p) => delete p.aggregate, 'no outputs');
  bad((p) => (p.sharding = 3), 'an unknown top-level field');
});

/** The fenced blocks that follow a `<!-- check:NAME -->` marker in docs/manifest.md. */
function blocksAfter(md: string, name: string, count: number): string[] {
  const at = md.indexOf(`<!-- check:${name} -->`);
  if (at < 0) throw new Error(`docs/manifest.md has no check:${name} marker`);
  return [...md.slice(at).matchAll(/```[a-z]*\n([\s\S]*?)```/g)].slice(0, count).map((m) => m[1]!.trimEnd());
}

t.test("docs/manifest.md's worked examples recompute", async (t) => {
  const md = await readFile(join(ROOT, 'docs/manifest.md'), 'utf8');
  const { canonicalJson } = await import('../runner/canonical-json.ts');
  const { merkleRoot, sha256 } = await import('../cache/digest.ts');
  for (const name of ['canonical', 'key']) {
    const [input, output] = blocksAfter(md, name, 2);
    const [text, digest] = output!.split('\n');
    t.equal(canonicalJson(JSON.parse(input!)), text, `${name}: canonical form`);
    t.equal(sha256(text!), digest, `${name}: sha256`);
  }
  const [leaves, root] = blocksAfter(md, 'merkle', 2);
  t.equal(merkleRoot(leaves!.split('\n').map((l) => Buffer.from(l, 'utf8'))), root, 'merkle: root of three leaves');
});
