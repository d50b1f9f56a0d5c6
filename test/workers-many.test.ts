import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import t from 'tap';
import { gzipMember, warcRecord } from '../sample/gen/warc-writer.ts';
import { runCli, runJson } from './helpers.ts';

/**
 * Many segments on few workers: whatever a job adds to the run (an abort listener on the run's signal, a
 * closure) must go when the job ends, or it piles up with the segment count. Node reports a pile of
 * listeners as a process warning (MaxListenersExceededWarning), so a clean stderr is the check.
 */
const SEGMENTS = 1000;
const LISTING = 'crawl-data/T/warc.paths.gz';

/** A local mirror of `n` one-record WARC files (~250 bytes each, each different) and a listing of them. */
async function tinyCrawl(root: string, n: number): Promise<void> {
  await mkdir(join(root, 'crawl-data/T/segments/1/warc'), { recursive: true });
  const paths: string[] = [];
  for (let i = 0; i < n; i++) {
    const path = `crawl-data/T/segments/1/warc/s${String(i).padStart(5, '0')}.warc.gz`;
    const fields = [
      ['WARC-Type', 'resource'],
      ['WARC-Record-ID', `<urn:uuid:00000000-0000-0000-0000-${String(i).padStart(12, '0')}>`],
      ['WARC-Target-URI', `http://example.test/${i}`],
      ['WARC-Date', '2025-01-01T00:00:00Z'],
      ['Content-Type', 'text/plain'],
    ] as const;
    await writeFile(join(root, path), gzipMember(warcRecord(fields, Buffer.from(`segment ${i}\n`))));
    paths.push(path);
  }
  await writeFile(join(root, LISTING), gzipSync(`${paths.join('\n')}\n`));
}

t.test(`${SEGMENTS} segments on 2 workers: no process warning, every segment in the output`, async (t) => {
  const dir = t.testdir();
  const mirror = join(dir, 'mirror');
  await tinyCrawl(mirror, SEGMENTS);
  const file = join(dir, 'many.json');
  // The cheapest chain that still runs every segment on a worker: fetch, WARC records, one JSONL file.
  await writeFile(
    file,
    JSON.stringify({
      name: 'many',
      mirror: { localDir: mirror },
      source: { stage: 'cc-path-list', params: { pathList: LISTING } },
      segment: [{ stage: 'http-fetch' }, { stage: 'warc-records' }],
      aggregate: [{ stage: 'jsonl', output: 'uris.jsonl', params: { fields: ['uri'] } }],
    }),
  );
  const t0 = performance.now();
  const r = await runCli(['run', file, '--cache', join(dir, 'c'), '--out', join(dir, 'o'), '--json', '--workers', '2', '--concurrency', '2']);
  t.comment(`${SEGMENTS} segments, --workers 2: ${Math.round(performance.now() - t0)} ms`);
  t.equal(r.code, 0, r.stderr);
  t.notMatch(r.stderr, /Warning/, 'no process warning (MaxListenersExceededWarning, ...) on stderr');
  t.match(runJson(r.stdout), { tasksRun: SEGMENTS + 2 });
  const lines = (await readFile(join(dir, 'o', 'uris.jsonl'), 'utf8')).trimEnd().split('\n');
  t.equal(lines.length, SEGMENTS);
  t.same(JSON.parse(lines.at(-1)!), { segment: `crawl-data/T/segments/1/warc/s${String(SEGMENTS - 1).padStart(5, '0')}.warc.gz`, uri: `http://example.test/${SEGMENTS - 1}` });
});
