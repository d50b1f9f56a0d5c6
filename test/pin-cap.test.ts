import { randomBytes } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import t from 'tap';
import { sha256 } from '../cache/digest.ts';
import type { Manifest } from '../runner/manifest.ts';
import { capAtPin } from '../runner/pin-cap.ts';
import type { SegmentPin } from '../runner/stage.ts';
import { httpFetch } from '../stages/http-fetch.ts';
import { streamHttp, type HttpPolicy } from '../stages/lib/http-stream.ts';
import { openUrl } from '../stages/lib/open-url.ts';
import { SAMPLE_ROOT } from './golden.ts';
import { collect, ROOT, runCli, runJson, stageCtx } from './helpers.ts';
import { FakeCommonCrawl, routeFolder, type Route, serveRoute } from './support/fake-cc.ts';

/**
 * Issue 17, "every download capped at its pinned size": a rerun from a manifest knows each segment's exact
 * size, so a mirror that sends more stops at the first byte past it, one that declares or sends another
 * size fails at once, and neither is retried: REINGEST_E_PIN_MISMATCH naming what was pinned, what came
 * and the URL.
 */

const FAST: HttpPolicy = { maxAttempts: 4, backoffMs: 20, maxBackoffMs: 200, stallMs: 2000, maxStreams: 2, random: () => 0 };
const PATH = 'crawl-data/CC-TEST/segments/1/warc/x.warc.gz';
const BODY = randomBytes(1024 * 1024);
const PIN: SegmentPin = { sha256: sha256(BODY), size: BODY.length };
/** What a hostile mirror appends: far more than any socket buffers, so a count past the pin shows who stopped. */
const EXTRA = 64 * 1024 * 1024;
/** What the server may have sent past the pin when the client stops at once: the kernel's socket buffers. */
const SLACK = 16 * 1024 * 1024;
const quiet = { debug() {}, info() {}, warn() {} };

const serve = (t: { teardown(fn: () => unknown): void }, route: Route) => serveRoute(t, PATH, route);

/** Reads a pinned stream, counting what went downstream; the deadline turns a missing bound into a failure, not a hang. */
async function readPinned(url: URL, pin: SegmentPin = PIN): Promise<{ read: number; error: unknown }> {
  let read = 0;
  try {
    for await (const c of streamHttp(url, AbortSignal.timeout(20_000), quiet, { ...FAST, pin })) read += c.byteLength;
    return { read, error: null };
  } catch (error) {
    return { read, error };
  }
}

const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

t.test('a pinned stream of exactly the pinned bytes passes, and resumes after a reset as usual', async (t) => {
  const { cc, url } = await serve(t, { body: BODY, faults: [{ kind: 'reset', afterBytes: 100_000 }] });
  const got = Buffer.concat(await collect(streamHttp(url, AbortSignal.timeout(20_000), quiet, { ...FAST, pin: PIN })));
  t.equal(sha256(got), PIN.sha256);
  t.equal(cc.requests.length, 2, 'a broken connection is still a transient fault');
});

for (const chunked of [false, true]) {
  t.test(`a mirror appending bytes ${chunked ? 'without Content-Length' : 'counted in Content-Length'} stops at the pin, once`, async (t) => {
    const { cc, url } = await serve(t, { body: BODY, append: EXTRA, chunked });
    const { read, error } = await readPinned(url);
    const got = chunked ? `at least \\d+ bytes` : `a declared size of ${BODY.length + EXTRA} bytes \\(Content-Length\\)`;
    t.match(error, {
      code: 'REINGEST_E_PIN_MISMATCH',
      message: new RegExp(`^GET ${esc(url.href)}: expected exactly ${PIN.size} bytes \\(the manifest pins ${PIN.sha256}\\), got ${got}; the mirror serves another file`),
    });
    t.ok(read <= PIN.size, `no byte past the pin went downstream (${read})`);
    if (!chunked) t.equal(read, 0, 'refused from the declared size, before the body');
    t.equal(cc.requests.length, 1, 'not retried');
    await new Promise((r) => setTimeout(r, 100));
    const sent = cc.requests[0]!.sent;
    t.ok(sent < PIN.size + SLACK, `the server sent ${sent} bytes of ${PIN.size + EXTRA} (pin + socket buffers at most)`);
  });
}

