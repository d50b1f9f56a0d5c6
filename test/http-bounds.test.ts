import { randomBytes } from 'node:crypto';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import t from 'tap';
import { sha256 } from '../cache/digest.ts';
import { httpFetch } from '../stages/http-fetch.ts';
import { ThroughputGuard } from '../cache/throughput.ts';
import { backoffWait, parseRetryAfter, streamHttp, type HttpPolicy } from '../stages/lib/http-stream.ts';
import { pathList } from '../stages/path-list.ts';
import { collect, runCli, stageCtx } from './helpers.ts';
import { FakeCommonCrawl, type Fault, type Route, serveRoute } from './support/fake-cc.ts';
import { servedSample } from './support/served-sample.ts';

/**
 * Issue 17, "nothing read is trusted: every read bounded": each bound of the HTTP client and the path
 * listing, against a loopback server that misbehaves in the way the bound is for.
 */

const FAST: HttpPolicy = { maxAttempts: 4, backoffMs: 20, maxBackoffMs: 300, stallMs: 2000, maxStreams: 2, random: () => 0 };
const PATH = 'crawl-data/CC-TEST/segments/1/warc/x.warc.gz';
const BODY = randomBytes(256 * 1024);
const DAY_MS = 24 * 3600 * 1000;
/** A Location naming the same object: a loop, if it were followed. */
const url0 = (path: string) => `/${path}`;

const serve = (t: { teardown(fn: () => unknown): void }, route: Route) => serveRoute(t, PATH, route);

/** A logger that keeps the waits it is told of; a deadline so a missing bound fails the test instead of hanging it. */
function watched(ms = 10_000) {
  const waits: number[] = [];
  const reasons: string[] = [];
  const log = { debug() {}, info() {}, warn: (o: object) => (waits.push((o as { waitMs: number }).waitMs), reasons.push((o as { reason: string }).reason)) };
  return { waits, reasons, log, signal: AbortSignal.timeout(ms) };
}

/** Bombs are at the top: they measure this process's peak memory, best before other tests raise it. */
t.test('a gzip-bomb listing (1 MB -> 1 GiB) fails REINGEST_E_LISTING_TOO_LARGE with bounded memory', async (t) => {
  // 1024 gzip members of 1 MiB of zeros, concatenated: gunzip reads them as one 1 GiB stream.
  const member = gzipSync(Buffer.alloc(1024 * 1024));
  const bomb = Buffer.concat(Array.from({ length: 1024 }, () => member));
  const cc = new FakeCommonCrawl();
  cc.routes.set('bomb/warc.paths.gz', { body: bomb });
  const mirror = await cc.start();
  t.teardown(() => cc.stop());
  const peakBefore = process.resourceUsage().maxRSS * 1024;
  const started = Date.now();
  await t.rejects(pathList.list(stageCtx(pathList.parseParams({ pathList: 'bomb/warc.paths.gz' }, 'p'), { mirror })), {
    code: 'REINGEST_E_LISTING_TOO_LARGE',
    message: /bomb\/warc\.paths\.gz: expected a path listing of at most 67108864 bytes .*got 10\d+ bytes that inflate past 67108864/,
  });
  const grew = process.resourceUsage().maxRSS * 1024 - peakBefore;
  t.ok(grew < 256 * 1024 * 1024, `peak RSS grew by ${Math.round(grew / 2 ** 20)} MiB (inflating it all takes over 1 GiB)`);
  t.ok(Date.now() - started < 5000, `stopped early (${Date.now() - started} ms)`);
});

t.test('a listing download larger than the cap is refused from its declared size, before its body is read', async (t) => {
  const cc = new FakeCommonCrawl();
  cc.routes.set('big/warc.paths.gz', { body: Buffer.alloc(64 * 1024 * 1024 + 1) });
  const mirror = await cc.start();
  t.teardown(() => cc.stop());
  await t.rejects(pathList.list(stageCtx(pathList.parseParams({ pathList: 'big/warc.paths.gz' }, 'p'), { mirror })), {
    code: 'REINGEST_E_LISTING_TOO_LARGE',
    message: /a declared size of 67108865 bytes \(Content-Length\)/,
  });
});

