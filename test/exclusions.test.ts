import { chmod, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import t from 'tap';
import { ObjectStore } from '../cache/store.ts';
import type { Digest } from '../cache/digest.ts';
import { runCli, runJson, SAMPLE_PIPELINE } from './helpers.ts';

interface Line {
  task: string;
  segment?: number;
  stage: string;
  reason: string;
  id?: string;
  url?: string;
}
interface MEdge {
  stage: string;
  counters?: { drops: Record<string, number> };
  exclusions?: string;
}
interface MTask {
  id: string;
  edges: MEdge[];
}

const parseLines = (s: string): Line[] => s.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as Line);

t.test('every dropped document is listed once with its stage and reason, matching the manifest counters', async (t) => {
  const dir = t.testdir();
  const cache = join(dir, 'c');
  const made = runJson((await runCli(['run', SAMPLE_PIPELINE, '--cache', cache, '--out', join(dir, 'o'), '--json'])).stdout);
  const m = JSON.parse(await readFile(made.manifest, 'utf8')) as { tasks: MTask[] };
  const all = await runCli(['exclusions', made.manifest, '--cache', cache]);
  t.equal(all.code, 0, all.stderr);
  const lines = parseLines(all.stdout);

  // Document-level stages list every drop they count; html-text counts non-documents it does not list.
  const counted = new Map<string, number>();
  for (const task of m.tasks) {
    for (const e of task.edges) {
      for (const [reason, n] of Object.entries(e.counters?.drops ?? {})) {
        if (e.stage === 'html-text' && reason !== 'no-text') continue;
        counted.set(`${task.id}/${e.stage}/${reason}`, (counted.get(`${task.id}/${e.stage}/${reason}`) ?? 0) + n);
      }
    }
  }
  const listed = new Map<string, number>();
  for (const l of lines) listed.set(`${l.task}/${l.stage}/${l.reason}`, (listed.get(`${l.task}/${l.stage}/${l.reason}`) ?? 0) + 1);
  t.same(Object.fromEntries([...listed].sort()), Object.fromEntries([...counted].sort()), 'one line per counted document drop, per task, stage and reason');
  t.ok(lines.length > 100, `${lines.length} dropped documents listed`);
  t.ok(lines.every((l) => typeof l.id === 'string' && l.id.startsWith('<urn:uuid:') && typeof l.url === 'string' && l.url.startsWith('http')), 'each names its record id and url');
  t.ok(lines.some((l) => l.stage === 'dedup' && l.reason === 'near-duplicate' && l.task.startsWith('apply:')), 'whole-run drops are listed under the apply tasks');
  t.ok(lines.some((l) => l.stage === 'gopher-quality'), 'filter drops are listed');
  t.match(all.stderr, new RegExp(`reingest: ${lines.length} dropped documents: .*dedup/exact-duplicate=\\d+`));

  // Filters narrow; the same run at another concurrency lists the same documents in the same order.
  const near = parseLines((await runCli(['exclusions', made.manifest, '--cache', cache, '--stage', 'dedup', '--reason', 'near-duplicate'])).stdout);
  t.same(near, lines.filter((l) => l.stage === 'dedup' && l.reason === 'near-duplicate'));
  const cache2 = join(dir, 'c2');
  const again = runJson((await runCli(['run', SAMPLE_PIPELINE, '--cache', cache2, '--out', join(dir, 'o2'), '--json', '--concurrency', '1'])).stdout);
  t.equal((await runCli(['exclusions', again.manifest, '--cache', cache2])).stdout, all.stdout, 'byte-identical listing at concurrency 1');

  // The list is content-addressed: a changed byte is caught, a missing object is named.
  const digest = m.tasks.find((x) => x.id === 'segment:0')!.edges.find((e) => e.exclusions)!.exclusions as Digest;
  const path = new ObjectStore(cache).objectPath(digest);
  const bytes = await readFile(path);
  bytes[bytes.length - 1] = bytes[bytes.length - 1]! ^ 1;
  await chmod(path, 0o644);
  await writeFile(path, bytes);
  const corrupt = await runCli(['exclusions', made.manifest, '--cache', cache]);
  t.not(corrupt.code, 0, 'a corrupt list fails');
  t.match(corrupt.stderr, /corrupt|does not match|hash/i);
  await rm(path);
  const missing = await runCli(['exclusions', made.manifest, '--cache', cache]);
  t.equal(missing.code, 1);
  t.match(missing.stderr, /REINGEST_E_EXCLUSIONS_MISSING: task segment:0, stage [a-z-]+: its exclusions object sha256:[0-9a-f]{64} is not in the cache/);
});
