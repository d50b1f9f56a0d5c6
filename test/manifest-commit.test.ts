import { existsSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { copyFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import t from 'tap';
import { sha256 } from '../cache/digest.ts';
import { isReingestError } from '../runner/errors.ts';
import { manifestRoot, type Manifest } from '../runner/manifest.ts';
import { parseManifest } from '../runner/manifest-read.ts';
import { ROOT, runCli, runJson, SAMPLE_PIPELINE } from './helpers.ts';

/**
 * The root commits to every claim: each committed value of the sample manifest is changed, one at a time,
 * and each change must be refused on load (verify, compare, shards check, proof, report all load through
 * parseManifest) and, when the forger also recomputes the root, give another root than the published one.
 */
type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
type Path = (string | number)[];

function* mutations(v: Json, path: Path = []): Generator<{ path: Path; apply: (root: Json) => void }> {
  const at = (root: Json, p: Path): any => p.reduce<any>((o, k) => o[k], root);
  const set = (value: (old: Json) => Json) => (root: Json) => {
    const parent = at(root, path.slice(0, -1));
    parent[path.at(-1)!] = value(parent[path.at(-1)!]);
  };
  if (v === null || typeof v !== 'object') {
    if (path.length === 0) return;
    if (typeof v === 'string') yield { path, apply: set((s) => (/^sha256:[0-9a-f]{64}$/.test(s as string) ? `sha256:${(s as string).slice(7, 70)}${(s as string).at(-1) === '0' ? '1' : '0'}` : `${s}x`)) };
    else if (typeof v === 'number') yield { path, apply: set((n) => (n as number) + 1) };
    else if (typeof v === 'boolean') yield { path, apply: set((b) => !b) };
    else yield { path, apply: set(() => 0) };
    return;
  }
  if (Array.isArray(v)) {
    if (v.length > 0) yield { path: [...path, '(drop last)'], apply: (root) => at(root, path).pop() };
    if (v.length > 1) yield { path: [...path, '(swap first two)'], apply: (root) => { const a = at(root, path); [a[0], a[1]] = [a[1], a[0]]; } };
    for (const [i, x] of v.entries()) yield* mutations(x, [...path, i]);
    return;
  }
  yield { path: [...path, '(extra field)'], apply: (root) => (at(root, path)['zz-extra'] = 1) };
  for (const [k, x] of Object.entries(v)) {
    if (path.length === 0 && k === 'root') continue;
    yield { path: [...path, `(delete ${k})`], apply: (root) => delete at(root, path)[k] };
    yield* mutations(x, [...path, k]);
  }
}

const refusedOnLoad = (m: unknown) => {
  try {
    parseManifest(m, 'test');
    return false;
  } catch (err) {
    if (!isReingestError(err)) throw err;
    return true;
  }
};

t.test('every committed value of the manifest: a change is refused on load, and moves the root', async (t) => {
  const dir = t.testdir();
  const r = await runCli(['run', SAMPLE_PIPELINE, '--cache', join(dir, 'c'), '--out', join(dir, 'o'), '--json']);
  t.equal(r.code, 0, r.stderr);
  const m = JSON.parse(await readFile(runJson(r.stdout).manifest, 'utf8')) as Json & { root: string };
  t.notOk(refusedOnLoad(m), 'the manifest as written loads');
  let count = 0;
  const notRefused: string[] = [];
  const sameRoot: string[] = [];
  // Every mutation, unrooted, to the Python reader too: two processes reading JSON lines on stdin.
  const hasPython = existsSync('/usr/bin/python3');
  const readers = hasPython ? [pythonReader(), pythonReader()] : [];
  for (const mu of mutations(m)) {
    const copy = structuredClone(m);
    mu.apply(copy);
    count++;
    const name = mu.path.join('.');
    if (!refusedOnLoad(copy)) notRefused.push(name);
    const { root: _, ...body } = copy as unknown as Manifest;
    let reRooted: string | null = null;
    try {
      reRooted = manifestRoot(body);
    } catch {
      // not canonical JSON any more (e.g. a float): no root can be computed for it, nothing to compare
    }
    // A field beside the committed ones (top level, inputs) is no claim: refusing it on load is enough.
    const uncommitted = name === '(extra field)' || name === 'inputs.(extra field)';
    if (reRooted === m.root && !uncommitted) sameRoot.push(name);
    if (readers.length > 0) await readers[count % readers.length]!.send(JSON.stringify(copy));
  }
  t.ok(count > 2000, `${count} mutations of the sample manifest`);
  t.same(notRefused, [], 'each is refused on load');
  t.same(sameRoot, [], 'each change of a committed value moves the root when the forger recomputes it');

  // The Python reader (written from docs/manifest.md) refuses every one of them too.
  t.test('the Python reader refuses each', { skip: hasPython ? false : 'no /usr/bin/python3' }, async (t) => {
    const verdicts = (await Promise.all(readers.map((r) => r.done()))).flat();
    t.equal(verdicts.length, count, `one verdict per mutation (${count})`);
    t.same(verdicts.filter((v) => v.ok), [], 'none is ok');
  });
});

/** test/readers/verify_manifest.py --lines: manifests written to its stdin, one per line, with backpressure. */
function pythonReader() {
  const child = spawn('/usr/bin/python3', [join(ROOT, 'test/readers/verify_manifest.py'), '--lines'], { stdio: ['pipe', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
  const exited = once(child, 'close');
  // A reader that dies is seen in its verdict count, not as an EPIPE thrown here.
  child.stdin.on('error', () => {});
  return {
    async send(line: string) {
      if (!child.stdin.write(`${line}\n`)) await once(child.stdin, 'drain');
    },
    async done(): Promise<{ file: string; ok: boolean }[]> {
      child.stdin.end();
      await exited;
      return out.trim().split('\n').map((l) => JSON.parse(l) as { file: string; ok: boolean });
    },
  };
}

t.test('forged and re-rooted: verify names the field, shards check names the file or refuses the root', async (t) => {
  const dir = t.testdir();
  const out = join(dir, 'o');
  const r = await runCli(['run', SAMPLE_PIPELINE, '--cache', join(dir, 'c'), '--out', out, '--json']);
  const made = runJson(r.stdout);
  const m = JSON.parse(await readFile(made.manifest, 'utf8')) as Manifest;
  const forge = async (name: string, edit: (x: any) => void) => {
    const copy = structuredClone(m) as any;
    edit(copy);
    const { root: _, ...body } = copy;
    // Beside the output folder, as a manifest someone sent you would be.
    await mkdir(join(dir, 'forged', name), { recursive: true });
    const file = join(dir, 'forged', name, 'manifest.json');
    await writeFile(file, JSON.stringify({ ...body, root: manifestRoot(body) }));
    return file;
  };
  const seg0 = (x: any) => x.tasks.find((k: any) => k.id === 'segment:0');
  const html = await forge('html', (x) => {
    const e = seg0(x).edges.find((e: any) => e.stage === 'html-text');
    e.digest = e.recordsRoot = `sha256:${'a'.repeat(64)}`;
  });
  const v1 = await runCli(['verify', html, '--json']);
  t.equal(v1.code, 2, 'an intermediate edge: nondeterministic (or forged)');
  t.match(JSON.parse(v1.stdout).first, { task: 'segment:0', kind: 'nondeterministic', stage: 'html-text', field: 'digest' });

  const counter = await forge('counter', (x) => (seg0(x).edges.find((e: any) => e.stage === 'lang-id').counters.drops['language-score-below-threshold'] += 1));
  const v2 = await runCli(['verify', counter, '--sample', '1', '--seed', '0', '--json']);
  const chosen = JSON.parse(v2.stdout);
  if (chosen.segments.includes(0)) {
    t.equal(v2.code, 2);
    t.match(chosen.first, { task: 'segment:0', stage: 'lang-id', field: 'counters.drops.language-score-below-threshold' });
  }
  const v2all = await runCli(['verify', counter]);
  t.equal(v2all.code, 2, 'a drop counter is compared too');
  t.match(v2all.stdout, /-> FIRST segment:0 .* at stage lang-id, counters\.drops\.language-score-below-threshold: expected \d+, found \d+/);

  const param = await forge('param', (x) => (x.pipeline.segment[3].params.threshold = '0.5'));
  const v3 = await runCli(['verify', param]);
  t.equal(v3.code, 32, 'params edited without keyParams: refused before rebuilding');
  t.match(v3.stdout, /pipeline\.segment\[3\]\.keyParams\.threshold: the manifest records "0\.65", but its stages read as "0\.5"/);
  t.equal((await runCli(['run', param, '--out', join(dir, 'rerun'), '--cache', join(dir, 'c')])).code, 1, 'and refused by run');

  // A swapped shard: its new digest written into outputs[] (and the aggregate's index, and the root).
  const swapped = join(out, 'llmc', 'shard-00000.bin');
  await copyFile(join(out, 'llmc', 'shard-00001.bin'), swapped);
  const fileOnly = await forge('outputs', (x) => {
    const o = x.outputs.find((o: any) => o.file === 'llmc/shard-00000.bin');
    o.digest = x.outputs.find((o: any) => o.file === 'llmc/shard-00001.bin').digest;
  });
  const s1 = await runCli(['shards', 'check', out, '--manifest', fileOnly]);
  t.equal(s1.code, 1, 'outputs[] that the aggregate does not commit to');
  t.match(s1.stderr, /REINGEST_E_MANIFEST_TAMPERED: .*manifest\.outputs \(llmc\/…\)/);
  const s2 = await runCli(['shards', 'check', out, '--manifest', made.manifest]);
  t.equal(s2.code, 1, 'the published manifest: the swapped file differs');
  t.match(s2.stdout, /differs +llmc\/shard-00000\.bin/);
  t.match(s2.stdout, /differs +llmc\/ \(files index of aggregate:2\)/);
  const everything = await forge('everything', (x) => {
    const o = x.outputs.find((o: any) => o.file === 'llmc/shard-00000.bin');
    const from = x.outputs.find((o: any) => o.file === 'llmc/shard-00001.bin');
    Object.assign(o, { digest: from.digest, size: from.size });
    const files = x.outputs.filter((o: any) => o.file.startsWith('llmc/'));
    const index = `${JSON.stringify({ files: files.map((f: any) => ({ digest: f.digest, facts: f.facts, name: f.file.slice(5), size: f.size })), schema: 'reingest-files/1' })}\n`;
    const agg = x.tasks.find((k: any) => k.id === 'aggregate:2');
    for (const e of agg.edges) if (e.digest === agg.output.digest) e.digest = sha256(index);
    agg.output.digest = sha256(index);
  });
  const s0 = await runCli(['shards', 'check', out, '--manifest', everything]);
  t.equal(s0.code, 0, 'a forger who re-roots everything has a consistent manifest...');
  t.match(s0.stderr, new RegExp(`with root (?!${m.root})sha256:[0-9a-f]{64}; compare that root with the published one`));
  const s3 = await runCli(['shards', 'check', out, '--manifest', everything, '--root', m.root]);
  t.equal(s3.code, 1, '...with another root than the published one');
  t.match(s3.stderr, /REINGEST_E_MANIFEST_TAMPERED: .*its root is sha256:[0-9a-f]{64}, not the published sha256:/);
});
