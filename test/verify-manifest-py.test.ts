import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { cp, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { sha256 } from '../cache/digest.ts';
import { canonicalJson } from '../runner/canonical-json.ts';
import { manifestRoot } from '../runner/manifest.ts';
import { encodeFrame } from '../runner/record-codec.ts';
import sample from '../pipelines/sample.ts';
import { ROOT, runCli, runJson, SAMPLE_PIPELINE } from './helpers.ts';

/** An independent verifier written from docs/manifest.md, in another language (Python, standard library). */
const PYTHON = '/usr/bin/python3';
const SCRIPT = join(ROOT, 'test/readers/verify_manifest.py');
const skip = existsSync(PYTHON) ? false : `${PYTHON} is missing (the verifier is a Python 3 script; apt-get install python3)`;

interface Report {
  file: string;
  ok: boolean;
  error?: string;
  root: string;
  rootOk: boolean;
  keysChecked: number;
  keyMismatches: string[];
  linkMismatches: string[];
  outputsOk: boolean;
  structureProblems: string[];
  paramProblems: string[];
  edgeProblems: string[];
  countProblems: string[];
  outputProblems: string[];
  filesChecked?: number;
  fileProblems?: string[];
  objectsChecked?: number;
  objectProblems?: string[];
  replayed?: number;
}

/** Runs the verifier; one report per manifest (its JSON lines), the exit status, and stderr (no tracebacks). */
function verify(files: string[], opts: { out?: string; cache?: string } = {}): { reports: Report[]; exit: number | null; stderr: string } {
  const args = [SCRIPT, ...(opts.out ? ['--out', opts.out] : []), ...(opts.cache ? ['--cache', opts.cache] : []), ...files];
  const r = spawnSync(PYTHON, args, { encoding: 'utf8' });
  if (r.status !== 0 && r.status !== 1) throw new Error(`verify_manifest.py exited ${r.status}: ${r.stderr}`);
  return { reports: r.stdout.trim().split('\n').map((l) => JSON.parse(l) as Report), exit: r.status, stderr: r.stderr };
}

const ZERO = `sha256:${'0'.repeat(64)}`;
type Json = any; // eslint-disable-line @typescript-eslint/no-explicit-any -- manifests are edited freely below
const task = (m: Json, id: string) => m.tasks.find((x: { id: string }) => x.id === id);
/** Some line of a list of problems matches each pattern. */
const has = (t: Test, list: string[] | undefined, patterns: RegExp[], msg: string) =>
  t.ok(patterns.every((p) => (list ?? []).some((line) => p.test(line))), msg, { found: list, wanted: patterns.map(String) });
const pick = (r: Report, keys: string[]) => Object.fromEntries(keys.map((k) => [k, (r as unknown as Record<string, unknown>)[k]]));

/** The fenced blocks after a `<!-- check:NAME -->` marker in docs/manifest.md (as test/docs.test.ts reads them). */
async function docBlocks(name: string, count: number): Promise<string[]> {
  const md = await readFile(join(ROOT, 'docs/manifest.md'), 'utf8');
  const at = md.indexOf(`<!-- check:${name} -->`);
  if (at < 0) throw new Error(`docs/manifest.md has no check:${name} marker`);
  return [...md.slice(at).matchAll(/```[a-z]*\n([\s\S]*?)```/g)].slice(0, count).map((m) => m[1]!.trimEnd());
}

function encodeWithPython(file: string): { canonical: string; canonicalSha256: string; frame?: string; leaf?: string } {
  const r = spawnSync(PYTHON, [SCRIPT, '--encode', file], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`verify_manifest.py --encode: ${r.stderr}`);
  return JSON.parse(r.stdout);
}

t.test('the Python encoder writes the same canonical JSON and record frames as runner/', { skip }, async (t) => {
  const dir = t.testdir();
  // U+FFFF sorts before U+1F600 by code point (UTF-8 byte order); by UTF-16 code units 😀 (D83D DE00) would come first.
  t.same(['\uffff', '😀'].sort(), ['😀', '\uffff'], 'JavaScript\'s default sort is by UTF-16 code units: the order the encoders must not use');
  const records: Record<string, Json>[] = [
    { '\uffff': 'last in UTF-16 order', '😀': 'first in UTF-16 order', a: 1 },
    { '😀': { '\uffff': [1, -2, null, true, false, 'é'], z: {} }, '\uffff': 9007199254740991, 'é': -9007199254740991 },
    // Lone surrogates: canonical JSON escapes them (\ud800); the record encoder writes U+FFFD but sorts them as U+D800.
    { '\ud800': 'lone high', '\ue000': 'private use', s: 'x\udc00y', '\u0001': '\u001f"\\\n' },
  ];
  for (const [i, record] of records.entries()) {
    const file = join(dir, `record-${i}.json`);
    await writeFile(file, JSON.stringify(record));
    const py = encodeWithPython(file);
    const frame = encodeFrame(record);
    t.equal(py.frame, frame.toString('hex'), `record ${i}: the same frame`);
    t.equal(py.leaf, sha256(Buffer.concat([Buffer.of(0), frame])), `record ${i}: the same leaf hash`);
    t.equal(py.canonical, Buffer.from(canonicalJson(record), 'utf8').toString('hex'), `record ${i}: the same canonical JSON`);
  }
  const frame0 = encodeFrame(records[0]!).toString('hex');
  t.ok(frame0.indexOf('efbfbf') < frame0.indexOf('f09f9880'), 'the U+FFFF key is written before the 😀 key');
});

t.test("docs/manifest.md's worked record and root examples, recomputed by the Python", { skip }, async (t) => {
  const dir = t.testdir();
  const [record, encoded] = await docBlocks('record', 2);
  await writeFile(join(dir, 'record.json'), record!);
  const py = encodeWithPython(join(dir, 'record.json'));
  const lines = encoded!.split('\n');
  const leaf = lines.pop();
  t.equal(py.frame, lines.join('').replace(/\s+/g, ''), 'record: the frame the doc gives');
  t.equal(py.leaf, leaf, 'record: its leaf hash');
  const [manifest, , root] = await docBlocks('root', 3);
  await writeFile(join(dir, 'tiny.json'), manifest!);
  const { reports } = verify([join(dir, 'tiny.json')]);
  t.equal(reports[0]!.root, root, 'root: the root the doc gives');
  t.equal(reports[0]!.rootOk, true, 'and the one the example records');
});

t.test('the Python checks every committed field of the sample, with its files and its cache, and notices tampering', { skip }, async (t) => {
  const dir = t.testdir();
  const cache = join(dir, 'c');
  const out = join(dir, 'o');
  const r = await runCli(['run', SAMPLE_PIPELINE, '--cache', cache, '--out', out, '--json']);
  t.equal(r.code, 0, r.stderr);
  const file = runJson(r.stdout).manifest;
  const m = JSON.parse(await readFile(file, 'utf8'));

  const good = verify([file], { out, cache });
  t.equal(good.exit, 0, 'exit 0: everything checks out');
  const allOk = {
    file,
    ok: true,
    root: m.root,
    rootOk: true,
    keysChecked: m.tasks.length,
    keyMismatches: [],
    linkMismatches: [],
    outputsOk: true,
    structureProblems: [],
    paramProblems: [],
    edgeProblems: [],
    countProblems: [],
    outputProblems: [],
    filesChecked: m.outputs.length,
    fileProblems: [],
    objectProblems: [],
  };
  t.same(pick(good.reports[0]!, Object.keys(allOk)), allOk, 'every check passes');
  const nApply = m.tasks.filter((x: { kind: string }) => x.kind === 'global-apply').length;
  t.ok(good.reports[0]!.replayed! >= 2 * nApply + 1 + m.pipeline.aggregate.length, `dedup summaries, plan and applies and every aggregate recomputed (${good.reports[0]!.replayed})`);
  t.ok(good.reports[0]!.objectsChecked! > m.tasks.length, `cache objects hashed (${good.reports[0]!.objectsChecked})`);

  /**
   * Writes an edited copy; `forge` also recomputes the root (with runner/manifest.ts), as a forger would,
   * so only the checks below the root can catch the edit.
   */
  let n = 0;
  const tamper = async (edit: (x: Json) => void, forge: boolean, opts: { out?: string; cache?: string } = {}) => {
    const copy = JSON.parse(JSON.stringify(m));
    edit(copy);
    if (forge) {
      const { root: _, ...body } = copy;
      copy.root = manifestRoot(body);
    }
    const p = join(dir, `tampered-${n++}.json`);
    await writeFile(p, JSON.stringify(copy));
    const v = verify([p], opts);
    t.equal(v.exit, 1, 'exit 1');
    return v.reports[0]!;
  };
  const both = async (what: string, edit: (x: Json) => void, below: (r: Report) => void) => {
    const plain = await tamper(edit, false);
    t.equal(plain.rootOk, false, `${what}: the root no longer matches`);
    const forged = await tamper(edit, true);
    t.equal(forged.rootOk, true, `${what}, root recomputed: the Python's root is runner/manifest.ts's`);
    below(forged);
  };

  await both('an intermediate edge digest', (x) => (task(x, 'segment:1').edges[3].digest = ZERO), (r) =>
    has(t, r.edgeProblems, [/task segment:1 edge 3 \(gopher-repetition\): a record edge that is not stored is named by its recordsRoot/], 'caught below the root: a digest that is not the edge\'s recordsRoot'),
  );
  await both('a chain drop counter', (x) => {
    const drops = task(x, 'segment:2').edges[1].counters.drops;
    drops[Object.keys(drops)[0]!] += 1;
  }, (r) => has(t, r.countProblems, [/task segment:2 edge 1 \(html-text\): \d+ records in, \d+ dropped/], 'caught below the root: records out != records in - drops'));
  const losing = m.tasks.find((x: Json) => x.kind === 'global-apply' && Object.keys(x.output.counters.drops).length > 0);
  const reason = Object.keys(losing.output.counters.drops)[0]!;
  await both('an apply drop counter', (x) => {
    for (const e of [task(x, losing.id).output, task(x, losing.id).edges[0]]) e.counters.drops[reason] += 1;
  }, (r) => has(t, r.countProblems, [new RegExp(`task ${losing.id}: counters.drops sum to`)], 'caught below the root: drops != the drop list'));
  await both('an outputs[] digest', (x) => (x.outputs[1].digest = ZERO), (r) => {
    t.equal(r.outputsOk, false, 'caught below the root: the files index no longer hashes to the aggregate output');
    has(t, r.outputProblems, [/megatron\/: \d+ files whose index hashes to/], 'and names the output');
  });
  await both('a params value', (x) => (x.pipeline.segment[3].params.threshold = '0.5'), (r) =>
    has(t, r.paramProblems, [/pipeline\.segment\[3\] \(lang-id\): keyParams .* but its params give/], 'caught below the root: params and keyParams disagree'),
  );
  await both('a keyParams value', (x) => (x.pipeline.segment[3].keyParams.threshold = '0.5'), (r) => {
    t.same(r.keyMismatches, m.inputs.segments.map((s: { index: number }) => `segment:${s.index}`), 'caught below the root: every chain key is wrong');
    has(t, r.paramProblems, [/pipeline\.segment\[3\] \(lang-id\)/], 'and params and keyParams disagree');
  });
  await both('a task input', (x) => (task(x, 'aggregate:0').inputs[0] = ZERO), (r) => t.same(r.linkMismatches, ['aggregate:0'], 'caught below the root: the recorded inputs are not the upstream outputs'));
  await both('an input pin', (x) => (x.inputs.segments[2].sha256 = `sha256:${'1'.repeat(64)}`), (r) => {
    const i = m.inputs.segments[2].index;
    t.ok(r.linkMismatches.includes(`fetch:${i}`) && r.keyMismatches.includes(`segment:${i}`), 'caught below the root at its fetch and chain');
  });
  const forgedRoot = await tamper((x) => (x.root = ZERO), false);
  t.match(forgedRoot, { rootOk: false, ok: false }, 'a replaced root');
  const extra = await tamper((x) => (x.inputs.note = 'not in any leaf'), false);
  t.equal(extra.rootOk, true, 'a field outside the leaves leaves the root as it is');
  has(t, extra.structureProblems, [/fields the root does not commit to: inputs\.note/], 'so it is refused');

  // Files on disk: two shards swapped.
  const swapped = join(dir, 'o-swapped');
  await cp(out, swapped, { recursive: true });
  await rename(join(swapped, 'megatron/shard-00000.bin'), join(swapped, 'tmp.bin'));
  await rename(join(swapped, 'megatron/shard-00001.bin'), join(swapped, 'megatron/shard-00000.bin'));
  await rename(join(swapped, 'tmp.bin'), join(swapped, 'megatron/shard-00001.bin'));
  const onDisk = verify([file], { out: swapped });
  t.equal(onDisk.exit, 1, 'exit 1 for swapped files');
  has(t, onDisk.reports[0]!.fileProblems, [/^megatron\/shard-00000\.bin: sha256:/, /^megatron\/shard-00001\.bin: sha256:/], 'swapped shard files are named');

  // The cache: one byte of a stored summary flipped (the last task to read it is the plan).
  const summary = task(m, 'summary:0:3').output.digest.slice('sha256:'.length);
  const object = join(cache, 'objects', 'sha256', summary.slice(0, 2), summary);
  const bytes = await readFile(object);
  const corrupt = Buffer.from(bytes);
  corrupt[corrupt.length - 1]! ^= 1;
  await writeFile(object, corrupt);
  const inCache = verify([file], { cache });
  await writeFile(object, bytes);
  t.equal(inCache.exit, 1, 'exit 1 for a corrupted object');
  has(t, inCache.reports[0]!.objectProblems, [new RegExp(`object sha256:${summary} hashes to sha256:`)], 'a corrupted cached object is named');
  const index = task(m, 'segment:0').edges[4].recordIndex.slice('sha256:'.length);
  const indexFile = join(cache, 'objects', 'sha256', index.slice(0, 2), index);
  const indexBytes = await readFile(indexFile);
  await writeFile(indexFile, indexBytes.subarray(0, indexBytes.length - 36));
  const shortIndex = verify([file], { cache });
  await writeFile(indexFile, indexBytes);
  has(t, shortIndex.reports[0]!.objectProblems, [new RegExp(`task segment:0 edge 4 \\(gopher-quality\\) recordIndex: object sha256:${index} hashes to`)], 'a truncated record index is named');

  // Several manifests in one call: one line each; unreadable ones get an error line, not a traceback.
  const notJson = join(dir, 'not-json.json');
  await writeFile(notJson, '{"schema": "reingest-manifest/2",');
  const noTasks = join(dir, 'no-tasks.json');
  const { tasks: _, ...rest } = m;
  await writeFile(noTasks, JSON.stringify(rest));
  const noEdgeDigest = join(dir, 'no-edge-digest.json');
  const copy = JSON.parse(JSON.stringify(m));
  delete task(copy, 'segment:0').edges[1].digest;
  await writeFile(noEdgeDigest, JSON.stringify(copy));
  const many = verify([file, notJson, noTasks, noEdgeDigest, join(dir, 'missing.json')]);
  t.equal(many.exit, 1, 'exit 1 when any manifest fails');
  t.equal(many.stderr, '', 'no traceback');
  t.same(many.reports.map((x) => x.file), [file, notJson, noTasks, noEdgeDigest, join(dir, 'missing.json')], 'one line per manifest, in order');
  t.equal(many.reports[0]!.ok, true, 'the good one is still ok');
  t.match(many.reports.slice(1), [
    { ok: false, error: /not a readable JSON file/ },
    { ok: false, error: /expected a field tasks/ },
    { ok: false, error: /tasks\[2\]\.edges\[1\]: expected a field digest/ },
    { ok: false, error: /not a readable JSON file/ },
  ]);
});

t.test('shuffled and gzip-compressed shards, a dedup that drops nothing: the Python rebuilds them and gunzips what --out holds', { skip }, async (t) => {
  const dir = t.testdir();
  const spec = JSON.parse(JSON.stringify(sample));
  spec.name = 'sample-shuffled';
  spec.mirror = { localDir: join(ROOT, 'sample') };
  // No keys, so no drops: every apply is keyed by the empty drop list.
  spec.global = [{ stage: 'dedup', params: { exact: false, url: false, minhash: { enabled: false } } }];
  spec.aggregate = [
    { stage: 'token-shards', output: 'docs', params: { format: 'jsonl', shardTokens: 20000, shuffleSeed: 'a seed', fields: ['id', 'url', 'lang', 'tokenCount'], gzip: true } },
    { stage: 'token-shards', output: 'megatron', params: { format: 'megatron', shardTokens: 30000, shuffleSeed: 'b' } },
    { stage: 'token-shards', output: 'llmc', params: { format: 'llmc', encoding: 'cl100k_base', shardTokens: 50000, shuffleSeed: 'c' } },
  ];
  const pipeline = join(dir, 'shuffled.json');
  await writeFile(pipeline, JSON.stringify(spec));
  const cache = join(dir, 'c');
  const out = join(dir, 'o');
  const r = await runCli(['run', pipeline, '--cache', cache, '--out', out, '--json']);
  t.equal(r.code, 0, r.stderr);
  const file = runJson(r.stdout).manifest;
  const m = JSON.parse(await readFile(file, 'utf8'));
  t.ok(m.outputs.some((o: { file: string; compression?: string }) => o.compression === 'gzip' && o.file.endsWith('.jsonl.gz')), 'some files are gzip-compressed under --out');
  t.same(task(m, 'global:0').edges.length, 1, 'the plan has no drop lists');
  t.same(m.tasks.filter((x: Json) => x.kind === 'global-apply').map((x: Json) => x.inputs[1]), m.inputs.segments.map(() => sha256('')), 'every apply is keyed by the empty drop list');
  const v = verify([file], { out, cache });
  const clean = { ok: true, keysChecked: m.tasks.length, keyMismatches: [], linkMismatches: [], outputsOk: true, fileProblems: [], objectProblems: [] };
  t.same(pick(v.reports[0]!, Object.keys(clean)), clean, 'every check passes, rebuilt shards included');
  t.ok(v.reports[0]!.replayed! >= m.pipeline.aggregate.length, 'the shards were rebuilt');
  t.equal(v.exit, 0, 'exit 0');

  const gz = m.outputs.find((o: { compression?: string }) => o.compression === 'gzip').file as string;
  await writeFile(join(out, gz), Buffer.from('not gzip'));
  has(t, verify([file], { out }).reports[0]!.fileProblems, [new RegExp(`^${gz.replace(/\./g, '\\.')}: cannot read it`)], 'a damaged .gz is named');
});
