import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { open, readdir, readFile, utimes, writeFile, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import t from 'tap';
import { sha256 } from '../cache/digest.ts';
import { collectGarbage, verifyStore } from '../cache/maintenance.ts';
import { AtomicFile } from '../cache/atomic-write.ts';
import { ObjectStore, ObjectWriter } from '../cache/store.ts';
import type { Manifest } from '../runner/manifest.ts';
import { edgeObjects } from '../runner/task-result.ts';
import { collect, ROOT, runCli, runJson, SAMPLE_PIPELINE } from './helpers.ts';

/** A fresh cache in this test's own temp dir. */
async function store(t: { testdir(): string }): Promise<ObjectStore> {
  const s = new ObjectStore(t.testdir());
  await s.init();
  return s;
}

t.test('objects are named by the sha256 of their bytes and read back verified', async (t) => {
  const s = await store(t);
  const { digest, size } = await s.putBytes(Buffer.from('hello'));
  t.equal(digest, sha256('hello'));
  t.equal(size, 5);
  t.ok(await s.has(digest));
  t.same(Buffer.concat(await collect(s.read(digest))), Buffer.from('hello'));
  t.same(await readdir(join(s.root, 'tmp')), [], 'no temp file left behind');
});

t.test('an aborted writer leaves nothing visible', async (t) => {
  const s = await store(t);
  const w = await s.createWriter();
  await w.write(Buffer.alloc(1024 * 1024, 1));
  await w.abort();
  t.same(await collect(s.listObjects()), []);
  t.same(await readdir(join(s.root, 'tmp')), []);
});

t.test('a writer killed with SIGKILL mid-object leaves no object, only a temp file gc can remove', async (t) => {
  const s = await store(t);
  const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'test/support/slow-writer.ts'), s.root], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((resolve) => child.stdout.on('data', (d: Buffer) => d.toString().includes('writing') && resolve()));
  child.kill('SIGKILL');
  await new Promise((r) => child.on('close', r));
  t.same(await collect(s.listObjects()), [], 'no half object is visible');
  t.equal((await readdir(join(s.root, 'tmp'))).length, 1, 'the torn write stays in tmp/');
  const report = await collectGarbage(s, { objects: new Set(), actions: new Set() }, { dryRun: false, now: Date.now() + 2 * 3600_000 });
  t.equal(report.removedTemp, 1);
});

t.test('action entries are create-only: a second writer learns what is there', async (t) => {
  const s = await store(t);
  const hex = 'ab'.repeat(32);
  t.same(await s.writeActionOnce(hex, 'first'), { created: true });
  t.same(await s.writeActionOnce(hex, 'second'), { created: false, existing: 'first' });
  t.equal(await s.readAction(hex), 'first');
});

t.test('many concurrent writers of the same bytes publish one good object', async (t) => {
  const s = await store(t);
  const data = Buffer.alloc(2 * 1024 * 1024, 7);
  const results = await Promise.all(Array.from({ length: 8 }, () => s.putBytes(data)));
  t.equal(new Set(results.map((r) => r.digest)).size, 1);
  t.equal(await s.rehash(results[0]!.digest), results[0]!.digest);
  t.same(await readdir(join(s.root, 'tmp')), []);
});

t.test('a flipped byte is caught on read and by verify, which quarantines the object', async (t) => {
  const s = await store(t);
  const good = await s.putBytes(Buffer.from('the quick brown fox'));
  const other = await s.putBytes(Buffer.from('untouched'));
  const path = s.objectPath(good.digest);
  const bytes = await readFile(path);
  bytes[4] = bytes[4]! ^ 0x01;
  await writeFile(path, bytes);
  await t.rejects(collect(s.read(good.digest)), { code: 'REINGEST_E_CACHE_CORRUPT', message: /run `reingest cache verify`/ });
  const report = await verifyStore(s);
  t.equal(report.checked, 2);
  t.equal(report.corrupt.length, 1);
  t.equal(report.corrupt[0]!.digest, good.digest);
  t.notOk(await s.has(good.digest), 'moved out of objects/');
  t.ok(await s.has(other.digest));
  t.equal((await verifyStore(s)).corrupt.length, 0, 'clean afterwards');
});

