import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import t from 'tap';
import type { StageContext } from '../runner/stage.ts';
import { CounterSet } from '../runner/counters.ts';
import { parseWarc, header } from '../stages/warc/parse.ts';
import { warcRecords } from '../stages/warc-records.ts';
import { chunked, collect, ROOT } from './helpers.ts';

const fixture = (p: string) => readFile(join(ROOT, 'test/fixtures', p));
const SIZES = [[1], [7, 3, 11], [4096], [65536]];

function ctx(): StageContext<Record<string, never>> {
  const noop = () => {};
  return { params: {}, signal: new AbortController().signal, log: { debug: noop, info: noop, warn: noop }, counters: new CounterSet(), mirror: 'file:///' };
}

t.test('warcio example.warc: 6 records at the published offsets, whatever the chunking', async (t) => {
  const bytes = await fixture('warcio/example.warc');
  for (const sizes of SIZES) {
    const recs = await collect(parseWarc(chunked(bytes, sizes), 'example.warc'));
    t.same(recs.map((r) => r.offset), [0, 488, 1197, 2566, 3370, 4316], `offsets, chunks ${sizes}`);
    t.same(recs.map((r) => header(r, 'warc-type')), ['warcinfo', 'warcinfo', 'response', 'request', 'revisit', 'request']);
  }
});

// Upstream's .gz and plain copies differ in whitespace between records, so offsets are compared apart.
const withoutOffset = (rs: readonly Record<string, unknown>[]) => rs.map(({ offset: _, ...r }) => r);

t.test('gzip per-record and plain give the same records, whatever the chunking', async (t) => {
  const plain = await collect(warcRecords.run(chunked(await fixture('warcio/example.warc'), [4096]), ctx()));
  t.equal(plain.length, 6);
  const once = await collect(warcRecords.run(chunked(await fixture('warcio/example.warc.gz'), [65536]), ctx()));
  t.same(withoutOffset(once), withoutOffset(plain));
  for (const sizes of SIZES) {
    t.same(await collect(warcRecords.run(chunked(await fixture('warcio/example.warc.gz'), sizes), ctx())), once, `chunks ${sizes}`);
  }
});

t.test('a genuine Common Crawl capture: warcinfo, request, response, metadata', async (t) => {
  const recs = await collect(warcRecords.run(chunked(await fixture('whirlwind/whirlwind.warc.gz'), [999]), ctx()));
  t.same(recs.map((r) => r.type), ['warcinfo', 'request', 'response', 'metadata']);
  t.match(recs[2], { uri: /^https?:\/\//, contentType: 'application/http; msgtype=response' });
  // The .gz was re-serialized upstream with extra digest headers, so offsets differ; blocks must not.
  const plain = await collect(warcRecords.run(chunked(await fixture('whirlwind/whirlwind.warc'), [512]), ctx()));
  t.same(withoutOffset(plain), withoutOffset(recs));
  t.not(plain[3]!.offset, recs[3]!.offset);
});

t.test('wget output with <bracketed> target URIs and FEXTRA gzip headers: 48 records', async (t) => {
  const recs = await collect(warcRecords.run(chunked(await fixture('dolma/sample-0000.warc.gz'), [8192, 13]), ctx()));
  t.equal(recs.length, 48);
  t.ok(recs.filter((r) => r.type === 'response').every((r) => typeof r.uri === 'string' && !r.uri.startsWith('<')), 'brackets stripped');
});

t.test('a whole-file gzip member (not per-record) still reads as 6 records', async (t) => {
  const recs = await collect(warcRecords.run(chunked(await fixture('warcio/example-bad-non-chunked.warc.gz'), [100]), ctx()));
  t.equal(recs.length, 6);
});

t.test('truncated and non-WARC input give typed errors with offsets', async (t) => {
  const bytes = await fixture('warcio/example.warc');
  await t.rejects(collect(parseWarc(chunked(bytes.subarray(0, 2000), [64]), 'cut.warc')), {
    code: 'REINGEST_E_WARC_TRUNCATED',
    message: /cut\.warc: expected \d+ block bytes from offset \d+, the stream ended/,
  });
  await t.rejects(collect(parseWarc(chunked(Buffer.from('<html>not a warc</html>\n'), [5]), 'page.html')), {
    code: 'REINGEST_E_WARC_FORMAT',
    message: /expected a "WARC\/1.x" version line at offset 0/,
  });
  const gz = await fixture('warcio/example.warc.gz');
  await t.rejects(collect(warcRecords.run(chunked(gz.subarray(0, 2000), [300]), ctx())), 'a gzip member cut midway is an error, not a short read');
});

t.test('a Content-Length that is too small is reported, not silently accepted', async (t) => {
  await t.rejects(collect(parseWarc(chunked(await fixture('warcio/example-trunc.warc'), [256]), 'example-trunc.warc')), { code: /REINGEST_E_WARC_(FORMAT|TRUNCATED)/ });
});
