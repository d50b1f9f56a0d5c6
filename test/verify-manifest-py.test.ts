import { spawnSync } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import t from 'tap';
import { ROOT, runCli, runJson, SAMPLE_PIPELINE } from './helpers.ts';

/** An independent verifier written from docs/manifest.md, in another language (Python, standard library). */
const SCRIPT = join(ROOT, 'test/readers/verify_manifest.py');
const check = (file: string) => {
  const r = spawnSync('/usr/bin/python3', [SCRIPT, file], { encoding: 'utf8' });
  if (r.status !== 0 && r.status !== 1) throw new Error(`verify_manifest.py failed: ${r.stderr}`);
  const out = JSON.parse(r.stdout) as { root: string; rootOk: boolean; keysChecked: number; keyMismatches: string[]; linkMismatches: string[] };
  return { ...out, exit: r.status };
};

t.test('Python recomputes every key and the root of the sample manifest, and notices tampering', async (t) => {
  const dir = t.testdir();
  const r = await runCli(['run', SAMPLE_PIPELINE, '--cache', join(dir, 'c'), '--out', join(dir, 'o'), '--json']);
  t.equal(r.code, 0, r.stderr);
  const file = runJson(r.stdout).manifest;
  const good = check(file);
  const m = JSON.parse(await readFile(file, 'utf8'));
  t.same(good, { root: m.root, rootOk: true, keysChecked: m.tasks.length, keyMismatches: [], linkMismatches: [], exit: 0 });

  const tamper = async (name: string, edit: (m: any) => void) => {
    const copy = JSON.parse(JSON.stringify(m));
    edit(copy);
    const p = join(dir, `${name}.json`);
    await writeFile(p, JSON.stringify(copy));
    return check(p);
  };
  const out = await tamper('output', (x) => (x.tasks[4].output.digest = `sha256:${'0'.repeat(64)}`));
  t.notOk(out.rootOk, 'a changed output digest changes the root');
  t.equal(out.exit, 1, 'and the exit status says so');
  const forgedRoot = await tamper('root', (x) => (x.root = `sha256:${'0'.repeat(64)}`));
  t.match(forgedRoot, { rootOk: false, exit: 1 });
  const param = await tamper('param', (x) => (x.pipeline.segment[3].keyParams.threshold = '0.5'));
  t.same(param.keyMismatches, m.inputs.segments.map((s: { index: number }) => `segment:${s.index}`), 'a changed param: every chain key is wrong');
  const input = await tamper('input', (x) => (x.inputs.segments[2].sha256 = `sha256:${'1'.repeat(64)}`));
  t.ok(input.linkMismatches.includes(`fetch:${m.inputs.segments[2].index}`) && input.keyMismatches.includes(`segment:${m.inputs.segments[2].index}`), 'a changed input pin is caught at its fetch and chain');
});