t.test('gc keeps what is referenced and drops the rest', async (t) => {
  const s = await store(t);
  const keep = await s.putBytes(Buffer.from('keep'));
  const drop = await s.putBytes(Buffer.from('drop'));
  const keepKey = sha256('k1');
  await s.writeActionOnce(keepKey.slice(7), '{}');
  await s.writeActionOnce(sha256('k2').slice(7), '{}');
  const young = await collectGarbage(s, { objects: new Set([keep.digest]), actions: new Set([keepKey]) }, { dryRun: false, now: Date.now() });
  t.match(young, { removedObjects: 0, removedActions: 0 }, 'nothing used within the grace period (an hour) is removed: a run beside gc may need it');
  const later = Date.now() + 2 * 3600_000;
  const dry = await collectGarbage(s, { objects: new Set([keep.digest]), actions: new Set([keepKey]) }, { dryRun: true, now: later });
  t.equal(dry.removedObjects, 1);
  t.ok(await s.has(drop.digest), 'dry run removes nothing');
  const r = await collectGarbage(s, { objects: new Set([keep.digest]), actions: new Set([keepKey]) }, { dryRun: false, now: later });
  t.match(r, { keptObjects: 1, removedObjects: 1, removedBytes: 4, keptActions: 1, removedActions: 1 });
  t.ok(await s.has(keep.digest));
  t.notOk(await s.has(drop.digest));
});

/** An object writer over a real temp file whose writes go through `shim` (short writes, a full disk, a lie). */
async function writerWith(s: ObjectStore, shim: (real: FileHandle) => Partial<FileHandle>) {
  const tmp = join(s.root, 'tmp', 'shimmed');
  const real = await open(tmp, 'w');
  const fh = { sync: () => real.sync(), stat: () => real.stat(), close: () => real.close(), ...shim(real) } as FileHandle;
  return { tmp, w: new ObjectWriter(s, new AtomicFile(fh, tmp)) };
}

t.test('short writes are written to the end; a full disk or a lying write publishes nothing and leaves no temp file', async (t) => {
  const s = await store(t);
  const text = Buffer.from('hello, short writes');
  const short = await writerWith(s, (real) => ({ write: ((b: Buffer, off = 0, len = b.length - off) => real.write(b, off, Math.min(len, 3))) as FileHandle['write'] }));
  await short.w.write(text);
  t.same(await short.w.commit(), { digest: sha256(text), size: text.length }, 'three bytes at a time: the whole object');
  t.same(await s.readAll(sha256(text)), text);

  const other = Buffer.from('no room for this one');
  let budget = 5;
  const full = await writerWith(s, (real) => ({
    write: (async (b: Buffer, off = 0, len = b.length - off) => {
      const n = Math.min(len, budget);
      budget -= n;
      return real.write(b, off, n);
    }) as FileHandle['write'],
  }));
  await full.w.write(other);
  await t.rejects(full.w.commit(), { code: 'REINGEST_E_DISK_FULL', where: full.tmp, message: /took 0 of 15 bytes/ }, 'a write that takes nothing is a full disk, naming the file');
  t.notOk(await s.has(sha256(other)), 'nothing published');
  t.notOk(existsSync(full.tmp), 'the temp file is removed');

  const liar = await writerWith(s, () => ({ write: (async (b: Buffer, off = 0, len = b.length - off) => ({ bytesWritten: len })) as unknown as FileHandle['write'] }));
  await liar.w.write(other);
  await t.rejects(liar.w.commit(), { code: 'REINGEST_E_DISK_FULL', message: /holds 0 of the 20 bytes/ }, 'a write that claims bytes it did not write');
  t.notOk(await s.has(sha256(other)));
  t.notOk(existsSync(liar.tmp));
});

t.test('a cache hit marks its entry and objects as used now, so gc beside a run keeps them', async (t) => {
  const dir = t.testdir();
  const cache = join(dir, 'c');
  const made = runJson((await runCli(['run', SAMPLE_PIPELINE, '--cache', cache, '--out', join(dir, 'o'), '--json'])).stdout);
  const s = new ObjectStore(cache);
  const dayAgo = new Date(Date.now() - 24 * 3600_000);
  for await (const o of s.listObjects()) await utimes(s.objectPath(o.digest), dayAgo, dayAgo);
  for await (const a of s.listActions()) await utimes(s.actionPath(a.hex), dayAgo, dayAgo);
  const before = await collectGarbage(s, { objects: new Set(), actions: new Set() }, { dryRun: true, now: Date.now() });
  t.ok(before.removedObjects > 0 && before.removedActions > 0, 'a day old and unreferenced: gc would remove them');
  t.equal((await runCli(['run', SAMPLE_PIPELINE, '--cache', cache, '--out', join(dir, 'o'), '--json'])).code, 0);
  const m = JSON.parse(await readFile(made.manifest, 'utf8')) as Manifest;
  const named = new Set(m.tasks.flatMap((x) => [x.output, ...x.edges].flatMap(edgeObjects)));
  const after = await collectGarbage(s, { objects: new Set(), actions: new Set() }, { dryRun: true, now: Date.now() });
  t.match(after, { removedActions: 0, keptActions: m.tasks.length }, 'every entry the rerun hit is in use');
  let young = 0;
  for await (const o of s.listObjects()) if (named.has(o.digest) && Date.now() - o.mtimeMs < 60_000) young++;
  t.equal(young, named.size, `every object the manifest names was touched by the cached rerun (${named.size})`);
});
