import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import t from 'tap';
import { SAMPLE_ROOT } from './golden.ts';
import { runCli, runJson, SAMPLE_PIPELINE } from './helpers.ts';

/** --out is built beside itself and renamed into place (runner/out-dir.ts). */
t.test('two runs into one --out at once each publish a whole folder; what stays is consistent', async (t) => {
  const dir = t.testdir();
  const out = join(dir, 'out');
  const [a, b] = await Promise.all(['c1', 'c2'].map((c) => runCli(['run', SAMPLE_PIPELINE, '--cache', join(dir, c), '--out', out, '--json'])));
  t.equal(a!.code, 0, a!.stderr);
  t.equal(b!.code, 0, b!.stderr);
  t.equal(runJson(a!.stdout).root, SAMPLE_ROOT);
  const check = await runCli(['shards', 'check', out, '--root', SAMPLE_ROOT]);
  t.equal(check.code, 0, `${check.stdout}${check.stderr}`);
  t.same((await readdir(dir)).filter((n) => n.startsWith('out.')), [], 'no staging or old folder left beside --out');
});

t.test('a rerun replaces the folder as a whole; --out naming a file is refused and the file kept', async (t) => {
  const dir = t.testdir({ afile: 'mine\n' });
  const out = join(dir, 'out');
  t.equal((await runCli(['run', SAMPLE_PIPELINE, '--cache', join(dir, 'c'), '--out', out])).code, 0);
  await writeFile(join(out, 'stray.txt'), 'x');
  t.equal((await runCli(['run', SAMPLE_PIPELINE, '--cache', join(dir, 'c'), '--out', out])).code, 0);
  t.equal((await runCli(['shards', 'check', out])).code, 0, 'no stray file from before: every file is the manifest\'s');
  const r = await runCli(['run', SAMPLE_PIPELINE, '--cache', join(dir, 'c'), '--out', join(dir, 'afile')]);
  t.equal(r.code, 2, r.stderr);
  t.match(r.stderr, /REINGEST_E_USAGE: --out .*afile: expected a directory \(or nothing\), found a file/);
  t.equal(await readFile(join(dir, 'afile'), 'utf8'), 'mine\n');
});