t.test('a mirror sending fewer bytes fails at once, declared or not', async (t) => {
  const short = BODY.subarray(0, BODY.length - 1000);
  for (const chunked of [false, true]) {
    const { cc, url } = await serve(t, { body: short, chunked });
    const { error } = await readPinned(url);
    const got = chunked ? `${short.length} bytes \\(the body ended there\\)` : `a declared size of ${short.length} bytes \\(Content-Length\\)`;
    t.match(error, { code: 'REINGEST_E_PIN_MISMATCH', message: new RegExp(`expected exactly ${PIN.size} bytes .*, got ${got};`) }, chunked ? 'chunked' : 'Content-Length');
    t.equal(cc.requests.length, 1, 'not retried');
  }
});

t.test('a pinned file:// source is held to its size both ways', async (t) => {
  const dir = t.testdir({ 'long.warc.gz': Buffer.concat([BODY, Buffer.alloc(300_000)]), 'short.warc.gz': BODY.subarray(0, 1000) });
  for (const [name, got] of [['long', `at least \\d+ bytes`], ['short', '1000 bytes \\(the file ends there\\)']] as const) {
    const url = new URL(`file://${join(dir, `${name}.warc.gz`)}`);
    let read = 0;
    await t.rejects(
      (async () => {
        for await (const c of openUrl(url, AbortSignal.timeout(10_000), quiet, { ...FAST, pin: PIN })) read += c.byteLength;
      })(),
      { code: 'REINGEST_E_PIN_MISMATCH', message: new RegExp(`^read ${esc(url.href)}: expected exactly ${PIN.size} bytes .*, got ${got};`) },
    );
    t.ok(read <= PIN.size, `${name}: no byte past the pin went downstream`);
  }
});

t.test('http-fetch takes the pin from its context: the stage interface carries it, not the params', async (t) => {
  const { url } = await serve(t, { body: BODY, append: 10, chunked: true });
  const ctx = { ...stageCtx(httpFetch.parseParams({}, 'p'), { mirror: new URL('/', url).href }), pin: PIN };
  await t.rejects(collect(httpFetch.open({ index: 0, path: PATH }, ctx)), { code: 'REINGEST_E_PIN_MISMATCH' });
  t.same(httpFetch.keyParams!(ctx.params), {}, 'nothing of it reaches a key');
});

t.test("the runner's own cap stops a fetch stage that ignores the pin, and closes its stream", async (t) => {
  let closed = false;
  let pulled = 0;
  async function* careless(): AsyncGenerator<Uint8Array> {
    try {
      for (let i = 0; i < 16; i++) {
        pulled += 64 * 1024;
        yield new Uint8Array(64 * 1024);
      }
    } finally {
      closed = true;
    }
  }
  const pin: SegmentPin = { sha256: PIN.sha256, size: 200_000 };
  let read = 0;
  await t.rejects(
    (async () => {
      for await (const c of capAtPin(careless(), pin, 'seg/x.warc.gz', 'careless-fetch')) read += c.byteLength;
    })(),
    { code: 'REINGEST_E_PIN_MISMATCH', message: /^segment seg\/x\.warc\.gz: the manifest pins sha256:\w+ \(200000 bytes\), the fetch stage careless-fetch delivered at least 262144 bytes and was stopped there/ },
  );
  t.equal(read, 196_608, 'the chunk that crosses the pin does not go downstream');
  t.equal(pulled, 262_144, 'nothing is pulled after it');
  t.ok(closed, 'the stage stream was closed');
  const plain = new Uint8Array(300_000);
  t.same(await collect(capAtPin((async function* () { yield plain; })(), undefined, 'x', 'y')), [plain], 'without a pin it passes bytes through');
});

/** The sample's manifest, made once from its local folder: every rerun below is checked against its pins. */
async function sampleManifest(dir: string): Promise<{ file: string; manifest: Manifest }> {
  const r = await runCli(['run', join(ROOT, 'pipelines/sample.ts'), '--cache', join(dir, 'first'), '--out', join(dir, 'first-out'), '--json']);
  if (r.code !== 0) throw new Error(r.stderr);
  const file = runJson(r.stdout).manifest;
  return { file, manifest: JSON.parse(await readFile(file, 'utf8')) as Manifest };
}

