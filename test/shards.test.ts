import { execFileSync, spawnSync } from 'node:child_process';
import { appendFile, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import t from 'tap';
import { get_encoding } from 'tiktoken';
import type { Manifest } from '../runner/manifest.ts';
import type { DataRecord, OutputFile, SegmentInput } from '../runner/stage.ts';
import sample from '../pipelines/sample.ts';
import { seededPermutation } from '../stages/shards/shuffle.ts';
import { tokenShards } from '../stages/token-shards.ts';
import { uint32le } from '../stages/tokenize.ts';
import { collect, ROOT, runCli, runJson, stageCtx } from './helpers.ts';

const DIGEST = `sha256:${'1'.repeat(64)}` as const;

function doc(id: string, ids: number[]): DataRecord {
  return { id, text: id, tokens: uint32le(Uint32Array.from(ids)) };
}

async function writeShards(segments: DataRecord[][], raw: object) {
  const ctx = stageCtx(tokenShards.parseParams(raw, 'aggregate[0].params'));
  async function* inputs(): AsyncGenerator<SegmentInput> {
    for (const [index, recs] of segments.entries()) {
      yield { segment: { index, path: `seg-${index}` }, digest: DIGEST, records: (async function* () {
        yield* recs;
      })() };
    }
  }
  const files: { name: string; bytes: Buffer; facts: Record<string, unknown>; compress?: string }[] = [];
  for await (const f of tokenShards.run(inputs(), ctx) as AsyncIterable<OutputFile>) {
    const bytes = Buffer.concat(await collect(f.chunks));
    files.push({ name: f.name, bytes, facts: f.facts?.() ?? {}, ...(f.compress ? { compress: f.compress } : {}) });
  }
  return { files, counters: ctx.counters.toJSON() };
}

/** Megatron .idx, parsed from the published layout. */
function parseIdx(b: Buffer) {
  t.equal(b.subarray(0, 9).toString('latin1'), 'MMIDIDX\0\0');
  const version = b.readBigUInt64LE(9);
  const code = b.readUInt8(17);
  const n = Number(b.readBigUInt64LE(18));
  const docs = Number(b.readBigUInt64LE(26));
  let o = 34;
  const lengths = Array.from({ length: n }, (_, i) => b.readInt32LE(o + i * 4));
  o += n * 4;
  const pointers = Array.from({ length: n }, (_, i) => Number(b.readBigInt64LE(o + i * 8)));
  o += n * 8;
  const documentIndices = Array.from({ length: docs }, (_, i) => Number(b.readBigInt64LE(o + i * 8)));
  t.equal(o + docs * 8, b.length, 'nothing after the document indices');
  return { version, code, lengths, pointers, documentIndices };
}

function megatronDocs(idx: Buffer, bin: Buffer): number[][] {
  const { code, lengths, pointers } = parseIdx(idx);
  const width = code === 8 ? 2 : 4;
  return lengths.map((len, i) => Array.from({ length: len }, (_, k) => (width === 2 ? bin.readUInt16LE(pointers[i]! + k * 2) : bin.readInt32LE(pointers[i]! + k * 4))));
}

t.test('shard boundaries follow token counts; a document larger than the cap gets its own shard', async (t) => {
  const segs = [[doc('a', [1, 2, 3]), doc('b', [4, 5])], [doc('c', [6]), doc('d', Array.from({ length: 12 }, (_, i) => 100 + i)), doc('e', [7, 8])]];
  const { files, counters } = await writeShards(segs, { format: 'megatron', encoding: 'r50k_base', shardTokens: 6 });
  t.same(files.map((f) => f.name), ['shard-00000.bin', 'shard-00000.idx', 'shard-00001.bin', 'shard-00001.idx', 'shard-00002.bin', 'shard-00002.idx']);
  t.same(megatronDocs(files[1]!.bytes, files[0]!.bytes), [[1, 2, 3], [4, 5], [6]]);
  t.same(megatronDocs(files[3]!.bytes, files[2]!.bytes), [Array.from({ length: 12 }, (_, i) => 100 + i)]);
  t.same(megatronDocs(files[5]!.bytes, files[4]!.bytes), [[7, 8]]);
  const idx = parseIdx(files[1]!.bytes);
  t.equal(idx.version, 1n);
  t.equal(idx.code, 8, 'r50k (50,257 ids) fits Megatron uint16, code 8');
  t.same(idx.pointers, [0, 6, 10], 'byte offsets of uint16 sequences');
  t.same(idx.documentIndices, [0, 1, 2, 3]);
  t.same(files[0]!.facts.sources, [
    { segment: 0, path: 'seg-0', records: DIGEST, first: 0, count: 2 },
    { segment: 1, path: 'seg-1', records: DIGEST, first: 0, count: 1 },
  ]);
  t.same([files[0]!.facts.documents, files[0]!.facts.tokens, files[0]!.facts.dtype, files[2]!.facts.firstDocument], [3, 6, 'uint16', 3]);
  t.same(counters.counts, { documents: 5, tokens: 20, shards: 3 });
});

t.test('llm.c shards: 256 x int32 header (magic, version, count), uint16 or uint32 tokens by vocabulary', async (t) => {
  for (const [encoding, version, width] of [['gpt2', 1, 2], ['o200k_base', 2, 4]] as const) {
    const { files } = await writeShards([[doc('a', [1, 2, 3]), doc('b', [70000 % (encoding === 'gpt2' ? 50000 : 200000), 5])]], { format: 'llmc', encoding });
    t.equal(files.length, 1);
    const b = files[0]!.bytes;
    t.same([b.readInt32LE(0), b.readInt32LE(4), b.readInt32LE(8)], [20240520, version, 5], encoding);
    t.equal(b.length, 1024 + 5 * width);
    const read = (i: number) => (width === 2 ? b.readUInt16LE(1024 + i * 2) : b.readUInt32LE(1024 + i * 4));
    t.same(Array.from({ length: 5 }, (_, i) => read(i)), [1, 2, 3, encoding === 'gpt2' ? 20000 : 70000, 5]);
    t.ok(b.subarray(12, 1024).every((x) => x === 0), 'rest of the header is zero');
  }
});

t.test('shuffle: seeded by the spec and the shard number, the same every time, a different order per seed', async (t) => {
  const docs = Array.from({ length: 40 }, (_, i) => doc(`d${i}`, [i]));
  const run = async (seed: string) => {
    const { files } = await writeShards([docs], { format: 'megatron', encoding: 'gpt2', shuffleSeed: seed });
    return megatronDocs(files[1]!.bytes, files[0]!.bytes).map((d) => d[0]);
  };
  const a = await run('fineweb-1');
  t.same(await run('fineweb-1'), a, 'same seed, same order');
  t.not(JSON.stringify(await run('fineweb-2')), JSON.stringify(a), 'another seed, another order');
  t.not(JSON.stringify(a), JSON.stringify([...a].sort((x, y) => x! - y!)), 'actually shuffled');
  t.same([...a].sort((x, y) => x! - y!), Array.from({ length: 40 }, (_, i) => i), 'a permutation: nothing lost or repeated');
  // Pinned: an implementation change that moves documents must be a deliberate version bump.
  t.same(Array.from(seededPermutation(8, 'pin', 0)), Array.from(seededPermutation(8, 'pin', 0)));
  t.not(JSON.stringify(Array.from(seededPermutation(8, 'pin', 0))), JSON.stringify(Array.from(seededPermutation(8, 'pin', 1))), 'shard number is part of the seed');
});

t.test('typed errors: a record without tokens, ids outside the encoding, gzip on a binary format', async (t) => {
  await t.rejects(writeShards([[{ id: 'x', text: 'no tokens' }]], {}), { code: 'REINGEST_E_NO_TOKENS', message: /segment seg-0, record 0: expected a "tokens" field.*put the tokenize stage/ });
  await t.rejects(writeShards([[doc('a', [1]), doc('b', [60000])]], { encoding: 'gpt2' }), { code: 'REINGEST_E_TOKEN_RANGE', message: /record 1: token id 60000 is outside gpt2 \(vocabulary 50257\)/ });
  t.throws(() => tokenShards.parseParams({ format: 'megatron', gzip: true }, 'aggregate[1].params'), { code: 'REINGEST_E_SPEC', message: /aggregate\[1\]\.params\.gzip/ });
  t.throws(() => tokenShards.parseParams({ format: 'megatorn' }, 'p'), { message: /did you mean "megatron"/ });
});

/** The sample pipeline plus a gzip JSONL shard output, as a JSON spec in a temp dir. */
async function samplePlusJsonl(dir: string): Promise<string> {
  const spec = {
    ...sample,
    mirror: { localDir: join(ROOT, 'sample') },
    aggregate: [...sample.aggregate, { stage: 'token-shards', params: { format: 'jsonl', gzip: true, shardTokens: 32768, fields: ['id', 'url'] }, output: 'docs' }],
  };
  const file = join(dir, 'pipeline.json');
  await writeFile(file, JSON.stringify(spec));
  return file;
}

t.test('the sample: shards hold tiktoken ids for 100% of documents, Python reads them, shards check catches damage', async (t) => {
  const dir = t.testdir();
  const out = join(dir, 'out');
  const r = await runCli(['run', await samplePlusJsonl(dir), '--cache', join(dir, 'cache'), '--out', out, '--json']);
  t.equal(r.code, 0, r.stderr);
  runJson(r.stdout);
  const m = JSON.parse(await readFile(join(out, 'manifest.json'), 'utf8')) as Manifest;
  const texts = (await readFile(join(out, 'text.jsonl'), 'utf8')).trim().split('\n').map((l) => (JSON.parse(l) as { text: string }).text);
  const enc = get_encoding('cl100k_base');

  // Every document in the Megatron shards, in order, against tiktoken on the same text.
  const prefixes = m.outputs.filter((o) => o.file.startsWith('megatron/') && o.file.endsWith('.bin')).map((o) => o.file.slice(0, -4));
  t.ok(prefixes.length >= 2, `the sample spans ${prefixes.length} shards`);
  const docs: number[][] = [];
  for (const p of prefixes) docs.push(...megatronDocs(await readFile(join(out, `${p}.idx`)), await readFile(join(out, `${p}.bin`))));
  t.equal(docs.length, texts.length, 'one shard document per text.jsonl line');
  let identical = 0;
  for (const [i, ids] of docs.entries()) if (JSON.stringify(ids) === JSON.stringify([...enc.encode_ordinary(texts[i]!), 100257])) identical++;
  t.equal(identical, texts.length, `${identical}/${texts.length} documents have tiktoken's ids (+ end of text)`);

  // llm.c shards carry the same token stream.
  const llmc = m.outputs.filter((o) => o.file.startsWith('llmc/'));
  const stream: number[] = [];
  for (const o of llmc) {
    const b = await readFile(join(out, o.file));
    for (let k = 1024; k < b.length; k += 4) stream.push(b.readUInt32LE(k));
    t.equal(b.readInt32LE(8), o.facts!.tokens, `${o.file}: header count = manifest tokens`);
  }
  t.same(stream, docs.flat(), 'llm.c and Megatron shards hold the same tokens');

  // Manifest facts: counts, and a pointer to the record stream each document came from.
  for (const o of m.outputs.filter((x) => x.facts)) {
    const f = o.facts as { documents: number; tokens: number; sources: { records: string; count: number }[] };
    t.equal(f.sources.reduce((n, s) => n + s.count, 0), f.documents, `${o.file}: sources cover its documents`);
    for (const s of f.sources) t.ok(m.tasks.some((task) => task.output.digest === s.records), `${o.file}: source ${s.records.slice(0, 15)} is a task output in the manifest`);
  }

  // The gzip JSONL shards: the manifest digest is of the uncompressed canonical bytes; the header has mtime 0.
  const gz = m.outputs.filter((o) => o.file.startsWith('docs/'));
  t.ok(gz.length >= 2 && gz.every((o) => o.compression === 'gzip' && o.file.endsWith('.jsonl.gz')));
  const gzBytes = await readFile(join(out, gz[0]!.file));
  t.equal(gzBytes.readUInt32LE(4), 0, 'gzip mtime 0');
  t.equal(`sha256:${execFileSync('sha256sum', { input: gunzipSync(gzBytes) }).toString().slice(0, 64)}`, gz[0]!.digest);

  // An independent reader: Debian's python3 with numpy, from the published formats.
  const numpy = spawnSync('/usr/bin/python3', ['-c', 'import numpy'], { encoding: 'utf8' });
  if (numpy.status !== 0 && process.env.REINGEST_REQUIRE_NUMPY !== '1') {
    t.comment('SKIPPED: Python reader: /usr/bin/python3 has no numpy here (apt-get install python3-numpy; CI installs it)');
    t.pass('Python reader skipped (reported above)', { skip: 'no numpy in /usr/bin/python3' });
  } else {
    const py = spawnSync('/usr/bin/python3', [join(ROOT, 'test/readers/read_shards.py'), 'megatron', ...prefixes.map((p) => join(out, p))], { encoding: 'utf8' });
    t.equal(py.status, 0, py.stderr);
    const read = py.stdout.trim().split('\n').map((l) => JSON.parse(l) as { documents: number; tokens: number; first: number[]; last: number[]; dtype: string; documentIndices: number[] });
    let at = 0;
    for (const [i, p] of prefixes.entries()) {
      const facts = m.outputs.find((o) => o.file === `${p}.bin`)!.facts as { documents: number; tokens: number };
      t.same([read[i]!.documents, read[i]!.tokens, read[i]!.dtype], [facts.documents, facts.tokens, 'int32'], `${p}: counts and dtype`);
      t.same(read[i]!.first, docs[at], `${p}: first document`);
      t.same(read[i]!.last, docs[at + facts.documents - 1], `${p}: last document`);
      t.same(read[i]!.documentIndices, [0, facts.documents]);
      at += facts.documents;
    }
    const pyl = spawnSync('/usr/bin/python3', [join(ROOT, 'test/readers/read_shards.py'), 'llmc', ...llmc.map((o) => join(out, o.file))], { encoding: 'utf8' });
    t.equal(pyl.status, 0, pyl.stderr);
    const counts = pyl.stdout.trim().split('\n').map((l) => (JSON.parse(l) as { tokens: number; version: number }));
    t.same(counts.map((c) => c.tokens), llmc.map((o) => o.facts!.tokens));
    t.ok(counts.every((c) => c.version === 2), 'cl100k needs uint32: version 2');
  }

  // shards check: clean, then a flipped byte, a missing file and a stray file.
  const ok = await runCli(['shards', 'check', out, '--json']);
  t.equal(ok.code, 0, ok.stderr);
  t.ok((JSON.parse(ok.stdout) as { ok: boolean }).ok);
  const victim = join(out, `${prefixes[1]}.bin`);
  const bytes = await readFile(victim);
  bytes[100] = bytes[100]! ^ 1;
  await writeFile(victim, bytes);
  await rm(join(out, 'llmc', 'shard-00000.bin'));
  await appendFile(join(out, 'megatron', 'notes.txt'), 'x');
  const bad = await runCli(['shards', 'check', join(out, 'megatron'), '--manifest', join(out, 'manifest.json')]);
  t.equal(bad.code, 1);
  t.match(bad.stdout, new RegExp(`differs +${prefixes[1]}\\.bin \\(expected sha256:[0-9a-f]{64}, found sha256:[0-9a-f]{64}\\)`));
  t.match(bad.stdout, /not-in-manifest +megatron\/notes\.txt/);
  t.notMatch(bad.stdout, /llmc/, 'only the directory asked for');
  t.match(bad.stdout, /differs +megatron\/ \(files index of aggregate:1\) \(expected sha256:[0-9a-f]{64}, found sha256:[0-9a-f]{64}\)/, 'the folder\'s files index rebuilt from the disk differs from the committed one');
  const all = await runCli(['shards', 'check', out]);
  t.match(all.stdout, /missing +llmc\/shard-00000\.bin/);
  // Shards someone sent you, in a folder of their own: the folder is matched to the output it holds.
  const { cp } = await import('node:fs/promises');
  const received = join(dir, 'received');
  await cp(join(out, 'llmc'), received, { recursive: true });
  const elsewhere = await runCli(['shards', 'check', received, '--manifest', join(out, 'manifest.json'), '--json']);
  const res = JSON.parse(elsewhere.stdout) as { files: { file: string; status: string }[] };
  t.same(res.files.map((f) => f.status), ['missing', 'ok', 'ok', 'differs'], 'llmc/ recognised in another folder (shard 0 was deleted above)');
  t.match(res.files.at(-1), { file: 'llmc/ (files index of aggregate:2)', status: 'differs' }, 'and its files index, rebuilt from the disk, is not the committed one');
  const noManifest = await runCli(['shards', 'check', received]);
  t.equal(noManifest.code, 2);
  t.match(noManifest.stderr, /no manifest\.json in that directory; pass the dataset's manifest with --manifest M/);
});
