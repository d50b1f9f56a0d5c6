import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import t from 'tap';
import { SAMPLE_ROOT } from './golden.ts';
import { runCli, runJson } from './helpers.ts';
import type { FakeCommonCrawl } from './support/fake-cc.ts';
import { servedSample } from './support/served-sample.ts';

const seg = (cc: FakeCommonCrawl, i: number) => [...cc.routes.keys()].filter((k) => k.endsWith('.warc.gz')).sort()[i]!;

const faultySample = (t: Parameters<typeof servedSample>[0], configure: (cc: FakeCommonCrawl) => void) =>
  servedSample(t, { configure, fetchParams: { backoffMs: 1000, maxBackoffMs: 2000, stallSeconds: 1 } });

t.test('every recoverable fault gives the clean run\'s root', async (t) => {
  const { dir, file, cc } = await faultySample(t, (cc) => {
    cc.routes.get(seg(cc, 0))!.faults = [{ kind: 'reset', afterBytes: 10_000 }, { kind: 'reset', afterBytes: 7 }];
    cc.routes.get(seg(cc, 1))!.faults = [{ kind: 'status', status: 503, headers: { 'retry-after': '1' } }, { kind: 'status', status: 500 }];
    cc.routes.get(seg(cc, 2))!.faults = [{ kind: 'stall', afterBytes: 20_000, ms: 2500 }];
    cc.routes.get(seg(cc, 3))!.faults = [{ kind: 'reset', afterBytes: 3000 }, { kind: 'ignore-range' }];
    cc.routes.get('crawl-data/CC-SAMPLE/warc.paths.gz')!.faults = [{ kind: 'status', status: 503 }];
  });
  const events = join(dir, 'events.ndjson');
  const r = await runCli(['run', file, '--cache', join(dir, 'cache'), '--out', join(dir, 'out'), '--json', '--log-level', 'warn', '--events', events]);
  t.equal(r.code, 0, r.stderr);
  t.equal(runJson(r.stdout).root, SAMPLE_ROOT);
  t.match(r.stderr, /backing off before retrying/);
  // Waits are events too, for progress displays and other tools: the 503 then the 500 of segment 1.
  const retries = (await readFile(events, 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as { type: string; id: string; stage?: string; attempt?: number; waitMs?: number; reason?: string }).filter((e) => e.type === 'task-retry');
  const seg1 = retries.filter((e) => e.id === 'segment:1');
  t.match(seg1, [{ stage: 'http-fetch', attempt: 1, reason: 'status 503' }, { stage: 'http-fetch', attempt: 2, reason: 'status 500' }]);
  t.ok(seg1.every((e) => e.waitMs! >= 1000), 'every wait is at least 1 s');
  t.ok(retries.some((e) => e.id === 'segment:0' && /body broke/.test(e.reason!)), 'a reset mid-body is a retry event of its segment');
  t.match(r.stderr, /restarting segment/);
  const ranged = cc.requests.filter((q) => q.headers.range);
  t.ok(ranged.length >= 3, `resumed with Range ${ranged.length} times`);
  t.ok(ranged.every((q) => q.headers['if-range']), 'every resume is conditional (If-Range)');
});

t.test('an unrecoverable fault names the segment and leaves nothing half-written', async (t) => {
  let missing = '';
  const { dir, file } = await faultySample(t, (cc) => {
    missing = seg(cc, 5);
    cc.routes.get(missing)!.faults = [{ kind: 'status', status: 404 }];
  });
  const cache = join(dir, 'cache');
  const r = await runCli(['run', file, '--cache', cache, '--out', join(dir, 'out'), '--concurrency', '1']);
  t.equal(r.code, 1);
  t.match(r.stderr, new RegExp(`REINGEST_E_SOURCE_MISSING: GET http://127\\.0\\.0\\.1:\\d+/${missing.replace(/\./g, '\\.')}: expected status 200, got 404`));
  t.same(await readdir(join(cache, 'tmp')), [], 'no temp file left');
  t.equal((await runCli(['cache', 'verify', '--cache', cache])).code, 0);
  const rerun = await runCli(['run', file, '--cache', cache, '--out', join(dir, 'out'), '--json']);
  t.equal(runJson(rerun.stdout).root, SAMPLE_ROOT, 'the fault was one-off: a rerun completes');
});