t.test('a gzip-bomb listing through the CLI is a typed failure (exit 1), not an internal error (exit 70)', async (t) => {
  const member = gzipSync(Buffer.alloc(1024 * 1024));
  const { dir, file } = await servedSample(t, {
    configure: (cc) => (cc.routes.get('crawl-data/CC-SAMPLE/warc.paths.gz')!.body = Buffer.concat(Array.from({ length: 1024 }, () => member))),
  });
  // The sample pins its listing; a rerun of an unpinned recipe is the case the bomb reaches.
  const { writeFile, readFile } = await import('node:fs/promises');
  const spec = JSON.parse(await readFile(file, 'utf8')) as { source: { params: Record<string, unknown> } };
  delete spec.source.params.sha256;
  await writeFile(file, JSON.stringify(spec));
  const r = await runCli(['run', file, '--cache', join(dir, 'cache'), '--out', join(dir, 'out')]);
  t.equal(r.code, 1, r.stderr);
  t.match(r.stderr, /REINGEST_E_LISTING_TOO_LARGE: http:\/\/127\.0\.0\.1:\d+\/crawl-data\/CC-SAMPLE\/warc\.paths\.gz: expected a path listing/);
});

t.test('waits are clamped to [backoffMs, maxBackoffMs] whatever Retry-After says', async (t) => {
  const policy = { backoffMs: 1000, maxBackoffMs: 2000 };
  t.equal(backoffWait(policy, 1, parseRetryAfter('999999'), () => 0), 2000, 'Retry-After: 999999 (11.6 days) -> maxBackoffMs');
  t.equal(backoffWait(policy, 1, parseRetryAfter(new Date(Date.now() + 30 * DAY_MS).toUTCString()), () => 0), 2000, 'a date past the 24.8-day timer limit -> maxBackoffMs, not 1 ms');
  t.equal(backoffWait(policy, 1, parseRetryAfter('Wed, 01 Jan 2020 00:00:00 GMT'), () => 0), 1000, 'a date in the past -> backoffMs');
  t.equal(backoffWait(policy, 1, parseRetryAfter('9'.repeat(400)), () => 0), 2000, 'a number too large for a double -> maxBackoffMs');
  t.equal(backoffWait(policy, 20, null, () => 0.999), 2000, 'the exponential backoff and its jitter too');
  t.equal(backoffWait(policy, 1, parseRetryAfter('1'), () => 0.999), 1499.5, 'jitter within the bounds is kept');
});

t.test('the client really waits the clamped time: Retry-After 999999 and a far-future date', async (t) => {
  const far = new Date(Date.now() + 30 * DAY_MS).toUTCString();
  const { cc, url } = await serve(t, {
    body: BODY,
    faults: [
      { kind: 'status', status: 503, headers: { 'retry-after': '999999' } },
      { kind: 'status', status: 429, headers: { 'retry-after': far } },
      { kind: 'status', status: 503, headers: { 'retry-after': 'Wed, 01 Jan 2020 00:00:00 GMT' } },
    ],
  });
  const w = watched();
  const started = Date.now();
  const got = Buffer.concat(await collect(streamHttp(url, w.signal, w.log, FAST)));
  t.equal(sha256(got), sha256(BODY));
  t.same(w.waits, [300, 300, 80], 'two clamped to maxBackoffMs; the past date gets the exponential wait (20 * 2^2)');
  const elapsed = Date.now() - started;
  t.ok(elapsed >= 680 && elapsed < 3000, `slept what was logged (${elapsed} ms)`);
  t.equal(cc.requests.length, 4);
});

