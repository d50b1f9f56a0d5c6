import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { cp, mkdir, mkdtemp, readFile, readdir, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { SAMPLE_ROOT } from './golden.ts';
import { ROOT } from './helpers.ts';

/**
 * A cell of the determinism matrix: Debian's reprotest builds the sample run twice, the second time under
 * varied environment, build path, kernel personality, ASLR, CPU count (the control build gets 1 CPU), time
 * (faketime, months ahead), file ordering (disorderfs), host and domain name, HOME, locale, PATH, time zone
 * and umask, then compares the two with diffoscope. The build command (.ci/reprotest-build.sh) puts into the
 * compared out/ what must not change: everything the run wrote under --out as written, manifest.json
 * included, and the root digest. Facts about the run (host, times, concurrency) are in the cache's run
 * record, not in the manifest.
 *
 * Not varied: user_group (it needs other local users to sudo to; none are set up here).
 *
 * A second reprotest run with REPROTEST_BREAK=facts shows the test can fail: the build then also writes what
 * Node saw of its environment, reprotest must report that difference (and only that one), and every
 * variation listed must have reached the process.
 */
const REPROTEST = '/usr/bin/reprotest';
const BUILD = join(ROOT, '.ci', 'reprotest-build.sh');
const VARIATIONS = '+all,-user_group';
/** The sources the build needs, copied so that build path and file ordering apply to them; node_modules is linked. */
const SOURCES = ['bin', 'cli', 'runner', 'cache', 'stages', 'pipelines', 'sample', 'package.json', 'tsconfig.json'];

interface Result {
  code: number | null;
  out: string;
}

function reprotest(args: string[], env: Record<string, string>): Promise<Result> {
  const child = spawn(REPROTEST, args, {
    env: { ...process.env, REINGEST_CACHE: '', XDG_CACHE_HOME: '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, out })));
}

/** The artifact dirs reprotest stored: store/<build>/source-root/out or store/<build>/out, whichever it wrote. */
async function artifact(store: string, build: string): Promise<string> {
  for (const p of [join(store, build, 'source-root', 'out'), join(store, build, 'out')]) if (existsSync(p)) return p;
  throw new Error(`no artifacts for ${build} in ${store}: ${(await readdir(store)).join(', ')}`);
}

t.test('reprotest: the sample run is reproducible under varied time, locale, path, CPUs, ordering...', async (t) => {
  if (!existsSync(REPROTEST)) {
    if (process.env.REINGEST_REQUIRE_REPROTEST === '1') {
      t.fail(`REINGEST_REQUIRE_REPROTEST=1 but there is no ${REPROTEST} (apt-get install reprotest diffoscope-minimal faketime disorderfs)`);
    } else {
      t.comment(`SKIPPED: no ${REPROTEST} here (apt-get install reprotest diffoscope-minimal faketime disorderfs; .ci/run installs it)`);
      t.pass('reprotest check skipped (reported above)', { skip: 'no reprotest' });
    }
    return;
  }

  const dir = await mkdtemp(join(tmpdir(), 'reingest-reprotest-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const src = join(dir, 'src');
  await mkdir(src);
  for (const f of SOURCES) await cp(join(ROOT, f), join(src, f), { recursive: true });
  await symlink(join(ROOT, 'node_modules'), join(src, 'node_modules'));
  // reprotest's own temp dirs (build trees, disorderfs mounts) go under dir too; it removes them itself.
  const tmp = join(dir, 'tmp');
  await mkdir(tmp);

  const run = (store: string, command: string) =>
    reprotest(['--verbosity=1', `--vary=${VARIATIONS}`, `--store-dir=${store}`, '-s', src, command, 'out/*'], { TMPDIR: tmp });

  const started = Date.now();
  const ok = await run(join(dir, 'store-ok'), `bash ${BUILD}`);
  t.comment(`reprotest (reproducible case) took ${((Date.now() - started) / 1000).toFixed(1)} s`);
  t.equal(ok.code, 0, 'reprotest reports no difference', ok.code === 0 ? {} : { output: ok.out });
  t.notMatch(ok.out, /IGNORING \w+ variation/, 'no requested variation was ignored');
  for (const v of ['environment', 'build_path', 'kernel', 'aslr', 'num_cpus', 'time', 'fileordering', 'domain_host', 'home', 'locales', 'exec_path', 'timezone', 'umask']) {
    t.match(ok.out, new RegExp(`vary ${v}\\b`), `the experiment build varies ${v}`);
  }
  // reprotest keeps both builds' artifacts in the store dir, also when they differ.
  for (const build of ['control', 'experiment-1']) {
    const out = await artifact(join(dir, 'store-ok'), build);
    t.equal((await readFile(join(out, 'root.txt'), 'utf8')).trim(), SAMPLE_ROOT, `${build}: the root digest is the golden one`);
    const m = JSON.parse(await readFile(join(out, 'files', 'manifest.json'), 'utf8')) as { root: string };
    t.equal(m.root, SAMPLE_ROOT, `${build}: the manifest as written is in the compared artifact, with the golden root`);
    t.ok(existsSync(join(out, 'files', 'text.jsonl')), `${build}: output files are in the compared artifact`);
  }

  // The same with a build that also writes what it saw of its environment: reprotest must catch it.
  const broken = await run(join(dir, 'store-broken'), `REPROTEST_BREAK=facts bash ${BUILD}`);
  t.not(broken.code, 0, 'reprotest reports a difference when the artifact holds run facts', broken.code !== 0 ? {} : { output: broken.out });
  t.match(broken.out, /run-facts\.json/, 'the difference is in run-facts.json');
  // diffoscope names each differing file (and the dirs holding it) on a "+++ path" line.
  const differing = [...broken.out.matchAll(/\+\+\+ (\S+)/g)].map((m) => m[1]!).filter((p) => !/\/(?:experiment-1|source-root|out)$/.test(p));
  t.same(differing.map((p) => p.split('/').at(-1)), ['run-facts.json'], 'and nowhere else');
  if (broken.code !== 0 && broken.code !== null) {
    const facts = async (build: string) => JSON.parse(await readFile(join(await artifact(join(dir, 'store-broken'), build), 'run-facts.json'), 'utf8')) as Record<string, unknown>;
    const [a, b] = [await facts('control'), await facts('experiment-1')];
    const seen: [string, string][] = [
      ['day', 'time (faketime)'],
      ['tzOffsetMin', 'timezone'],
      ['locale', 'locales'],
      ['umask', 'umask'],
      ['cwd', 'build_path'],
      ['home', 'home'],
      ['hostname', 'domain_host'],
      ['cpus', 'num_cpus'],
    ];
    for (const [k, v] of seen) t.not(JSON.stringify(b[k]), JSON.stringify(a[k]), `the ${v} variation reached Node (${k}: ${JSON.stringify(a[k])} vs ${JSON.stringify(b[k])})`);
  }
  t.comment(`both reprotest runs took ${((Date.now() - started) / 1000).toFixed(1)} s`);
});
