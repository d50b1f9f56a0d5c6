import { randomBytes } from 'node:crypto';
import t from 'tap';
import { sha256 } from '../cache/digest.ts';
import { streamHttp, parseRetryAfter, type HttpPolicy } from '../stages/lib/http-stream.ts';
import { activeStreams } from '../stages/lib/stream-slots.ts';
import { collect } from './helpers.ts';
import { FakeCommonCrawl, type Fault } from './support/fake-cc.ts';

/** Fast backoff for tests; the stage's params refuse anything under 1 s for real runs. */
const FAST: HttpPolicy = { maxAttempts: 5, backoffMs: 20, maxBackoffMs: 200, stallMs: 300, maxStreams: 2, random: () => 0.5 };
const PATH = 'crawl-data/CC-TEST/segments/1/warc/x.warc.gz';
const warnings: object[] = [];
const log = { debug() {}, info() {}, warn: (o: object) => warnings.push(o) };

async function serve(t: { teardown(fn: () => unknown): void }, body: Buffer, faults: Fault[] = []): Promise<{ cc: FakeCommonCrawl; url: URL }> {
  const cc = new FakeCommonCrawl();
  cc.routes.set(PATH, { body, faults });
  const base = await cc.start();
  t.teardown(() => cc.stop());
  return { cc, url: new URL(PATH, base) };
}

const BODY = randomBytes(1024 * 1024);

t.test('resets and stalls mid-body resume with Range + If-Range and give the same digest', async (t) => {
  const { cc, url } = await serve(t, BODY, [
    { kind: 'reset', afterBytes: 100_000 },
    { kind: 'stall', afterBytes: 50_000, ms: 1500 },
    { kind: 'reset', afterBytes: 1 },
  ]);
  const got = Buffer.concat(await collect(streamHttp(url, new AbortController().signal, log, FAST)));
  t.equal(sha256(got), sha256(BODY), 'same bytes as an unbroken read');
  t.equal(cc.requests.length, 4);
  t.notOk(cc.requests[0]!.headers.range);
  t.equal(cc.requests[1]!.headers.range, 'bytes=100000-');
  t.equal(cc.requests[2]!.headers.range, 'bytes=150000-');
  t.equal(cc.requests[3]!.headers.range, 'bytes=150001-');
  t.match(cc.requests[1]!.headers['if-range'], /^"[0-9a-f]{32}"$/, 'If-Range carries the ETag');
});

t.test('503 bursts back off exponentially and honour Retry-After', async (t) => {
  const { cc, url } = await serve(t, BODY, [
    { kind: 'status', status: 503 },
    { kind: 'status', status: 503 },
    { kind: 'status', status: 429, headers: { 'retry-after': '1' } },
  ]);
  const times: number[] = [];
  const start = Date.now();
  const got = Buffer.concat(await collect(streamHttp(url, new AbortController().signal, { ...log, warn: (o: object) => { times.push(Date.now() - start); warnings.push(o); } }, { ...FAST, maxBackoffMs: 2000 })));
  t.equal(sha256(got), sha256(BODY));
  t.equal(cc.requests.length, 4);
  const waits = cc.requests.length - 1;
  t.equal(times.length, waits, 'one warning per wait');
  const elapsed = Date.now() - start;
  t.ok(elapsed >= 1000, `Retry-After: 1 was honoured (${elapsed} ms in all)`);
});

t.test('the 1 s floor: the default policy never retries sooner than a second', async (t) => {
  const { httpFetch } = await import('../stages/http-fetch.ts');
  t.throws(() => httpFetch.parseParams({ backoffMs: 10 }, 'segment[0].params'), { code: 'REINGEST_E_SPEC', message: /backoffMs: expected an integer from 1000/ });
  t.equal(httpFetch.parseParams({}, 'p').backoffMs, 1000);
  t.equal(parseRetryAfter('7'), 7000);
  t.equal(parseRetryAfter('nonsense'), null);
  t.ok(parseRetryAfter(new Date(Date.now() + 5000).toUTCString())! > 3000);
});

