import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import t from 'tap';
import { CounterSet } from '../runner/counters.ts';
import type { DataRecord } from '../runner/stage.ts';
import { base32 } from '../stages/warc/digests.ts';
import { parseWarc, header } from '../stages/warc/parse.ts';
import { readWarc, warcRecords } from '../stages/warc-records.ts';
import { chunked, collect, ROOT, stageCtx } from './helpers.ts';

const fixture = (p: string) => readFile(join(ROOT, 'test/fixtures', p));
const SIZES = [[1], [7, 3, 11], [4096], [65536]];

const ctx = (counters = new CounterSet()) => stageCtx(warcRecords.parseParams({}, 'p'), { counters });
const readOpts = (where: string) => ({ where, maxRecordBytes: 1 << 20, verifyDigests: true, signal: new AbortController().signal, note: () => {} });
const read = async (p: string, sizes = [4096]) => collect(warcRecords.run(chunked(await fixture(p), sizes), ctx()));
const pick = (rs: DataRecord[], ...keys: string[]) => rs.map((r) => keys.map((k) => r[k]));

t.test('warcio example.warc: 6 records at the published offsets, whatever the chunking', async (t) => {
  const bytes = await fixture('warcio/example.warc');
  for (const sizes of SIZES) {
    const recs = await collect(parseWarc(chunked(bytes, sizes), { where: 'example.warc', maxBlock: 1 << 26 }));
    t.same(recs.map((r) => r.offset), [0, 488, 1197, 2566, 3370, 4316], `offsets, chunks ${sizes}`);
    t.same(recs.map((r) => header(r, 'warc-type')), ['warcinfo', 'warcinfo', 'response', 'request', 'revisit', 'request']);
  }
});

t.test('per-record gzip: each record carries its member offset and length (what a CDX index holds)', async (t) => {
  const expected = [
    [0, 353],
    [353, 431],
    [784, 1228],
    [2012, 609],
    [2621, 586],
    [3207, 609],
  ];
  for (const sizes of SIZES) t.same(pick(await read('warcio/example.warc.gz', sizes), 'fileOffset', 'fileLength'), expected, `example.warc.gz, chunks ${sizes}`);
  t.same(pick(await read('warcio.js/example-wget-bad-target-uri.warc.gz', [333]), 'fileOffset'), [[0], [410], [824], [1978], [2295], [2681]]);
  const plain = await read('warcio/example.warc');
  t.same(pick(plain, 'fileOffset', 'fileLength'), [[0, 488], [488, 709], [1197, 1369], [2566, 804], [3370, 946], [4316, 804]], 'a plain file: byte spans');
  const gz = await read('warcio/example.warc.gz');
  t.same(gz.map((r) => r.block), plain.map((r) => r.block), 'same blocks either way (upstream wrote digests only into the .gz copy)');
});

