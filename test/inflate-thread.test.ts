import { spawnSync } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import t from 'tap';
import { withInflatePlacement } from '../stages/warc/inflate-thread.ts';
import { readWarc } from '../stages/warc-records.ts';
import { chunked, ROOT, runCli } from './helpers.ts';

const fixture = (p: string) => readFile(join(ROOT, 'test/fixtures', p));

/** Everything a reader reports, errors included, as plain data: two placements must give the same. */
async function readAll(file: Buffer, sizes: number[], maxRecordBytes = 1 << 20): Promise<unknown[]> {
  const out: unknown[] = [];
  const note = (what: string, n?: number) => out.push(['note', what, n]);
  try {
    for await (const r of readWarc(chunked(file, sizes), { where: 'f.warc.gz', maxRecordBytes, verifyDigests: true, signal: new AbortController().signal, note })) {
      out.push([r.offset, r.fileOffset, r.fileLength, r.headers, r.block, r.blockDigest, r.payloadDigest, r.flags]);
    }
  } catch (err) {
    out.push(['error', (err as { code?: string }).code, (err as Error).message]);
  }
  return out;
}

function record(id: string, body: Buffer): Buffer {
  return Buffer.concat([Buffer.from(`WARC/1.0\r\nWARC-Type: resource\r\nWARC-Record-ID: <urn:${id}>\r\nContent-Length: ${body.length}\r\n\r\n`), body, Buffer.from('\r\n\r\n')]);
}

/** A per-record-gzip WARC of about `mb` MB compressed, poorly compressible so it stays big. */
function bigFile(mb: number): Buffer {
  const members: Buffer[] = [];
  let n = 0;
  let x = 2463534242;
  for (let i = 0; n < mb * 1e6; i++) {
    const words = new Uint32Array(10_000);
    for (let j = 0; j < words.length; j++) {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      words[j] = x & 0x3f3f3f3f; // 6 random bits a byte: compresses to ~3/4
    }
    const m = gzipSync(record(String(i), Buffer.from(words.buffer)), { level: 1 });
    members.push(m);
    n += m.length;
  }
  return Buffer.concat(members);
}

/** Junk longer than the walk's read-ahead, with a false gzip header (and one that inflates to no WARC) every 4 KiB. */
function longJunk(n: number): Buffer {
  const out = Buffer.alloc(n, 0x2e);
  const fake = Buffer.from([0x1f, 0x8b, 0x08, 0x00, 0, 0, 0, 0, 0, 0x03, 0xff]);
  const notWarc = gzipSync(Buffer.from('inflates, but to no WARC record\n'));
  for (let at = 100; at + 200 < n; at += 4096) (at % 8192 < 4096 ? fake : notWarc).copy(out, at);
  return out;
}

t.test('inflated on the thread or in place: the same records, offsets, verdicts, notes and errors', async (t) => {
  const whirlwind = await fixture('whirlwind/whirlwind.warc.gz');
  const junkMembers = await fixture('resync/junk-members.warc.gz');
  const exampleGz = await fixture('warcio/example.warc.gz');
  const cases: [string, Buffer, number?][] = [
    ['whirlwind (Common Crawl)', whirlwind],
    ['dolma sample', await fixture('dolma/sample-0000.warc.gz')],
    ['FEXTRA headers (jwarc)', await fixture('jwarc/gzip_extra_sl.warc.gz')],
    ['WET', await fixture('whirlwind/whirlwind.warc.wet.gz')],
    ['one member for the whole file', await fixture('warcio/example-bad-non-chunked.warc.gz')],
    ['members that split records', await fixture('warcio/example-wrong-chunks.warc.gz')],
    ['trailing garbage', Buffer.concat([await fixture('warcio/example.warc.gz'), Buffer.from('\0junk\n')])],
    ['junk between members, with false gzip headers (issue 17)', junkMembers],
    ['junk, then a real member cut short', junkMembers.subarray(0, 2719 + 300)],
    ['a 600 KB junk run, false headers every 4 KiB', Buffer.concat([exampleGz.subarray(0, 353), longJunk(600_000), exampleGz.subarray(353)])],
    ['cut inside a member', whirlwind.subarray(0, 18_000)],
    ['cut inside a header', whirlwind.subarray(0, 1028)],
    ['corrupt deflate data', Buffer.concat([whirlwind.subarray(0, 600), Buffer.alloc(50, 0xff), whirlwind.subarray(650)])],
    ['a member over the cap: streaming fallback', Buffer.concat([gzipSync(record('a', Buffer.from('small'))), gzipSync(record('b', Buffer.alloc(3 << 20, 0x61))), gzipSync(record('c', Buffer.from('after')))]), 1 << 20],
  ];
  for (const [name, file, cap] of cases) {
    for (const sizes of [[1], [7, 3, 11], [65536]]) {
      if (sizes[0] === 1 && file.length > 100_000) continue; // byte-by-byte over megabytes only costs time
      const inPlace = await withInflatePlacement(false, () => readAll(file, sizes, cap));
      const onThread = await withInflatePlacement(true, () => readAll(file, sizes, cap));
      t.same(onThread, inPlace, `${name}, chunks ${sizes}`);
      t.ok(inPlace.length > 0, `${name}: something was read`);
    }
  }
});

