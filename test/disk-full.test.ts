import { execFileSync } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, statfs, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { PassThrough } from 'node:stream';
import t, { type Test } from 'tap';
import { appendWhole, writeAllSync, writeFileAtomic } from '../cache/atomic-write.ts';
import { main } from '../cli/main.ts';
import { runCli, runJson, SAMPLE_PIPELINE } from './helpers.ts';

/**
 * Issue 17: a full disk under --cache or --out. A run that meets one fails with REINGEST_E_DISK_FULL
 * (exit 1, never 70), leaves no temp file, publishes no truncated object under a full name and no half
 * folder at --out, and a rerun on a bigger disk ends with the root of an uninterrupted run. The disk is a
 * small tmpfs (this suite runs as root, in CI too); one segment of the sample keeps every run short.
 */
const ONE_SEGMENT = ['--segments', '0'];

/** The root of an uninterrupted one-segment run, set by the --out test and checked by the --cache test. */
let reference: string | undefined;

/** Whether this machine lets us mount a tmpfs (root only): the reason to skip when it does not. */
async function cannotMount(): Promise<string | false> {
  const dir = await mkdtemp(join(tmpdir(), 'reingest-disk-probe-'));
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=4k', 'tmpfs', dir], { stdio: 'pipe' });
    execFileSync('umount', [dir], { stdio: 'pipe' });
    return false;
  } catch (err) {
    return `cannot mount a tmpfs (needs root): ${String((err as { stderr?: Buffer }).stderr ?? err).trim()}`;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
const skip = await cannotMount();

/** A tmpfs of `size` at a fresh folder, unmounted at teardown. */
async function tmpfs(t: Test, size: string): Promise<string> {
  const base = await mkdtemp(join(tmpdir(), 'reingest-disk-full-'));
  const dir = join(base, 'disk');
  await mkdir(dir);
  execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', dir], { stdio: 'pipe' });
  t.teardown(async () => {
    try {
      execFileSync('umount', [dir], { stdio: 'pipe' });
    } catch {
      execFileSync('umount', ['-l', dir], { stdio: 'pipe' });
    }
    await rm(base, { recursive: true, force: true });
  });
  return dir;
}

function resize(dir: string, size: string): void {
  execFileSync('mount', ['-o', `remount,size=${size}`, dir], { stdio: 'pipe' });
}

/** Temp files, dedup spills, staging and old --out folders: whatever a failed writer may have left. */
async function leftovers(dir: string): Promise<string[]> {
  const found: string[] = [];
  const walk = async (d: string): Promise<void> => {
    for (const e of await readdir(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      const rel = relative(dir, p);
      if (/^\.tmp-|\.partial-|\.old-|^dedup-/.test(e.name) || /(^|\/)cache\/tmp\/./.test(rel)) found.push(rel);
      if (e.isDirectory()) await walk(p);
    }
  };
  await walk(dir);
  return found;
}

/** `reingest cache verify --cache DIR --json`, through the CLI's own entry point (no process to start). */
async function verifyCache(cache: string): Promise<{ code: number; report: { corrupt: unknown[]; entries: { refused: unknown[]; dangling: unknown[] } } }> {
  const stdout = new PassThrough();
  let text = '';
  stdout.on('data', (d: Buffer) => (text += d.toString()));
  const io = { stdout, stderr: new PassThrough() as unknown as NodeJS.WriteStream, env: {}, signal: new AbortController().signal };
  const code = await main(['cache', 'verify', '--cache', cache, '--json'], io);
  return { code, report: JSON.parse(text) };
}

/** A failed run's stderr: one REINGEST_E_DISK_FULL line naming a file on the full disk; not a bug. */
function assertDiskFull(t: Test, r: { code: number | null; stderr: string }, disk: string, what: string): string {
  t.equal(r.code, 1, `${what}: exit 1 (a typed failure), not 0 or 70`);
  const m = /^reingest: REINGEST_E_DISK_FULL: no space left on the device while writing (\S+) \((?:ENOSPC|EDQUOT)[^)]*\); free space/m.exec(r.stderr);
  t.ok(m, `${what}: REINGEST_E_DISK_FULL on stderr (${r.stderr.trim().slice(0, 300)})`);
  t.ok(m?.[1]?.startsWith(`${disk}/`), `${what}: it names a file on the full disk (${m?.[1]})`);
  t.notMatch(r.stderr, /internal error|This is a bug/, `${what}: not reported as a bug`);
  return m?.[1] ? relative(disk, m[1]) : '(no file named)';
}

t.test('the helpers on a real full disk: nothing torn, nothing left, the old file kept, typed errors naming the file', { skip }, async (t) => {
  const disk = await tmpfs(t, '16k');
  const big = Buffer.alloc(64 * 1024, 7);
  await writeFileAtomic(join(disk, 'kept.json'), '{"old":true}\n');
  await t.rejects(writeFileAtomic(join(disk, 'kept.json'), big), { code: 'REINGEST_E_DISK_FULL', where: join(disk, 'kept.json') }, 'a replacement that does not fit');
  t.equal(await readFile(join(disk, 'kept.json'), 'utf8'), '{"old":true}\n', 'the old file is whole');
  t.equal(await writeFileAtomic(join(disk, 'kept.json'), 'new', { exclusive: true }), false, 'create-only: an existing name is kept');
  t.equal(await readFile(join(disk, 'kept.json'), 'utf8'), '{"old":true}\n');

  await writeFile(join(disk, 'runs.jsonl'), '{"run":1}\n');
  const fd = openSync(join(disk, 'ballast'), 'w');
  t.throws(() => writeAllSync(fd, big, join(disk, 'ballast')), { code: 'REINGEST_E_DISK_FULL', where: join(disk, 'ballast') }, 'a synchronous spill that fills the disk');
  closeSync(fd);
  await t.rejects(appendWhole(join(disk, 'runs.jsonl'), `${JSON.stringify({ run: 2, pad: 'x'.repeat(10_000) })}\n`), { code: 'REINGEST_E_DISK_FULL' }, 'an appended line that does not fit');
  t.equal(await readFile(join(disk, 'runs.jsonl'), 'utf8'), '{"run":1}\n', 'no torn line left to glue onto the next one');
  t.same((await readdir(disk)).sort(), ['ballast', 'kept.json', 'runs.jsonl'], 'no temp file');
});

t.test('a full --out: a typed error, the previous folder kept whole, nothing half-written beside it', { skip }, async (t) => {
  const disk = await tmpfs(t, '64m');
  const cache = join(disk, '..', 'cache');
  const out = join(disk, 'out');
  const first = await runCli(['run', SAMPLE_PIPELINE, ...ONE_SEGMENT, '--cache', cache, '--out', out, '--json']);
  t.equal(first.code, 0, first.stderr);
  reference = runJson(first.stdout).root;
  const manifest = await readFile(join(out, 'manifest.json'), 'utf8');
  const fs = await statfs(disk);
  const used = ((fs.blocks - fs.bfree) * fs.bsize) / 1024;
  // Room for none or most of a second copy: the staging folder fills at its first file, then at its last.
  const points = new Set<string>();
  for (const room of [8, 176]) {
    resize(disk, `${used + room}k`);
    const r = await runCli(['run', SAMPLE_PIPELINE, ...ONE_SEGMENT, '--cache', cache, '--out', out, '--json']);
    points.add(assertDiskFull(t, r, disk, `--out with ${room} KiB free`).replace(/^out\.partial-\w+\//, ''));
    t.same(await leftovers(disk), [], 'no staging folder or temp file left');
    t.equal(await readFile(join(out, 'manifest.json'), 'utf8'), manifest, 'the previous --out is untouched');
  }
  t.comment(`--out filled at: ${[...points].join(', ')}`);
  t.ok(points.size >= 2, `the disk filled at different files (${points.size})`);
  resize(disk, '64m');
  const again = await runCli(['run', SAMPLE_PIPELINE, ...ONE_SEGMENT, '--cache', cache, '--out', out, '--json']);
  t.equal(again.code, 0, again.stderr);
  t.equal(runJson(again.stdout).root, reference, 'with room again: the same root');
});

t.test('a full --cache, filling at several points: typed errors, no temp file, a cache that verifies, then the same root', { skip }, async (t) => {
  const disk = await tmpfs(t, '8k');
  const cache = join(disk, 'cache');
  const out = join(disk, '..', 'out');
  // Each run resumes from what the last one kept on a slightly larger disk: it fills at the first object,
  // then at an action entry, then at dedup's spill files.
  const points = new Set<string>();
  for (const size of ['8k', '160k', '400k']) {
    resize(disk, size);
    const r = await runCli(['run', SAMPLE_PIPELINE, ...ONE_SEGMENT, '--cache', cache, '--out', out, '--json']);
    points.add(assertDiskFull(t, r, disk, `--cache of ${size}`).replace(/[0-9a-f]{2}\/[0-9a-f]{64}\.json$|\.tmp-[\w-]+$|dedup-[\w-]+\/\d+$/, '*'));
    t.same(await leftovers(disk), [], `${size}: no temp file or spill left`);
    const v = await verifyCache(cache);
    t.equal(v.code, 0, `${size}: cache verify passes`);
    t.match(v.report, { corrupt: [], entries: { refused: [], dangling: [] } }, `${size}: no truncated object, no entry naming a missing one`);
  }
  t.comment(`--cache filled at: ${[...points].join(', ')}`);
  t.ok(points.size >= 3, `the disk filled at different kinds of file (${points.size})`);
  resize(disk, '64m');
  const done = await runCli(['run', SAMPLE_PIPELINE, ...ONE_SEGMENT, '--cache', cache, '--out', out, '--json']);
  t.equal(done.code, 0, done.stderr);
  if (reference) t.equal(runJson(done.stdout).root, reference, 'the root of an uninterrupted run');
  t.ok(runJson(done.stdout).tasksCached > 0, 'finished tasks were kept');
});

t.test('a full disk met on a segment worker thread is the same typed error, not a bug', { skip }, async (t) => {
  const disk = await tmpfs(t, '300k');
  const cache = join(disk, 'cache');
  // Two segments, so the chains run on workers; 300 KiB fills while they write their objects.
  const r = await runCli(['run', SAMPLE_PIPELINE, '--segments', '0..1', '--workers', '2', '--cache', cache, '--out', join(disk, '..', 'out'), '--json']);
  assertDiskFull(t, r, disk, 'on a worker');
  t.same(await leftovers(disk), [], 'no temp file left');
  t.equal((await verifyCache(cache)).code, 0, 'cache verify passes');
});