t.test('a genuine Common Crawl capture: members at 0/516/1023/18374, every digest verifies', async (t) => {
  const recs = await read('whirlwind/whirlwind.warc.gz', [999]);
  t.same(pick(recs, 'type', 'fileOffset'), [['warcinfo', 0], ['request', 516], ['response', 1023], ['metadata', 18374]]);
  t.ok(recs.every((r) => r.blockDigest === 'ok'), 'block digests');
  t.same(recs.map((r) => r.payloadDigest), ['absent', 'ok', 'ok', 'ok']);
  t.match(recs[2], { uri: /^https?:\/\//, contentType: 'application/http; msgtype=response' });
});

t.test('digest verdicts: recorded, never a reason to drop (warcio example-digest.warc)', async (t) => {
  const recs = await read('warcio/example-digest.warc');
  t.equal(recs.length, 4, 'four records sharing one WARC-Record-ID, all kept');
  t.same(recs.map((r) => r.payloadDigest), ['mismatch', 'ok', 'ok', 'ok'], 'one corrupted digest; base64 and base64url forms accepted');
  const counters = new CounterSet();
  await collect(warcRecords.run(chunked(await fixture('warcio/example-digest.warc'), [100]), ctx(counters)));
  t.same(counters.toJSON().counts, { 'payload-digest-mismatch': 1 });
});

t.test('wget output: <bracketed> URIs, FEXTRA gzip headers, all block digests verify', async (t) => {
  const recs = await read('dolma/sample-0000.warc.gz', [8192, 13]);
  t.equal(recs.length, 48);
  t.ok(recs.every((r) => r.blockDigest === 'ok'));
  t.ok(recs.filter((r) => r.type === 'response').every((r) => typeof r.uri === 'string' && !r.uri.startsWith('<')), 'brackets stripped');
  t.same(pick(await read('jwarc/gzip_extra_sl.warc.gz', [1]), 'type'), [['warcinfo']], 'FEXTRA "sl" subfield, fed a byte at a time');
});

t.test('chunked HTTP payloads: the payload digest verifies after de-chunking', async (t) => {
  const recs = await read('warcio/example-iana.org-chunked.warc');
  t.same(recs.map((r) => r.type), ['warcinfo', 'response', 'request']);
  t.match(recs[1]!.payloadDigest, /^ok/);
});

t.test('gzip detected by magic bytes, not by name; WET conversion records read', async (t) => {
  t.equal((await read('warcio.js/post-test-more.warc')).length, 6, 'post-test-more.warc is gzip despite its name');
  const wet = await read('whirlwind/whirlwind.warc.wet.gz');
  t.same(wet.map((r) => r.type), ['warcinfo', 'conversion']);
  t.equal(wet[1]!.blockDigest, 'ok');
});

t.test('a whole file in one gzip member reads as 6 records; members that split records still parse', async (t) => {
  for (const f of ['warcio/example-bad-non-chunked.warc.gz', 'warcio/example-bad.warc.gz.bad']) {
    const recs = await read(f, [100]);
    t.equal(recs.length, 6, f);
    t.same(recs.slice(1).map((r) => r.fileOffset), [null, null, null, null, null], 'records inside one member have no member offset of their own');
  }
  const split = await read('warcio/example-wrong-chunks.warc.gz', [50]);
  t.same(pick(split, 'type', 'fileOffset', 'fileLength'), [['response', 0, null], ['request', null, null]]);
});

t.test('a wrong Content-Length is flagged and the reader resynchronises on the next record', async (t) => {
  for (const f of ['warcio/example-trunc.warc', 'warcio.js/example-bad-length.warc']) {
    const recs = await read(f, [256]);
    t.same(recs[2]!.flags, ['content-length-too-small'], `${f}: flagged`);
    t.equal(recs[2]!.blockDigest, 'ok', 'the block recovered up to the next record is the real one');
    t.equal(recs[3]!.type, 'request', 'the next record is intact');
  }
  const good = await fixture('warcio/example.warc');
  const tooLarge = Buffer.from(good.toString('latin1').replace('Content-Length: 975', 'Content-Length: 1100'), 'latin1');
  const recs = await collect(warcRecords.run(chunked(tooLarge, [300]), ctx()));
  t.equal(recs.length, 6, 'no record swallowed');
  t.same(recs[2]!.flags, ['content-length-too-large']);
  t.equal(recs[2]!.blockDigest, 'ok');
  t.equal(recs[3]!.offset, 2567, 'one byte later: the edited header is one byte longer');
});

t.test('a gzip member cut short is an error naming its offset, never a short record', async (t) => {
  const gz = await fixture('whirlwind/whirlwind.warc.gz');
  const full = await read('whirlwind/whirlwind.warc.gz');
  const boundaries = new Set([0, 516, 1023, 18374, gz.length]);
  let errors = 0;
  for (let cut = 1; cut < gz.length; cut += 37) {
    const got: DataRecord[] = [];
    try {
      for await (const r of warcRecords.run(chunked(gz.subarray(0, cut), [512]), ctx())) got.push(r);
      t.ok(boundaries.has(cut), `cut at ${cut} read cleanly only if it is a member boundary`);
    } catch (err) {
      errors++;
      const member = [...boundaries].filter((b) => b <= cut).at(-1);
      t.match(err, { code: 'REINGEST_E_GZIP_TRUNCATED', message: new RegExp(`member at offset ${member} is cut short`) }, `cut at ${cut}`);
    }
    t.same(got, full.slice(0, got.length), `cut at ${cut}: what was read is exactly the full records`);
  }
  t.ok(errors > 400, `${errors} truncation points rejected`);
});

t.test('trailing garbage after the last member is counted, not fatal', async (t) => {
  const gz = await fixture('warcio/example.warc.gz');
  const counters = new CounterSet();
  const recs = await collect(warcRecords.run(chunked(Buffer.concat([gz, Buffer.from('\0\0\0junk at the end\n')]), [64]), ctx(counters)));
  t.equal(recs.length, 6);
  t.same(counters.toJSON().counts, { 'trailing-garbage-bytes': 19 });
});

t.test('an oversized record is skipped and flagged; memory holds only the cap', async (t) => {
  const big = Buffer.alloc(3 * 1024 * 1024, 'a');
  const rec = (body: Buffer) => Buffer.concat([Buffer.from(`WARC/1.0\r\nWARC-Type: resource\r\nWARC-Record-ID: <urn:x>\r\nContent-Length: ${body.length}\r\n\r\n`), body, Buffer.from('\r\n\r\n')]);
  const file = Buffer.concat([gzipSync(rec(Buffer.from('small'))), gzipSync(rec(big)), gzipSync(rec(Buffer.from('after')))]);
  const c = { ...ctx(), params: warcRecords.parseParams({ maxRecordBytes: 1024 * 1024 }, 'p') };
  const recs = await collect(warcRecords.run(chunked(file, [65536]), c));
  t.same(pick(recs, 'flags', 'fileOffset'), [[[], 0], [['oversize'], null], [[], null]], 'the rest of the file streams on after the big member');
  t.equal(recs[1]!.block, null);
  t.same(recs[2]!.block, Buffer.from('after'));
});

t.test('non-WARC input gives a typed error that says what it is', async (t) => {
  await t.rejects(collect(readWarc(chunked(await fixture('warcio/bad.arc'), [64]), readOpts('bad.arc'))), {
    code: 'REINGEST_E_WARC_FORMAT',
    message: /legacy ARC file/,
  });
  await t.rejects(collect(readWarc(chunked(Buffer.from('<html>not a warc</html>\n'), [5]), readOpts('page.html'))), {
    message: /neither gzip nor WARC/,
  });
  await t.rejects(collect(parseWarc(chunked(Buffer.from('WARC/1.0\r\nContent-Length: 99\r\n\r\nshort'), [3]), { where: 'cut.warc', maxBlock: 1 << 20 })), {
    code: 'REINGEST_E_WARC_TRUNCATED',
    message: /cut\.warc: expected 99 block bytes from offset 32, the stream ended after 5/,
  });
});

t.test('a 100 MB record with the default cap: flagged oversize, streamed past, the process survives', async (t) => {
  const body = Buffer.alloc(100 * 1024 * 1024, 0x20);
  const head = Buffer.from(`WARC/1.0\r\nWARC-Type: resource\r\nWARC-Record-ID: <urn:big>\r\nContent-Length: ${body.length}\r\n\r\n`);
  const member = gzipSync(Buffer.concat([head, body, Buffer.from('\r\n\r\n')]), { level: 1 });
  const tail = gzipSync(Buffer.from('WARC/1.0\r\nWARC-Type: resource\r\nWARC-Record-ID: <urn:after>\r\nContent-Length: 2\r\n\r\nok\r\n\r\n'));
  const counters = new CounterSet();
  const before = process.memoryUsage().rss;
  const recs = await collect(warcRecords.run(chunked(Buffer.concat([member, tail]), [1 << 20]), ctx(counters)));
  t.same(pick(recs, 'id', 'flags', 'block'), [['<urn:big>', ['oversize'], null], ['<urn:after>', [], Buffer.from('ok')]]);
  t.same(counters.toJSON().counts, { 'gzip-streaming-fallback': 1, oversize: 1 });
  t.comment(`rss grew by ${Math.round((process.memoryUsage().rss - before) / 1e6)} MB while reading it`);
});

/** A per-record-gzip WARC with large blocks (sha1 and sha256 digests, one wrong), with known verdicts. */
function bigBlocks(): { file: Buffer; verdicts: [string, string][] } {
  const sha1 = (b: Buffer) => `sha1:${base32(createHash('sha1').update(b).digest())}`;
  const body = (n: number, seed: number) => Buffer.from(Array.from({ length: n }, (_, i) => (i * seed) % 251));
  const http = (payload: Buffer, extra = '') => Buffer.concat([Buffer.from(`HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n${extra}\r\n`), payload]);
  const chunkedPayload = body(90_000, 7);
  const chunked = http(Buffer.concat([Buffer.from(`${(40_000).toString(16)}\r\n`), chunkedPayload.subarray(0, 40_000), Buffer.from(`\r\n${(50_000).toString(16)}\r\n`), chunkedPayload.subarray(40_000), Buffer.from('\r\n0\r\n\r\n')]), 'Transfer-Encoding: chunked\r\n');
  const cases: [string, Buffer, [string, string][], [string, string]][] = [];
  const p1 = body(300_000, 3);
  cases.push(['response', http(p1), [['WARC-Payload-Digest', sha1(p1)]], ['ok', 'ok']]);
  cases.push(['request', Buffer.from('GET / HTTP/1.1\r\n\r\n'), [], ['ok', 'absent']]);
  const p2 = body(70_000, 5);
  cases.push(['response', http(p2), [['WARC-Payload-Digest', sha1(body(70_000, 6))]], ['ok', 'mismatch']]);
  cases.push(['response', chunked, [['WARC-Payload-Digest', sha1(chunkedPayload)]], ['ok', 'ok-dechunked']]);
  const r = body(50_000, 11);
  cases.push(['resource', r, [['WARC-Payload-Digest', `sha256:${createHash('sha256').update(r).digest('hex')}`], ['Content-Type', 'image/png']], ['ok', 'ok']]);
  const members: Buffer[] = [];
  const verdicts: [string, string][] = [];
  for (const [i, [type, block, extra, expected]] of cases.entries()) {
    const blockDigest = i === 2 ? sha1(Buffer.concat([block, Buffer.from('x')])) : sha1(block);
    const fields = [`WARC-Type: ${type}`, `WARC-Record-ID: <urn:big:${i}>`, `WARC-Block-Digest: ${blockDigest}`, ...extra.map(([k, v]) => `${k}: ${v}`)];
    if (!extra.some(([k]) => k === 'Content-Type')) fields.push(`Content-Type: application/http; msgtype=${type}`);
    const head = ['WARC/1.0', ...fields, `Content-Length: ${block.length}`, '', ''].join('\r\n');
    members.push(gzipSync(Buffer.concat([Buffer.from(head), block, Buffer.from('\r\n\r\n')])));
    verdicts.push(i === 2 ? ['mismatch', expected[1]] : expected);
  }
  return { file: Buffer.concat(members), verdicts };
}

t.test('large blocks get the verdicts their digests call for, whatever the chunking', async (t) => {
  const { file, verdicts } = bigBlocks();
  for (const sizes of [[65536], [1000, 7]]) {
    const recs = await collect(readWarc(chunked(file, sizes), readOpts('big.warc.gz')));
    t.same(recs.map((r) => [r.blockDigest, r.payloadDigest]), verdicts, `chunks ${sizes}`);
  }
});