t.test('an endless body stops at maxBytes with a typed error naming the URL, the limit and its source', async (t) => {
  const { url } = await serve(t, { body: BODY, faults: [{ kind: 'endless' }] });
  const w = watched();
  let read = 0;
  await t.rejects(
    (async () => {
      for await (const c of streamHttp(url, w.signal, w.log, { ...FAST, maxBytes: 1_000_000, maxBytesFrom: 'a test cap' })) read += c.byteLength;
    })(),
    { code: 'REINGEST_E_SOURCE_TOO_LARGE', message: new RegExp(`GET ${url.href.replace(/\./g, '\\.')}: expected at most 1000000 bytes \\(a test cap\\), got at least \\d+ bytes; .*raise the limit \\(a test cap\\)`) },
  );
  t.ok(read <= 1_000_000, `no byte past the cap went downstream (${read})`);
});

t.test('more bytes than the server declared (Content-Range total) is an error, not accepted', async (t) => {
  // The first answer is cut; the resumed one declares the object's size in Content-Range but sends 100 kB more.
  const { cc, url } = await serve(t, { body: BODY, faults: [{ kind: 'reset', afterBytes: 10_000 }, { kind: 'overlong', extra: 100_000 }] });
  const w = watched();
  let read = 0;
  await t.rejects(
    (async () => {
      for await (const c of streamHttp(url, w.signal, w.log, FAST)) read += c.byteLength;
    })(),
    { code: 'REINGEST_E_SOURCE_TOO_LARGE', message: new RegExp(`expected at most ${BODY.length} bytes \\(the size the server declared \\(Content-Range total\\)\\).*server sent more than it said`) },
  );
  t.equal(cc.requests[1]!.headers.range, 'bytes=10000-');
  t.ok(read <= BODY.length, `no byte past the declared size went downstream (${read})`);
});

t.test('a redirect (to itself, or elsewhere) is not followed: one request, a typed error naming the status', async (t) => {
  for (const status of [301, 302, 307, 308]) {
    const { cc, url } = await serve(t, { body: BODY, faults: [{ kind: 'status', status, headers: { location: url0(PATH) } }] });
    const w = watched();
    await t.rejects(collect(streamHttp(url, w.signal, w.log, FAST)), { code: 'REINGEST_E_SOURCE_HTTP', message: new RegExp(`expected status 200 or 206, got ${status}`) });
    t.equal(cc.requests.length, 1, `${status}: one request, no loop`);
  }
});

t.test('a declared size over the cap is refused before the body is read', async (t) => {
  const { cc, url } = await serve(t, { body: BODY });
  await t.rejects(collect(streamHttp(url, AbortSignal.timeout(10_000), watched().log, { ...FAST, maxBytes: 100_000 })), {
    code: 'REINGEST_E_SOURCE_TOO_LARGE',
    message: new RegExp(`a declared size of ${BODY.length} bytes \\(Content-Length\\)`),
  });
  t.equal(cc.requests.length, 1, 'not retried');
});

t.test('a file:// source stops at maxBytes too', async (t) => {
  const { openUrl } = await import('../stages/lib/open-url.ts');
  const dir = t.testdir({ 'x.warc.gz': Buffer.alloc(300_000) });
  const url = new URL(`file://${join(dir, 'x.warc.gz')}`);
  await t.rejects(collect(openUrl(url, AbortSignal.timeout(10_000), watched().log, { ...FAST, maxBytes: 200_000, maxBytesFrom: 'a test cap' })), {
    code: 'REINGEST_E_SOURCE_TOO_LARGE',
    message: /^read file:\/\/.*x\.warc\.gz: expected at most 200000 bytes \(a test cap\)/,
  });
});

t.test('the throughput guard: under the minimum over a whole window fails, above it or shorter does not', async (t) => {
  const slow = new ThroughputGuard(1024, 60_000);
  const fired = Array.from({ length: 61 }, () => slow.add(1, 1000)).findIndex((r) => r !== null);
  t.equal(fired, 59, '1 byte/s is refused as soon as a 60 s window is full');
  const fast = new ThroughputGuard(1024, 60_000);
  t.ok(Array.from({ length: 200 }, () => fast.add(2048, 1000)).every((r) => r === null), '2 KiB/s is enough');
  const burst = new ThroughputGuard(1024, 60_000);
  t.ok(Array.from({ length: 100 }, (_, i) => burst.add(i % 10 === 0 ? 100_000 : 1, 1000)).every((r) => r === null), 'bursty but 10 kB/s on average over every window');
  const off = new ThroughputGuard(0, 1000);
  t.ok(Array.from({ length: 100 }, () => off.add(0, 1000)).every((r) => r === null), '0 turns it off');
});

