import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import t from 'tap';
import { sha256 } from '../cache/digest.ts';
import { LocalMirror } from '../runner/local-mirror.ts';
import { httpFetch } from '../stages/http-fetch.ts';
import { USER_AGENT } from '../stages/lib/open-url.ts';
import { pathList, type PathListParams } from '../stages/path-list.ts';
import { collect, ROOT, stageCtx } from './helpers.ts';
import { FakeCommonCrawl } from './support/fake-cc.ts';

const ctx = <P>(params: P, mirror: string) => stageCtx(params, { mirror });
const params = (raw: object): PathListParams => pathList.parseParams({ pathList: 'crawl-data/CC-MAIN-2025-33/warc.paths.gz', ...raw }, 'source.params');

t.test('the real CC-MAIN-2025-33 listing: 100,000 paths, deterministic selection, digest recorded', async (t) => {
  const cc = new FakeCommonCrawl();
  const bytes = await readFile(join(ROOT, 'test/fixtures/cc-main-2025-33/warc.paths.gz'));
  cc.routes.set('crawl-data/CC-MAIN-2025-33/warc.paths.gz', { body: bytes });
  const mirror = await cc.start();
  t.teardown(() => cc.stop());
  const all = await pathList.list(ctx(params({ select: { count: 3 } }), mirror));
  t.same(all.listing, { path: 'crawl-data/CC-MAIN-2025-33/warc.paths.gz', size: 201252, sha256: sha256(bytes) });
  t.same(all.segments.map((s) => s.index), [0, 1, 2]);
  t.match(all.segments[0]!.path, /^crawl-data\/CC-MAIN-2025-33\/segments\/\d+\.\d+\/warc\/CC-MAIN-.*-00000\.warc\.gz$/);
  const every = await pathList.list(ctx(params({ select: { start: 5, every: 1000 } }), mirror));
  t.equal(every.segments.length, 100);
  t.same(every.segments.slice(0, 2).map((s) => s.index), [5, 1005]);
  t.equal(cc.requests[0]!.headers['user-agent'], USER_AGENT, 'a descriptive User-Agent');
  const pinned = await pathList.list(ctx(params({ sha256: sha256(bytes), select: { count: 1 } }), mirror));
  t.equal(pinned.segments.length, 1);
});

t.test('a pinned digest that does not match fails the run, naming both digests', async (t) => {
  const cc = new FakeCommonCrawl();
  cc.routes.set('crawl-data/CC-MAIN-2025-33/warc.paths.gz', { body: gzipSync('crawl-data/CC-MAIN-2025-33/segments/1/warc/a.warc.gz\n') });
  const mirror = await cc.start();
  t.teardown(() => cc.stop());
  const pin = sha256('something else');
  await t.rejects(pathList.list(ctx(params({ sha256: pin }), mirror)), { code: 'REINGEST_E_PIN_MISMATCH', message: new RegExp(`pins ${pin} but the listing fetched hashes to sha256:`) });
});

t.test('listings that are not WARC path lists are rejected with the line that is wrong', async (t) => {
  const cc = new FakeCommonCrawl();
  cc.routes.set('html/warc.paths.gz', { body: '<!DOCTYPE html><html><body>Access denied</body></html>\n' });
  cc.routes.set('parquet/warc.paths.gz', { body: await readFile(join(ROOT, 'test/fixtures/whirlwind/CC-MAIN-2024-22.warc.paths.gz')) });
  const mirror = await cc.start();
  t.teardown(() => cc.stop());
  const p = (path: string) => pathList.parseParams({ pathList: path }, 'source.params');
  await t.rejects(pathList.list(ctx(p('html/warc.paths.gz'), mirror)), { code: 'REINGEST_E_PATH_LIST', message: /line 1: expected a WARC\/WET\/WAT path .* got "<!DOCTYPE html>/ });
  await t.rejects(pathList.list(ctx(p('parquet/warc.paths.gz'), mirror)), { code: 'REINGEST_E_PATH_LIST', message: /line 1: .*got "[^"]*part-/ });
  await t.rejects(pathList.list(ctx(p('missing/warc.paths.gz'), mirror)), { code: 'REINGEST_E_SOURCE_MISSING', message: /expected status 200, got 404/ });
});

t.test('http-fetch streams one whole file with one GET', async (t) => {
  const cc = new FakeCommonCrawl();
  const body = Buffer.alloc(3 * 1024 * 1024, 'x');
  cc.routes.set('crawl-data/X/segments/1/warc/a.warc.gz', { body, trickle: { bytes: 256 * 1024, ms: 1 } });
  const mirror = await cc.start();
  t.teardown(() => cc.stop());
  const chunks = await collect(httpFetch.open({ index: 0, path: 'crawl-data/X/segments/1/warc/a.warc.gz' }, ctx(httpFetch.parseParams({}, 'p'), mirror)));
  t.same(Buffer.concat(chunks), body);
  t.equal(cc.requests.length, 1);
  t.notOk(cc.requests[0]!.headers.range, 'no range requests');
});

t.test('an abort stops a stream midway', async (t) => {
  const cc = new FakeCommonCrawl();
  cc.routes.set('crawl-data/X/segments/1/warc/a.warc.gz', { body: Buffer.alloc(4 * 1024 * 1024), trickle: { bytes: 64 * 1024, ms: 20 } });
  const mirror = await cc.start();
  t.teardown(() => cc.stop());
  const ac = new AbortController();
  const c = { ...ctx(httpFetch.parseParams({}, 'p'), mirror), signal: ac.signal };
  let got = 0;
  await t.rejects(
    (async () => {
      for await (const chunk of httpFetch.open({ index: 0, path: 'crawl-data/X/segments/1/warc/a.warc.gz' }, c)) {
        got += chunk.byteLength;
        if (got > 200 * 1024) ac.abort(new Error('stop'));
      }
    })(),
  );
  t.ok(got < 1024 * 1024, `stopped after ${got} bytes`);
});

t.test('the local mirror serves files, ranges and 404s, and nothing outside its folder', async (t) => {
  const m = new LocalMirror(join(ROOT, 'sample'));
  const url = await m.start();
  t.teardown(() => m.stop());
  t.match(url, /^http:\/\/127\.0\.0\.1:\d+\/$/);
  const list = await fetch(`${url}crawl-data/CC-SAMPLE/warc.paths.gz`);
  t.equal(list.status, 200);
  const whole = Buffer.from(await list.arrayBuffer());
  const part = await fetch(`${url}crawl-data/CC-SAMPLE/warc.paths.gz`, { headers: { range: 'bytes=10-' } });
  t.equal(part.status, 206);
  t.same(Buffer.from(await part.arrayBuffer()), whole.subarray(10));
  t.equal((await fetch(`${url}nope`)).status, 404);
  t.equal((await fetch(`${url}..%2Fpackage.json`)).status, 403);
});