t.test('404 and 403 fail at once, without retries', async (t) => {
  for (const status of [404, 403]) {
    const { cc, url } = await serve(t, BODY, [{ kind: 'status', status }]);
    await t.rejects(collect(streamHttp(url, new AbortController().signal, log, FAST)), { code: 'REINGEST_E_SOURCE_MISSING', message: new RegExp(`got ${status}.*not retried`) });
    t.equal(cc.requests.length, 1, `${status}: one request only`);
  }
});

t.test('bounded attempts: a service that keeps failing gives a clear error', async (t) => {
  const { cc, url } = await serve(t, BODY, Array.from({ length: 10 }, () => ({ kind: 'status', status: 503 }) as Fault));
  await t.rejects(collect(streamHttp(url, new AbortController().signal, log, FAST)), { code: 'REINGEST_E_SOURCE_HTTP', message: /gave up after 5 attempts \(last: status 503\)/ });
  t.equal(cc.requests.length, 5);
});

t.test('an object that changes between requests restarts the segment and says so', async (t) => {
  const other = randomBytes(BODY.length);
  const { url } = await serve(t, BODY, [{ kind: 'reset', afterBytes: 5000 }, { kind: 'change', body: other }]);
  await t.rejects(collect(streamHttp(url, new AbortController().signal, log, FAST)), { code: 'REINGEST_E_SOURCE_RESTART', message: /the object changed while it was read/ });
});

t.test('a server that ignores Range restarts the segment rather than splice bytes', async (t) => {
  const { url } = await serve(t, BODY, [{ kind: 'reset', afterBytes: 5000 }, { kind: 'ignore-range' }]);
  await t.rejects(collect(streamHttp(url, new AbortController().signal, log, FAST)), { code: 'REINGEST_E_SOURCE_RESTART', message: /ignored a Range request at byte 5000/ });
});

t.test('at most maxStreams streams are open at once, whatever the callers', async (t) => {
  const cc = new FakeCommonCrawl();
  for (let i = 0; i < 5; i++) cc.routes.set(`f${i}`, { body: BODY.subarray(0, 200_000), trickle: { bytes: 20_000, ms: 10 } });
  const base = await cc.start();
  t.teardown(() => cc.stop());
  let peak = 0;
  const readers = Array.from({ length: 5 }, async (_, i) => {
    let n = 0;
    for await (const c of streamHttp(new URL(`f${i}`, base), new AbortController().signal, log, FAST)) {
      n += c.byteLength;
      peak = Math.max(peak, activeStreams());
    }
    return n;
  });
  t.same(await Promise.all(readers), [200_000, 200_000, 200_000, 200_000, 200_000]);
  t.equal(peak, 2);
  t.equal(activeStreams(), 0, 'every slot released');
});

t.test('waits grow exponentially from the base and jitter never shortens them', async (t) => {
  const waits: number[] = [];
  const { url } = await serve(t, BODY, [{ kind: 'status', status: 503 }, { kind: 'status', status: 502 }, { kind: 'status', status: 500 }]);
  const policy = { ...FAST, backoffMs: 40, maxBackoffMs: 10_000, random: () => 0 };
  await collect(streamHttp(url, new AbortController().signal, { ...log, warn: (o: object) => waits.push((o as { waitMs: number }).waitMs) }, policy));
  t.same(waits, [40, 80, 160]);
  const jittered: number[] = [];
  const { url: url2 } = await serve(t, BODY, [{ kind: 'status', status: 503 }]);
  await collect(streamHttp(url2, new AbortController().signal, { ...log, warn: (o: object) => jittered.push((o as { waitMs: number }).waitMs) }, { ...policy, random: () => 0.999 }));
  t.ok(jittered[0]! >= 40 && jittered[0]! <= 60, `jittered first wait ${jittered[0]} within [base, 1.5 base]`);
});
