import { createHash } from 'node:crypto';
import { readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import t from 'tap';
import type { Manifest } from '../runner/manifest.ts';
import { SAMPLE_ROOT, SAMPLE_TASKS } from './golden.ts';
import { runCli, runJson, SAMPLE_PIPELINE } from './helpers.ts';
import { nginxBinary, startNginx, type Nginx } from './support/nginx.ts';

/*
 * A shared HTTP cache between machines that share no filesystem: each "machine" is a separate local cache
 * directory; the only thing they share is a real nginx with WebDAV on loopback.
 */
if (nginxBinary() === null && process.env.REINGEST_REQUIRE_NGINX !== '1') {
  t.comment('SKIPPED: nginx is not installed here (apt-get install nginx; .ci/run installs it)');
  t.pass('remote cache tests skipped (reported above)', { skip: 'no nginx' });
} else {
  let nginx: Nginx;
  let dir: string;
  t.before(async () => {
    dir = t.testdir();
    nginx = await startNginx(join(dir, 'nginx'));
  });
  t.teardown(() => nginx?.stop());

  const sha = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;
  const hex = (d: string) => d.slice(7);
  const run = (cache: string, extra: string[] = []) => runCli(['run', SAMPLE_PIPELINE, '--cache', join(dir, cache), '--out', join(dir, `out-${cache}`), '--json', '--remote-cache', nginx.url, ...extra]);
  const manifestOf = async (cache: string) => JSON.parse(await readFile(join(dir, `out-${cache}`, 'manifest.json'), 'utf8')) as Manifest;

  t.test('machine A fills the remote; machine B, with an empty cache and no reachable source, gets every task from it', async (t) => {
    const a = await run('a');
    t.equal(a.code, 0, a.stderr);
    t.equal(runJson(a.stdout).root, SAMPLE_ROOT);
    const cas = await readdir(join(nginx.dataDir, 'cas'));
    const ac = (await readdir(join(nginx.dataDir, 'ac'))).filter((n) => n !== 'tmp');
    const tasks = (await manifestOf('a')).tasks;
    t.ok(cas.length > 20, `remote holds ${cas.length} objects`);
    t.same(ac.sort(), tasks.map((x) => hex(x.key)).sort(), 'one action entry per task of the manifest');
    for (const name of cas) t.equal(sha(await readFile(join(nginx.dataDir, 'cas', name))), `sha256:${name}`, `cas/${name.slice(0, 12)} is named by its sha256`);
    t.same(await readdir(join(nginx.dataDir, 'ac', 'tmp')), [], 'no temporary action entries left behind');

    // Port 9 (discard) is closed on loopback: any fetch from the source would fail the run.
    const b = await run('b', ['--mirror', 'http://127.0.0.1:9/']);
    t.equal(b.code, 0, b.stderr);
    t.match(runJson(b.stdout), { root: SAMPLE_ROOT, tasksRun: 0, tasksCached: SAMPLE_TASKS });
    t.same(await readFile(join(dir, 'out-b', 'megatron', 'shard-00000.bin')), await readFile(join(dir, 'out-a', 'megatron', 'shard-00000.bin')), 'shard files came across');
  });

  t.test('a corrupt or missing remote object is a miss: the task reruns, the root is unchanged, the remote is repaired', async (t) => {
    const m = await manifestOf('a');
    const seg0 = m.tasks.find((x) => x.id === 'segment:0')!;
    const seg1 = m.tasks.find((x) => x.id === 'segment:1')!;
    const bad = join(nginx.dataDir, 'cas', hex(seg0.output.digest));
    await writeFile(bad, 'not the chain output');
    await rm(join(nginx.dataDir, 'cas', hex(seg1.output.digest)));
    const c = await run('c');
    t.equal(c.code, 0, c.stderr);
    const r = runJson(c.stdout);
    t.equal(r.root, SAMPLE_ROOT);
    t.ok(r.tasksRun >= 2, `${r.tasksRun} tasks reran (the two chains whose objects were bad)`);
    t.match(c.stderr, /remote cache served an object whose bytes do not match its name/);
    t.equal(sha(await readFile(bad)), seg0.output.digest, 'the corrupt remote copy was replaced by the right bytes');
    t.equal(sha(await readFile(join(nginx.dataDir, 'cas', hex(seg1.output.digest)))), seg1.output.digest, 'the missing one was uploaded');
  });

  t.test('a different result already in the remote for a key is nondeterminism, never overwritten', async (t) => {
    const m = await manifestOf('a');
    const seg2 = m.tasks.find((x) => x.id === 'segment:2')!;
    const entryPath = join(nginx.dataDir, 'ac', hex(seg2.key));
    const entry = JSON.parse(await readFile(entryPath, 'utf8')) as { output: { digest: string }; edges: { digest: string }[] };
    // Another writer claimed this key maps to other bytes (not in the remote, so it is not a usable hit).
    const forged = `sha256:${'e'.repeat(64)}`;
    entry.edges = entry.edges.map((e) => (e.digest === entry.output.digest ? { ...e, digest: forged } : e));
    entry.output.digest = forged;
    const text = `${JSON.stringify(entry)}\n`;
    await writeFile(entryPath, text);
    const d = await run('d');
    t.equal(d.code, 1);
    t.match(d.stderr, new RegExp(`REINGEST_E_NONDETERMINISTIC: task segment:2: key ${seg2.key} already maps to output ${forged} in the remote cache http://127\\.0\\.0\\.1:\\d+, this run produced ${seg2.output.digest}`));
    t.equal(await readFile(entryPath, 'utf8'), text, 'the remote entry was not overwritten');
  });

  t.test('an unreachable remote is a warning and a local run, not a failure', async (t) => {
    const e = await runCli(['run', SAMPLE_PIPELINE, '--cache', join(dir, 'e'), '--out', join(dir, 'out-e'), '--json', '--remote-cache', 'http://127.0.0.1:9/']);
    t.equal(e.code, 0, e.stderr);
    t.equal(runJson(e.stdout).root, SAMPLE_ROOT);
    t.equal(e.stderr.match(/remote cache unreachable; continuing without it for the rest of this run/g)?.length, 1, 'one warning, not one per task');
    const bad = await runCli(['run', SAMPLE_PIPELINE, '--remote-cache', 'ftp://x/']);
    t.equal(bad.code, 2);
    t.match(bad.stderr, /--remote-cache: expected an http:\/\/ or https:\/\/ URL, got "ftp:\/\/x\/"/);
  });
}
