import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import t from 'tap';
import { SAMPLE_ROOT } from './golden.ts';
import { runCli, runJson, SAMPLE_PIPELINE } from './helpers.ts';
import { replaceOutDir } from '../runner/out-dir.ts';

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

t.test('many runs publishing into one --out at the same moment: each publishes a whole folder, none fails', async (t) => {
  const out = join(t.testdir(), 'out');
  for (let round = 0; round < 30; round++) {
    // Eight publishers whose folders are ready together: their renames interleave.
    const results = await Promise.allSettled(
      Array.from({ length: 8 }, (_, i) => replaceOutDir(out, async (dir) => writeFile(join(dir, 'who'), `${round}:${i}\n`))),
    );
    const failed = results.filter((r) => r.status === 'rejected').map((r) => String((r as PromiseRejectedResult).reason));
    t.same(failed, [], `round ${round}: every publisher succeeded`);
    t.match(await readFile(join(out, 'who'), 'utf8'), new RegExp(`^${round}:\\d\\n$`), 'the folder is one whole publisher\'s');
  }
  t.same((await readdir(join(out, '..'))).filter((n) => n !== 'out'), [], 'no staging or old folder is left');
});