t.test('a trickling body is resumed with Range like a stall, and the attempt budget ends it', async (t) => {
  // 100 bytes every 50 ms (2 kB/s) against a minimum of 10 kB/s over 500 ms of network time.
  const { cc, url } = await serve(t, { body: BODY.subarray(0, 64 * 1024), trickle: { bytes: 100, ms: 50 } });
  const w = watched();
  await t.rejects(collect(streamHttp(url, w.signal, w.log, { ...FAST, minBytesPerSecond: 10_000, throughputWindowMs: 500 })), {
    code: 'REINGEST_E_SOURCE_HTTP',
    message: /gave up after 4 attempts \(last: body too slow at byte \d+: \d+ bytes\/s over 0\.5 s, expected at least 10000\)/,
  });
  t.equal(w.reasons.length, 3);
  t.ok(w.reasons.every((r) => /^body too slow/.test(r)));
  t.ok(cc.requests.slice(1).every((q) => /^bytes=\d+-$/.test(String(q.headers.range))), 'each retry resumes with Range');
});

t.test('a slow consumer never counts against the server', async (t) => {
  // The server sends at once; the consumer holds each chunk 30 ms. Wall-clock rate ~2 MB/s, network rate far more.
  const body = randomBytes(2 * 1024 * 1024);
  const { cc, url } = await serve(t, { body });
  const w = watched();
  const chunks: Buffer[] = [];
  for await (const c of streamHttp(url, w.signal, w.log, { ...FAST, minBytesPerSecond: 20 * 1024 * 1024, throughputWindowMs: 200 })) {
    chunks.push(Buffer.from(c));
    await new Promise((r) => setTimeout(r, 30));
  }
  t.equal(sha256(Buffer.concat(chunks)), sha256(body));
  t.same(w.reasons, [], 'no retry');
  t.equal(cc.requests.length, 1);
});

t.test('http-fetch: the bounds are params, run settings (out of the manifest), with documented defaults', async (t) => {
  const p = httpFetch.parseParams({}, 'segment[0].params');
  t.equal(p.maxSegmentBytes, 8 * 1024 ** 3);
  t.equal(p.minBytesPerSecond, 1024);
  t.equal(p.throughputWindowSeconds, 60);
  for (const name of ['maxSegmentBytes', 'minBytesPerSecond', 'throughputWindowSeconds']) t.ok(httpFetch.runSettings?.includes(name), `${name} is a run setting`);
  t.throws(() => httpFetch.parseParams({ maxSegmentBytes: 10 }, 'segment[0].params'), { code: 'REINGEST_E_SPEC', message: /maxSegmentBytes: expected an integer from 1048576/ });
});

t.test('an endless segment fails the run with REINGEST_E_SOURCE_TOO_LARGE and leaves the cache tmp folder empty', async (t) => {
  let victim = '';
  const { dir, file } = await servedSample(t, {
    fetchParams: { backoffMs: 1000, maxBackoffMs: 2000, stallSeconds: 5, maxSegmentBytes: 1024 * 1024 },
    configure: (cc) => {
      victim = [...cc.routes.keys()].filter((k) => k.endsWith('.warc.gz')).sort()[2]!;
      cc.routes.get(victim)!.faults = [{ kind: 'endless' } as Fault];
    },
  });
  const cache = join(dir, 'cache');
  const r = await runCli(['run', file, '--cache', cache, '--out', join(dir, 'out'), '--concurrency', '1']);
  t.equal(r.code, 1, r.stderr);
  t.match(r.stderr, new RegExp(`REINGEST_E_SOURCE_TOO_LARGE: GET http://127\\.0\\.0\\.1:\\d+/${victim.replace(/\./g, '\\.')}: expected at most 1048576 bytes \\(http-fetch param maxSegmentBytes\\)`));
  t.same(await readdir(join(cache, 'tmp')), [], 'no temp file left');
});
