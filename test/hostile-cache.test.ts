import { existsSync } from 'node:fs';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import t from 'tap';
import { digestHex, type Digest } from '../cache/digest.ts';
import { ACTION_MAX_BYTES, ObjectStore } from '../cache/store.ts';
import type { Manifest } from '../runner/manifest.ts';
import { SAMPLE_ROOT } from './golden.ts';
import { runCli, runJson, SAMPLE_PIPELINE } from './helpers.ts';

/**
 * A cache directory may be shared with other nodes (or filled from a remote): its action entries are
 * claims, checked by one validator (runner/task-result.ts) before anything uses them. A refused entry is
 * a miss: the task reruns, the root is the same, and nothing outside --out and --cache is touched.
 */
async function sampleInCache(dir: string) {
  const cache = join(dir, 'c');
  const made = runJson((await runCli(['run', SAMPLE_PIPELINE, '--cache', cache, '--out', join(dir, 'o'), '--json'])).stdout);
  const m = JSON.parse(await readFile(made.manifest, 'utf8')) as Manifest;
  const store = new ObjectStore(cache);
  const entryOf = (id: string) => store.actionPath(digestHex(m.tasks.find((x) => x.id === id)!.key));
  return { cache, m, store, entryOf };
}

t.test('an entry whose digests name paths outside the cache is refused: nothing is re-hashed, renamed or written there', async (t) => {
  const dir = t.testdir({ victim: 'do not touch\n' });
  const { cache, store, entryOf } = await sampleInCache(dir);
  const victim = join(dir, 'victim');
  // objectPath('sha256:' + hex) joins objects/sha256/<hex[0..2]>/<hex>: this "hex" climbs to the victim.
  const escape = `sha256:/../../../victim` as Digest;
  t.equal(store.objectPath(escape), victim, 'without the validator, the entry would name the victim file');
  const file = entryOf('segment:0');
  const entry = JSON.parse(await readFile(file, 'utf8'));
  entry.edges[1].recordIndex = escape;
  entry.edges[2].exclusions = escape;
  await writeFile(file, JSON.stringify(entry));
  const r = await runCli(['run', SAMPLE_PIPELINE, '--cache', cache, '--out', join(dir, 'o2'), '--json', '--log-level', 'warn']);
  t.equal(r.code, 0, r.stderr);
  t.equal(runJson(r.stdout).root, SAMPLE_ROOT, 'the task reran: same root');
  t.match(r.stderr, /action entry refused; rerunning the task/);
  t.match(r.stderr, /edges\[1\]\.recordIndex: expected a digest/);
  t.equal(await readFile(victim, 'utf8'), 'do not touch\n', 'the victim is untouched (not quarantined, not renamed)');
});

t.test('an entry whose preimage does not hash to its key, or that is far too large, is refused', async (t) => {
  const dir = t.testdir();
  const { cache, entryOf } = await sampleInCache(dir);
  const forged = entryOf('segment:1');
  const entry = JSON.parse(await readFile(forged, 'utf8'));
  entry.preimage.stages[0].params = { forged: true };
  await writeFile(forged, JSON.stringify(entry));
  await writeFile(entryOf('segment:2'), `{"schema":"reingest-action/1","pad":"${'x'.repeat(ACTION_MAX_BYTES)}"}`);
  const r = await runCli(['run', SAMPLE_PIPELINE, '--cache', cache, '--out', join(dir, 'o2'), '--json', '--log-level', 'warn']);
  t.equal(r.code, 0, r.stderr);
  t.equal(runJson(r.stdout).root, SAMPLE_ROOT);
  t.match(r.stderr, /preimage: hashes to sha256:[0-9a-f]{64}, not to the key it is filed under/);
  t.match(r.stderr, new RegExp(`more than ${ACTION_MAX_BYTES}`));
});

t.test('a self-consistent forged files index whose names climb out of --out is a typed error, and writes nothing', async (t) => {
  const dir = t.testdir();
  const { cache, store, entryOf } = await sampleInCache(dir);
  const file = entryOf('aggregate:2');
  const entry = JSON.parse(await readFile(file, 'utf8'));
  const index = JSON.parse((await store.readAll(entry.output.digest)).toString('utf8'));
  index.files[0].name = '../../escaped';
  const put = await store.putBytes(Buffer.from(`${JSON.stringify(index)}\n`));
  for (const e of entry.edges) if (e.digest === entry.output.digest) Object.assign(e, { digest: put.digest, bytes: put.size });
  Object.assign(entry.output, { digest: put.digest, bytes: put.size });
  await writeFile(file, JSON.stringify(entry));
  const out = join(dir, 'sub', 'o2');
  const r = await runCli(['run', SAMPLE_PIPELINE, '--cache', cache, '--out', out]);
  t.equal(r.code, 1, r.stderr);
  t.match(r.stderr, /REINGEST_E_CACHE_CORRUPT: files index sha256:[0-9a-f]{64}: expected .* plain file names/);
  t.notOk(existsSync(join(dir, 'sub', 'escaped')) || existsSync(join(dir, 'escaped')) || existsSync(join(out, 'escaped')), 'no file written outside the output folder');
});

t.test('cache verify names and removes entries that are refused or name objects the cache lacks', async (t) => {
  const dir = t.testdir();
  const { cache, m, store, entryOf } = await sampleInCache(dir);
  const chain = m.tasks.find((x) => x.id === 'segment:3')!;
  await rm(store.objectPath(chain.output.digest));
  await writeFile(entryOf('segment:4'), '{"schema":"reingest-action/1"}');
  const v = await runCli(['cache', 'verify', '--cache', cache]);
  t.equal(v.code, 1);
  t.match(v.stdout, new RegExp(`DANGLING entry ${chain.key}: names 1 object\\(s\\) not in the cache \\(${chain.output.digest}\\); removed`));
  t.match(v.stdout, /REFUSED entry sha256:[0-9a-f]{64}: key: expected sha256:[0-9a-f]{64}; removed/);
  t.match(v.stdout, /1 refused, 1 dangling/);
  t.equal((await runCli(['cache', 'verify', '--cache', cache])).code, 0, 'clean afterwards');
  t.equal(runJson((await runCli(['run', SAMPLE_PIPELINE, '--cache', cache, '--out', join(dir, 'o2'), '--json'])).stdout).root, SAMPLE_ROOT);
});