async function mirror(t: { teardown(fn: () => unknown): void }, victim?: { path: string; change: (r: Route) => void }): Promise<{ cc: FakeCommonCrawl; url: string }> {
  const cc = new FakeCommonCrawl();
  await routeFolder(cc, join(ROOT, 'sample'));
  if (victim) victim.change(cc.routes.get(victim.path)!);
  const url = await cc.start();
  t.teardown(() => cc.stop());
  return { cc, url };
}

t.test('reruns of the sample manifest from a loopback mirror', async (t) => {
  const dir = t.testdir();
  const { file, manifest } = await sampleManifest(dir);
  const victim = manifest.inputs.segments[2]!;

  t.test('an honest mirror: the same root', async (t) => {
    const { url } = await mirror(t);
    const r = await runCli(['run', file, '--mirror', url, '--cache', join(dir, 'honest'), '--out', join(dir, 'honest-out'), '--json']);
    t.equal(r.code, 0, r.stderr);
    t.equal(runJson(r.stdout).root, SAMPLE_ROOT);
  });

  const cases: { name: string; change: (r: Route) => void; got: string; args?: string[] }[] = [
    { name: 'appended bytes in Content-Length', change: (r) => (r.append = EXTRA), got: `a declared size of ${victim.size + EXTRA} bytes \\(Content-Length\\)` },
    { name: 'appended bytes, chunked (on a worker thread)', change: (r) => ((r.append = EXTRA), (r.chunked = true)), got: 'at least \\d+ bytes', args: ['--workers', '1'] },
    { name: 'fewer bytes', change: (r) => (r.body = Buffer.from(r.body).subarray(0, victim.size - 1)), got: `a declared size of ${victim.size - 1} bytes \\(Content-Length\\)` },
  ];
  for (const c of cases) {
    t.test(`a mirror serving ${c.name}: PIN_MISMATCH, exit 1, bounded bytes`, async (t) => {
      const { cc, url } = await mirror(t, { path: victim.path, change: c.change });
      const cache = join(dir, `cache-${cases.indexOf(c)}`);
      const r = await runCli(['run', file, '--mirror', url, '--segments', String(victim.index), '--cache', cache, '--out', join(dir, 'bad-out'), ...(c.args ?? [])]);
      t.equal(r.code, 1, r.stderr);
      t.match(r.stderr, new RegExp(`REINGEST_E_PIN_MISMATCH: GET ${esc(url)}${esc(victim.path)}: expected exactly ${victim.size} bytes \\(the manifest pins ${victim.sha256}\\), got ${c.got};`));
      const gets = cc.requests.filter((q) => q.path === victim.path);
      t.equal(gets.length, 1, 'not retried');
      if (c.name.startsWith('appended')) t.ok(gets[0]!.sent < victim.size + SLACK, `the server sent ${gets[0]!.sent} of ${victim.size + EXTRA} bytes (pin ${victim.size})`);
      t.same(await readdir(join(cache, 'tmp')), [], 'no temp file left');
    });
  }

  t.test('verify against a mirror appending bytes: the source bit, with the pin mismatch named', async (t) => {
    const { cc, url } = await mirror(t, { path: victim.path, change: (r) => ((r.append = EXTRA), (r.chunked = true)) });
    const r = await runCli(['verify', file, '--mirror', url, '--json']);
    t.equal(r.code, 1, r.stderr);
    const out = JSON.parse(r.stdout) as { exit: number; failure: { code: string; message: string } };
    t.match(out, { exit: 1, failure: { code: 'REINGEST_E_PIN_MISMATCH', message: new RegExp(`^GET ${esc(url)}${esc(victim.path)}: expected exactly ${victim.size} bytes`) } });
    const sent = cc.requests.find((q) => q.path === victim.path)!.sent;
    t.ok(sent < victim.size + SLACK, `the server sent ${sent} of ${victim.size + EXTRA} bytes`);
  });
});