t.test('a reader that stops early, a failing source and an abort end the walk; the next reader is unaffected', async (t) => {
  const file = bigFile(12);
  const expected = await withInflatePlacement(false, () => readAll(file, [65536]));
  await withInflatePlacement(true, async () => {
    const opts = (signal: AbortSignal) => ({ where: 'big.warc.gz', maxRecordBytes: 1 << 20, verifyDigests: false, signal, note: () => {} });
    for await (const _ of readWarc(chunked(file, [65536]), opts(new AbortController().signal))) break;

    async function* failing(): AsyncGenerator<Uint8Array> {
      yield* chunked(file.subarray(0, 2_000_000), [65536]);
      throw Object.assign(new Error('connection reset by the test'), { code: 'ECONNRESET' });
    }
    let before = 0;
    await t.rejects(
      (async () => {
        for await (const _ of readWarc(failing(), opts(new AbortController().signal))) before++;
      })(),
      { message: 'connection reset by the test' },
      'the source error reaches the reader',
    );
    t.ok(before > 10, `${before} records came before the source failed`);

    const ac = new AbortController();
    let seen = 0;
    await t.rejects(
      (async () => {
        for await (const _ of readWarc(chunked(file, [65536]), opts(ac.signal))) if (++seen === 3) ac.abort(new Error('aborted by the test'));
      })(),
      { message: 'aborted by the test' },
    );
    t.same(await readAll(file, [65536]), expected, 'a later reader reads the whole file as in place');
  });
});

t.test('a source chunk larger than the look-ahead window still goes through', async (t) => {
  const file = bigFile(6); // one 6 MB chunk: more than the 4 MiB the thread may hold ahead
  const inPlace = await withInflatePlacement(false, () => readAll(file, [file.length]));
  t.same(await withInflatePlacement(true, () => readAll(file, [file.length])), inPlace);
  t.ok(inPlace.length > 100, `${inPlace.length} records`);
});

t.test('the walk runs a bounded distance ahead of a slow reader', async (t) => {
  const file = bigFile(40);
  let pulled = 0;
  async function* counted(): AsyncGenerator<Uint8Array> {
    for await (const c of chunked(file, [65536])) {
      pulled += c.length;
      yield c;
    }
  }
  await withInflatePlacement(true, async () => {
    let records = 0;
    for await (const _ of readWarc(counted(), { where: 'slow.warc.gz', maxRecordBytes: 1 << 20, verifyDigests: false, signal: new AbortController().signal, note: () => {} })) {
      if (++records === 5) {
        await new Promise((r) => setTimeout(r, 500));
        t.ok(pulled < 10e6, `${(pulled / 1e6).toFixed(1)} MB of ${(file.length / 1e6).toFixed(0)} MB pulled while the reader held record 5 for 500 ms`);
      }
    }
    t.equal(pulled, file.length, 'then all of it');
  });
});

t.test('inflate threads never hold the process open', async (t) => {
  const mod = join(ROOT, 'stages/warc-records.ts');
  const place = join(ROOT, 'stages/warc/inflate-thread.ts');
  // A finished read, a reader that stopped early and one that failed: each leaves the process free to exit.
  const script = `const { readWarc } = await import(${JSON.stringify(mod)});
    const { inflatePlacement } = await import(${JSON.stringify(place)});
    inflatePlacement.offThread = true;
    const { gzipSync } = await import('node:zlib');
    const rec = (i) => gzipSync(Buffer.from('WARC/1.0\\r\\nWARC-Type: resource\\r\\nContent-Length: 2\\r\\n\\r\\nok\\r\\n\\r\\n'));
    const file = Buffer.concat(Array.from({ length: 50 }, (_, i) => rec(i)));
    async function* src(b) { yield b; }
    const opts = { where: 'x', maxRecordBytes: 1 << 20, verifyDigests: true, signal: new AbortController().signal, note: () => {} };
    let n = 0;
    for await (const _ of readWarc(src(file), opts)) n++;
    for await (const _ of readWarc(src(file), opts)) break;
    try { for await (const _ of readWarc(src(file.subarray(0, 100)), opts)); } catch { n += 1000; }
    console.log('done', n);`;
  const file = join(t.testdir({ 'exits.mjs': script }), 'exits.mjs');
  const r = spawnSync(process.execPath, ['--import', 'tsx', file], { cwd: ROOT, encoding: 'utf8', timeout: 20_000, env: { ...process.env, NODE_OPTIONS: '' } });
  t.equal(r.signal, null, 'not killed by the timeout');
  t.equal(r.stdout.trim(), 'done 1050', `status ${r.status}: ${r.stderr}`);
});

t.test('warc ls: the records of a real Common Crawl file at their member offsets, the same with and without the thread', async (t) => {
  const file = join(ROOT, 'test/fixtures/whirlwind/whirlwind.warc.gz');
  const outputs: string[] = [];
  for (const thread of ['1', '0']) {
    const r = await runCli(['warc', 'ls', file, '--json'], { REINGEST_WARC_INFLATE_THREAD: thread });
    t.equal(r.code, 0, `thread=${thread}: ${r.stderr}`);
    const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as { offset: number; type: string; blockDigest: string; summary?: unknown });
    t.same(lines.pop(), { summary: { records: 4, flaggedRecords: 0, findings: [], notes: {} } }, 'the last line: a clean summary');
    t.same(lines.map((l) => l.offset), [0, 516, 1023, 18374], `thread=${thread}: member offsets as in realdata's MANIFEST.md`);
    t.same(lines.map((l) => l.blockDigest), ['ok', 'ok', 'ok', 'ok']);
    outputs.push(r.stdout);
  }
  t.equal(outputs[0], outputs[1], 'byte-identical listings');
});
