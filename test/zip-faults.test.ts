import { randomBytes } from 'node:crypto';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { getEventListeners } from 'node:events';
import { open, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { crc32, deflateRawSync } from 'node:zlib';
import t, { type Test } from 'tap';
import { closeIdleZips } from '../stages/lib/zip-archive.ts';
import { listZip, streamZipEntry } from '../stages/lib/zip-file.ts';
import { endOfCentralDirectory } from './support/zip-writer.ts';
import { makeZip } from './support/zip-writer.ts';

const LIMITS = { maxRatio: 1_000_000, maxEntryBytes: 1 << 30 };
/** General purpose flag bit 3: sizes and CRC follow the data; the zip library skips its CRC check for these. */
const DATA_DESCRIPTOR = 0x8;

interface RawEntry {
  name: string;
  /** The bytes stored as the entry's data, exactly as given. */
  body: Buffer;
  method: 0 | 8;
  flags?: number;
  crc: number;
  size: number;
  compressedSize?: number;
}

/** Writes the zip bytes by hand, so that every field can lie: local headers, data, central directory, end record. */
function rawZip(entries: readonly RawEntry[]): Buffer {
  const parts: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const e of entries) {
    const name = Buffer.from(e.name);
    const flags = e.flags ?? 0;
    const compressedSize = e.compressedSize ?? e.body.length;
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt16LE(flags, 6);
    local.writeUInt16LE(e.method, 8);
    if (!(flags & DATA_DESCRIPTOR)) {
      local.writeUInt32LE(e.crc, 14);
      local.writeUInt32LE(compressedSize, 18);
      local.writeUInt32LE(e.size, 22);
    }
    local.writeUInt16LE(name.length, 26);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE(20, 4);
    central.writeUInt16LE(20, 6);
    central.writeUInt16LE(flags, 8);
    central.writeUInt16LE(e.method, 10);
    central.writeUInt32LE(e.crc, 16);
    central.writeUInt32LE(compressedSize, 20);
    central.writeUInt32LE(e.size, 24);
    central.writeUInt16LE(name.length, 28);
    central.writeUInt32LE(offset, 42);
    parts.push(local, name, e.body);
    centrals.push(central, name);
    offset += local.length + name.length + e.body.length;
  }
  const cd = Buffer.concat(centrals);
  const end = endOfCentralDirectory(entries.length, cd.length, offset);
  return Buffer.concat([...parts, cd, end]);
}

/** An honest deflated entry; `over` makes it lie. */
function deflated(name: string, data: Buffer, over: Partial<RawEntry> = {}): RawEntry {
  return { name, body: deflateRawSync(data), method: 8, crc: crc32(data), size: data.length, ...over };
}

async function drain(file: string, name: string, signal = new AbortController().signal): Promise<number> {
  let n = 0;
  for await (const c of streamZipEntry(file, name, `${file}!/${name}`, LIMITS, signal)) n += c.byteLength;
  return n;
}

/**
 * Counts file-handle reads whose result has not been delivered yet. A stream left reading after its entry
 * failed shows up here; its read would run on after the archive it reads from was given up.
 */
async function trackReads(t: Test): Promise<() => number> {
  const fh = await open(fileURLToPath(import.meta.url));
  const proto = Object.getPrototypeOf(fh) as { read: (...args: unknown[]) => Promise<unknown> };
  await fh.close();
  const read = proto.read;
  let inFlight = 0;
  proto.read = function (this: unknown, ...args: unknown[]) {
    inFlight++;
    return read.apply(this, args).finally(() => inFlight--);
  };
  t.teardown(() => {
    proto.read = read;
  });
  return () => inFlight;
}

t.test('lying and damaged entries are refused with a typed error, and nothing is left reading', async (t) => {
  const dir = t.testdir();
  const big = randomBytes(1 << 20);
  const cut = deflateRawSync(big).subarray(0, 200_000);
  const garbled = Buffer.from(deflateRawSync(big));
  garbled.fill(0xff, 100_000, 120_000);
  const cases: [string, RawEntry, RegExp][] = [
    ['inflates past its size, CRC check off (bit 3)', deflated('a', big, { size: 1000, flags: DATA_DESCRIPTOR }), /^REINGEST_E_ZIP_BOMB$/],
    ['inflates past its size', deflated('a', big, { size: 1000 }), /^REINGEST_E_ZIP_BOMB$/],
    ['stored, with more data than its size', { name: 'a', body: big, method: 0, crc: crc32(big), size: 1000 }, /^REINGEST_E_ZIP_BOMB$/],
    ['deflate data cut short', deflated('a', big, { body: cut, flags: DATA_DESCRIPTOR }), /^REINGEST_E_ZIP_ENTRY$/],
    ['deflate data garbled', deflated('a', big, { body: garbled }), /^REINGEST_E_ZIP_ENTRY$/],
    ['inflates to less than its size', deflated('a', big, { size: big.length + 1, flags: DATA_DESCRIPTOR }), /^REINGEST_E_ZIP_ENTRY$/],
    ['wrong CRC', deflated('a', big, { crc: 1234 }), /^REINGEST_E_ZIP_ENTRY$/],
    ['compressed size past the end of the archive', deflated('a', big, { compressedSize: 5 << 20 }), /^REINGEST_E_ZIP_ENTRY$/],
  ];
  const readsInFlight = await trackReads(t);
  for (const [what, entry, code] of cases) {
    const file = join(dir, `${what.replace(/\W+/g, '-')}.zip`);
    await writeFile(file, rawZip([entry]));
    let got = 0;
    await t.rejects(
      (async () => {
        for await (const c of streamZipEntry(file, 'a', file, LIMITS, new AbortController().signal)) got += c.byteLength;
      })(),
      { code, message: /entry "a"/ },
      what,
    );
    t.ok(got <= entry.size, `${what}: no more than the declared bytes were passed on (${got})`);
    t.equal(readsInFlight(), 0, `${what}: no read is still running once the error is thrown`);
  }
});

