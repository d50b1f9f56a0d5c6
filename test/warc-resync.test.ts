// Issue 17 (WARC robustness): junk between gzip members or records, LF-only files with a too-large
// Content-Length, LF-only HTTP headers, and file-level findings in `warc ls`. The fixtures and their expected
// offsets come from test/fixtures/resync/gen.mjs, which derives the offsets from how it built each file.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import t, { type Test } from 'tap';
import { withInflatePlacement } from '../stages/warc/inflate-thread.ts';
import { readWarc, type WarcFinding } from '../stages/warc-records.ts';
import type { WarcRecord } from '../stages/warc/parse.ts';
import { chunked, ROOT, runCli } from './helpers.ts';

const fixture = (p: string) => readFile(join(ROOT, 'test/fixtures', p));
const CHUNKINGS = [[1], [7, 3, 11], [65536]];
interface Expected {
  readonly records: [number, number][];
  readonly findings: WarcFinding[];
  readonly flags?: string[][];
}
const expected = JSON.parse((await fixture('resync/expected.json')).toString()) as Record<string, Expected>;

async function readBoth(file: Buffer, sizes: number[], offThread: boolean): Promise<{ records: WarcRecord[]; findings: WarcFinding[]; notes: [string, number?][] }> {
  const findings: WarcFinding[] = [];
  const notes: [string, number?][] = [];
  const records: WarcRecord[] = [];
  const opts = { where: 'f', maxRecordBytes: 1 << 20, verifyDigests: true, signal: new AbortController().signal, note: (w: string, n?: number) => notes.push([w, n]), finding: (f: WarcFinding) => findings.push(f) };
  await withInflatePlacement(offThread, async () => {
    for await (const r of readWarc(chunked(file, sizes), opts)) records.push(r);
  });
  return { records, findings, notes };
}

/** Reads `name` in every chunking and both inflate placements; checks offsets and findings; returns one reading. */
async function checkEverywhere(t: Test, name: string): Promise<WarcRecord[]> {
  const file = await fixture(`resync/${name}`);
  const want = expected[name]!;
  let first: WarcRecord[] | null = null;
  for (const sizes of CHUNKINGS) {
    for (const offThread of [false, true]) {
      const got = await readBoth(file, sizes, offThread);
      const label = `${name}, chunks ${sizes}, ${offThread ? 'inflate thread' : 'in place'}`;
      t.same(got.records.map((r) => [r.fileOffset, r.fileLength]), want.records, `${label}: every record at its true offset`);
      t.same(got.findings, want.findings, `${label}: the findings, with offsets`);
      if (want.flags) t.same(got.records.map((r) => r.flags), want.flags, `${label}: flags`);
      if (first === null) first = got.records;
      else t.same(got.records, first, `${label}: the same records as the first reading`);
    }
  }
  return first!;
}

const blocks = (rs: WarcRecord[]) => rs.map((r) => [r.block, r.blockDigest, r.payloadDigest]);
const cleanRead = async (p: string) => (await readBoth(await fixture(p), [65536], false)).records;

t.test('junk between gzip members (text, a false 1f 8b 08 header, a non-WARC gzip member, trailing): skipped, reported, every record recovered', async (t) => {
  const recs = await checkEverywhere(t, 'junk-members.warc.gz');
  t.same(blocks(recs), blocks(await cleanRead('warcio/example.warc.gz')), 'the blocks and verdicts of the clean file');
  const { notes } = await readBoth(await fixture('resync/junk-members.warc.gz'), [64], false);
  t.same(notes, [['skipped-bytes', 21], ['skipped-bytes', 16], ['skipped-bytes', 61], ['trailing-garbage-bytes', 17]], 'counters, for the stage');
});

t.test('junk between the records of a plain WARC (one run holds a false "WARC/" line): skipped to the next version line', async (t) => {
  const recs = await checkEverywhere(t, 'junk-records.warc');
  t.same(blocks(recs), blocks(await cleanRead('warcio/example.warc')), 'the blocks and verdicts of the clean file');
});

t.test('LF-only WARC: a too-large Content-Length mid-file and on the last record is cut at the next record or the end, and flagged', async (t) => {
  const clean = await checkEverywhere(t, 'lf-only.warc');
  t.ok(clean.every((r) => r.blockDigest === 'ok' && r.flags.length === 0), 'the clean file reads clean');
  for (const name of ['lf-only-too-large-mid.warc', 'lf-only-too-large-last.warc']) {
    const recs = await checkEverywhere(t, name);
    t.same(blocks(recs), blocks(clean), `${name}: the true blocks (all block digests verify), no record swallowed`);
  }
});

