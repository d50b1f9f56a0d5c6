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

t.test("docs/manifest.md's worked examples of records, the root, the shuffle and dedup keys recompute", async (t) => {
  const md = await readFile(join(ROOT, 'docs/manifest.md'), 'utf8');
  const { sha256 } = await import('../cache/digest.ts');
  const { encodeFrame } = await import('../runner/record-codec.ts');
  const { manifestLeaves, manifestRoot } = await import('../runner/manifest.ts');
  const { parseManifest } = await import('../runner/manifest-read.ts');
  const { seededPermutation } = await import('../stages/shards/shuffle.ts');
  const { dedup } = await import('../stages/dedup.ts');
  const { stageCtx } = await import('./helpers.ts');

  const [record, encoded] = blocksAfter(md, 'record', 2);
  const lines = encoded!.split('\n');
  const leaf = lines.pop();
  const frame = encodeFrame(JSON.parse(record!));
  t.equal(frame.toString('hex'), lines.join('').replace(/\s+/g, ''), 'record: its frame, byte for byte');
  t.equal(sha256(Buffer.concat([Buffer.of(0), frame])), leaf, 'record: its leaf hash');

  const [manifest, leaves, root] = blocksAfter(md, 'root', 3);
  const m = JSON.parse(manifest!);
  const { root: recorded, ...body } = m;
  t.same(manifestLeaves(body), leaves!.split('\n'), 'root: the leaves, in order');
  t.equal(manifestRoot(body), root, 'root: the root of those leaves');
  t.equal(recorded, root, 'root: the example records it');
  t.throws(() => parseManifest(m, 'example'), { message: /expected a task aggregate:0 for output text.jsonl/ }, 'root: the one reader accepts that root (it then refuses the made-up outputs[]: no aggregate task)');

  const [input, permutation] = blocksAfter(md, 'shuffle', 2);
  const { n, seed, shard } = JSON.parse(input!) as { n: number; seed: string; shard: number };
  t.same([...seededPermutation(n, seed, shard)], JSON.parse(permutation!), 'shuffle: the permutation');

  const [doc, keys] = blocksAfter(md, 'dedup', 2);
  const params = dedup.parseParams({}, 'params');
  const summaries = [];
  for await (const s of dedup.summarize!((async function* () { yield JSON.parse(doc!); })(), stageCtx(params))) summaries.push(s);
  const fromDoc = keys!.split('\n').map((l) => {
    const [kind, key] = [Number(l.slice(0, l.indexOf(' '))), l.slice(l.indexOf(' ') + 1)];
    return Buffer.concat([Buffer.of(kind), Buffer.from(sha256(key).slice('sha256:'.length, 'sha256:'.length + 32), 'hex')]);
  });
  t.same(Buffer.from(summaries[0]!.keys as Uint8Array).toString('hex'), Buffer.concat(fromDoc).toString('hex'), 'dedup: the summary is the kind byte and 16 bytes of sha256 of each key string');
});