t.test('many lying entries of one archive streamed at once all fail cleanly, and the archive then closes', async (t) => {
  const dir = t.testdir();
  const big = randomBytes(1 << 20);
  const file = join(dir, 'liars.zip');
  const names = Array.from({ length: 8 }, (_, i) => `e${i}`);
  await writeFile(file, rawZip(names.map((n, i) => deflated(n, big, { size: 1 + i * 50_000, flags: DATA_DESCRIPTOR }))));
  const readsInFlight = await trackReads(t);
  for (let round = 0; round < 5; round++) {
    const results = await Promise.allSettled(names.map((n) => drain(file, n)));
    t.same(new Set(results.map((r) => (r.status === 'rejected' ? (r.reason as { code: string }).code : 'resolved'))), new Set(['REINGEST_E_ZIP_BOMB']), `round ${round}`);
    t.equal(readsInFlight(), 0, `round ${round}: no read is still running`);
    await closeIdleZips();
  }
});

t.test('honest entries stream their bytes: stored, deflated, and deflated with a data descriptor', async (t) => {
  const dir = t.testdir();
  const data = Buffer.concat([randomBytes(100_000), Buffer.alloc(300_000, 'x')]);
  const file = join(dir, 'honest.zip');
  await writeFile(file, rawZip([{ name: 's', body: data, method: 0, crc: crc32(data), size: data.length }, deflated('d', data), deflated('dd', data, { flags: DATA_DESCRIPTOR }), deflated('empty', Buffer.alloc(0))]));
  for (const name of ['s', 'd', 'dd', 'empty']) {
    const chunks: Uint8Array[] = [];
    for await (const c of streamZipEntry(file, name, file, LIMITS, new AbortController().signal)) chunks.push(c);
    t.same(Buffer.concat(chunks), name === 'empty' ? Buffer.alloc(0) : data, name);
  }
  await t.rejects(drain(file, 'constructor'), { code: 'REINGEST_E_SOURCE_MISSING' }, 'a name is looked up among the entries only');
});

t.test('the central directory is read once per archive, however many entries are streamed', async (t) => {
  const dir = t.testdir();
  const file = join(dir, 'many.zip');
  const count = 500;
  await writeFile(file, makeZip(Array.from({ length: count }, (_, i) => ({ name: `d/${i}.warc`, data: Buffer.from(`entry ${i}\n`.repeat(3)) }))));
  const opened: unknown[] = [];
  const onOpen = (m: unknown) => opened.push(m);
  subscribe('reingest:zip:open', onOpen);
  t.teardown(() => unsubscribe('reingest:zip:open', onOpen));

  const listed = await listZip(file, file, LIMITS);
  t.equal(listed.length, count);
  const started = performance.now();
  for (const e of listed) await drain(file, e.name);
  t.comment(`${count} entries streamed one by one in ${Math.round(performance.now() - started)} ms`);
  await Promise.all(listed.slice(0, 50).map((e) => drain(file, e.name)));
  t.same(opened, [{ file }], 'one read for the listing and every entry, one by one or at once');

  await closeIdleZips();
  await drain(file, listed[0]!.name);
  t.equal(opened.length, 2, 'a closed archive is read again when next needed');
});

t.test('at most four unused archives stay open: the one unused longest is closed first', async (t) => {
  const dir = t.testdir();
  await closeIdleZips();
  const files = Array.from({ length: 5 }, (_, i) => join(dir, `z${i}.zip`));
  for (const f of files) await writeFile(f, makeZip([{ name: 'a.warc', data: Buffer.from(f) }]));
  const opened: string[] = [];
  const onOpen = (m: unknown) => opened.push((m as { file: string }).file);
  subscribe('reingest:zip:open', onOpen);
  t.teardown(() => unsubscribe('reingest:zip:open', onOpen));
  for (const f of files) await drain(f, 'a.warc');
  await drain(files[4]!, 'a.warc');
  await drain(files[1]!, 'a.warc');
  t.same(opened, files, 'the four most recently used are still open');
  await drain(files[0]!, 'a.warc');
  t.same(opened, [...files, files[0]], 'the archive unused longest was closed when a fifth became idle, and is read again');
  await closeIdleZips();
});

t.test('one signal across many entries keeps no listener per entry; aborting stops the entry', async (t) => {
  const dir = t.testdir();
  const file = join(dir, 'n.zip');
  const big = randomBytes(1 << 20);
  await writeFile(file, rawZip([...Array.from({ length: 20 }, (_, i) => deflated(`e${i}`, Buffer.from(`entry ${i}`))), deflated('liar', big, { size: 10 }), deflated('big', big)]));
  const readsInFlight = await trackReads(t);
  const ac = new AbortController();
  for (let i = 0; i < 20; i++) await drain(file, `e${i}`, ac.signal);
  await t.rejects(drain(file, 'liar', ac.signal), { code: 'REINGEST_E_ZIP_BOMB' });
  for await (const _ of streamZipEntry(file, 'big', file, LIMITS, ac.signal)) break;
  t.equal(getEventListeners(ac.signal, 'abort').length, 0, 'finished, refused and abandoned entries all removed their listener');

  const reason = new Error('stop');
  await t.rejects(
    (async () => {
      for await (const _ of streamZipEntry(file, 'big', file, LIMITS, ac.signal)) ac.abort(reason);
    })(),
    reason,
  );
  t.equal(getEventListeners(ac.signal, 'abort').length, 0);
  t.equal(readsInFlight(), 0, 'an aborted entry leaves no read running');
});