t.test('a file cut inside a block is still an error; so is a real member cut short after junk', async (t) => {
  const lf = await fixture('resync/lf-only.warc');
  await t.rejects(readBoth(lf.subarray(0, lf.length - 5), [64], false), { code: 'REINGEST_E_WARC_TRUNCATED' }, 'no terminator at the end: cut, not a wrong length');
  const gz = await fixture('resync/junk-members.warc.gz');
  for (const offThread of [false, true]) {
    await t.rejects(readBoth(gz.subarray(0, 2719 + 300), [100], offThread), { code: 'REINGEST_E_GZIP_TRUNCATED', message: /member at offset 2719 is cut short/ }, `thread ${offThread}`);
  }
});

t.test('LF-only HTTP headers inside a response: the payload digest verifies (headers end at the first CRLFCRLF or LFLF)', async (t) => {
  const recs = await checkEverywhere(t, 'lf-http-headers.warc.gz');
  t.same(recs.map((r) => [r.blockDigest, r.payloadDigest]), [['ok', 'ok']]);
  t.same((await cleanRead('resync/lf-only.warc')).map((r) => r.payloadDigest), ['absent', 'ok', 'absent', 'absent']);
});

t.test('warc ls --json ends with a summary of the findings; --strict exits 1 on any finding or flag', async (t) => {
  for (const name of ['junk-members.warc.gz', 'junk-records.warc']) {
    const file = join(ROOT, 'test/fixtures/resync', name);
    const r = await runCli(['warc', 'ls', file, '--json']);
    t.equal(r.code, 0, `${name}: a repaired file lists with exit 0 without --strict: ${r.stderr}`);
    const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    t.same(lines.slice(0, -1).map((l) => [l.offset, l.length]), expected[name]!.records, `${name}: one JSON object per record`);
    t.match(lines.at(-1), { summary: { records: 6, flaggedRecords: 0, findings: expected[name]!.findings } }, `${name}: the last line is the summary`);
    const strict = await runCli(['warc', 'ls', file, '--json', '--strict']);
    t.equal(strict.code, 1, `${name}: --strict fails`);
    t.match(strict.stderr, /REINGEST_E_WARC_FINDINGS: .*found [34] run\(s\) of skipped bytes/);
    t.equal(strict.stdout, r.stdout, 'the same listing either way');
  }
  const flagged = await runCli(['warc', 'ls', join(ROOT, 'test/fixtures/resync/lf-only-too-large-mid.warc'), '--strict']);
  t.equal(flagged.code, 1, 'a flagged record fails --strict');
  t.match(flagged.stderr, /REINGEST_E_WARC_FINDINGS: .*1 flagged record/);
  const clean = await runCli(['warc', 'ls', join(ROOT, 'test/fixtures/resync/lf-only.warc'), '--json', '--strict']);
  t.equal(clean.code, 0, `a clean file passes --strict: ${clean.stderr}`);
  t.same(JSON.parse(clean.stdout.trim().split('\n').at(-1)!), { summary: { records: 4, flaggedRecords: 0, findings: [], notes: {} } });
});

t.test('a junk run longer than the read-ahead, false gzip headers all through it: skipped in bounded steps', async (t) => {
  const gz = await fixture('warcio/example.warc.gz');
  const junk = Buffer.alloc(600_000, 0x2e);
  const fake = Buffer.from([0x1f, 0x8b, 0x08, 0x00, 0, 0, 0, 0, 0, 0x03, 0xff]);
  for (let at = 100; at + 200 < junk.length; at += 4096) fake.copy(junk, at);
  const file = Buffer.concat([gz.subarray(0, 353), junk, gz.subarray(353)]);
  for (const offThread of [false, true]) {
    const got = await readBoth(file, [65536], offThread);
    t.same(got.records.map((r) => r.fileOffset), [0, 353, 784, 2012, 2621, 3207].map((o, i) => (i === 0 ? o : o + junk.length)), `thread ${offThread}: records after the junk at their shifted offsets`);
    t.same(got.findings, [{ kind: 'skipped-bytes', offset: 353, length: junk.length }]);
  }
});

t.test('a gzip member that inflates to no WARC record, at a member boundary: its bytes skipped in the inflated stream, reported as such', async (t) => {
  const gz = await fixture('warcio/example.warc.gz');
  const notWarc = gzipSync(Buffer.from('a member of its own, but not a WARC record\n'));
  const file = Buffer.concat([gz.subarray(0, 353), notWarc, gz.subarray(353)]);
  const clean = await cleanRead('warcio/example.warc.gz');
  for (const sizes of CHUNKINGS) {
    for (const offThread of [false, true]) {
      const got = await readBoth(file, sizes, offThread);
      const label = `chunks ${sizes}, thread ${offThread}`;
      t.same(got.records.map((r) => r.fileOffset), [0, 353, 784, 2012, 2621, 3207].map((o, i) => (i === 0 ? o : o + notWarc.length)), `${label}: the records, at their true member offsets`);
      t.same(got.findings, [{ kind: 'skipped-inflated-bytes', offset: clean[1]!.offset, length: 43 }], `${label}: offset and length in the inflated stream`);
    }
  }
});
