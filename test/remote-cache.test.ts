import { createHash } from 'node:crypto';
import { readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import t from 'tap';
import { RemoteTrust } from '../cache/signing.ts';
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
  let keyA: string;
  t.before(async () => {
    dir = t.testdir();
    nginx = await startNginx(join(dir, 'nginx'));
    keyA = join(dir, 'cluster.key');
    const gen = await runCli(['cache', 'keygen', keyA]);
    if (gen.code !== 0) throw new Error(gen.stderr);
  });
  t.teardown(() => nginx?.stop());

  const sha = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;
  const hex = (d: string) => d.slice(7);
  // Every node of the cluster signs with the cluster key (and so believes its signatures) unless a test says otherwise.
  const run = (cache: string, extra: string[] = [], trust = ['--remote-cache-key', keyA]) =>
    runCli(['run', SAMPLE_PIPELINE, '--cache', join(dir, cache), '--out', join(dir, `out-${cache}`), '--json', '--remote-cache', nginx.url, ...trust, ...extra]);
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
    const id = (await readFile(`${keyA}.pub`, 'utf8')).trim();
    for (const name of ac) {
      const [line, sig, rest] = (await readFile(join(nginx.dataDir, 'ac', name), 'utf8')).split('\n');
      t.equal(JSON.parse(line!).key, `sha256:${name}`, `ac/${name.slice(0, 12)}: the entry line`);
      t.match(JSON.parse(sig!), { schema: 'reingest-signature/1', signer: id }, `ac/${name.slice(0, 12)}: signed by the cluster key`);
      t.equal(rest, '', 'and nothing after');
    }

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

  t.test('another trusted result already in the remote for a key is nondeterminism; an unbelieved one is noted; neither is overwritten', async (t) => {
    const m = await manifestOf('a');
    const seg2 = m.tasks.find((x) => x.id === 'segment:2')!;
    const entryPath = join(nginx.dataDir, 'ac', hex(seg2.key));
    const original = await readFile(entryPath, 'utf8');
    t.teardown(() => writeFile(entryPath, original));
    const entry = JSON.parse(original.split('\n')[0]!) as { output: { digest: string }; edges: { digest: string }[] };
    // Another writer claimed this key maps to other bytes (not in the remote, so it is not a usable hit).
    const forged = `sha256:${'e'.repeat(64)}`;
    entry.edges = entry.edges.map((e) => (e.digest === entry.output.digest ? { ...e, digest: forged } : e));
    entry.output.digest = forged;
    const line = `${JSON.stringify(entry)}\n`;
    const signed = new RemoteTrust({ signingKey: await readFile(keyA, 'utf8'), trustedKeys: [], trustUnsigned: false }).seal(line);
    await writeFile(entryPath, signed);
    const d = await run('d');
    t.equal(d.code, 1);
    t.match(d.stderr, new RegExp(`REINGEST_E_NONDETERMINISTIC: task segment:2: key ${seg2.key} already maps to output ${forged} in the remote cache http://127\\.0\\.0\\.1:\\d+, this run produced ${seg2.output.digest}`));
    t.equal(await readFile(entryPath, 'utf8'), signed, 'the remote entry was not overwritten');

    // Unsigned, the same claim proves nothing: anyone who can write to the remote could have made it.
    await writeFile(entryPath, line);
    const d2 = await run('d2');
    t.equal(d2.code, 0, d2.stderr);
    t.equal(runJson(d2.stdout).root, SAMPLE_ROOT);
    t.match(d2.stderr, /remote cache holds an unbelieved entry with another result for this key; ours is not published/);
    t.equal(await readFile(entryPath, 'utf8'), line, 'the unbelieved entry was not overwritten either');
  });

  t.test('a node that trusts the cluster public key (--trusted-keys) gets every task; a node that trusts nothing reruns every task', async (t) => {
    const trusted = await run('f', ['--mirror', 'http://127.0.0.1:9/'], ['--trusted-keys', `${keyA}.pub`]);
    t.equal(trusted.code, 0, trusted.stderr);
    t.match(runJson(trusted.stdout), { root: SAMPLE_ROOT, tasksRun: 0, tasksCached: SAMPLE_TASKS });
    const none = await run('g', [], []);
    t.equal(none.code, 0, none.stderr);
    t.match(runJson(none.stdout), { root: SAMPLE_ROOT, tasksRun: SAMPLE_TASKS, tasksCached: 0 });
    const warnings = none.stderr.match(/remote cache: action entry not believed/g) ?? [];
    t.equal(warnings.length, 1, 'signed by an untrusted key: said once, not once per task');
    t.match(none.stderr, /signed by ed25519:[A-Za-z0-9_-]{43}, which is not a trusted key/);
  });

  t.test('a self-consistent forged entry changes nothing unless the user believes the remote', async (t) => {
    const m = await manifestOf('a');
    const seg0 = m.tasks.find((x) => x.id === 'segment:0')!;
    const seg1 = m.tasks.find((x) => x.id === 'segment:1')!;
    const entryPath = join(nginx.dataDir, 'ac', hex(seg0.key));
    const original = await readFile(entryPath, 'utf8');
    t.teardown(() => writeFile(entryPath, original));
    // segment:0's key (its preimage is untouched, so it hashes to the key) claims segment:1's output, an object the remote holds.
    const entry = JSON.parse(original.split('\n')[0]!) as { output: { digest: string }; edges: { digest: string }[] };
    const swap = (e: { digest: string }) => (e.digest === seg0.output.digest ? seg1.output : e);
    entry.edges = entry.edges.map(swap);
    entry.output = swap(entry.output);
    const line = `${JSON.stringify(entry)}\n`;
    const attacker = join(dir, 'attacker.key');
    t.equal((await runCli(['cache', 'keygen', attacker])).code, 0);
    const forgeries: [string, string, RegExp][] = [
      ['unsigned', line, /the entry is not signed/],
      ['signed by a key nobody trusts', new RemoteTrust({ signingKey: await readFile(attacker, 'utf8'), trustedKeys: [], trustUnsigned: false }).seal(line), /which is not a trusted key/],
      ["the cluster's signature over the original bytes", line + original.split('\n')[1]! + '\n', /does not verify/],
    ];
    for (const [what, text, why] of forgeries) {
      await writeFile(entryPath, text);
      const r = await run(`h-${forgeries.findIndex((f) => f[0] === what)}`, [], ['--trusted-keys', `${keyA}.pub`]);
      t.equal(r.code, 0, r.stderr);
      t.equal(runJson(r.stdout).root, SAMPLE_ROOT, `${what}: the root is the recipe's`);
      t.match(r.stderr, why, `${what}: refused, with the reason`);
    }
    await writeFile(entryPath, line);
    const believed = await run('h-trust', [], ['--trust-remote']);
    t.equal(believed.code, 0, believed.stderr);
    t.not(runJson(believed.stdout).root, SAMPLE_ROOT, '--trust-remote believes the remote: its forged entry decides the data');
  });

  t.test('an object longer than its entry declares is cut off at that size, refused, and repaired', async (t) => {
    const m = await manifestOf('a');
    const seg3 = m.tasks.find((x) => x.id === 'segment:3')!;
    const objPath = join(nginx.dataDir, 'cas', hex(seg3.output.digest));
    const good = await readFile(objPath);
    await writeFile(objPath, Buffer.concat([good, Buffer.alloc(4 * 1024 * 1024, 0x61)]));
    const r = await run('i');
    t.equal(r.code, 0, r.stderr);
    t.equal(runJson(r.stdout).root, SAMPLE_ROOT);
    t.match(r.stderr, /remote cache served an object longer than its entry declares; download stopped/);
    t.same(await readFile(objPath), good, 'the task reran and uploaded the right bytes over the long copy');
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
