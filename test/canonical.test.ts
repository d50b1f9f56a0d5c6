import t from 'tap';
import { canonicalJson, compareUtf8 } from '../runner/canonical-json.ts';
import { decodeFrames, decodeRecord, encodeFrame, encodeFrameParts } from '../runner/record-codec.ts';
import { chunked, collect } from './helpers.ts';

t.test('canonical JSON sorts keys by UTF-8 bytes, not UTF-16 units or locale', async (t) => {
  // U+FF61 sorts before U+1F600 by code point (UTF-8), but after it by UTF-16 code unit (0xD83D < 0xFF61).
  const obj = { '\u{1F600}': 1, '\uff61': 2, b: 3, B: 4, a: 5, é: 6 };
  t.equal(canonicalJson(obj), '{"B":4,"a":5,"b":3,"é":6,"｡":2,"😀":1}');
  const naive = Object.keys(obj).sort();
  t.not(naive.join(), Object.keys(obj).sort(compareUtf8).join(), 'the plain JS sort would disagree here');
  t.ok(compareUtf8('\uff61', '\u{1F600}') < 0);
  t.equal(compareUtf8('ab', 'abc'), -1);
  t.equal(compareUtf8('abc', 'abc'), 0);
});

t.test('canonical JSON is independent of insertion order and drops undefined', async (t) => {
  t.equal(canonicalJson({ z: [1, { y: 2, x: null }], a: undefined, m: 'x' }), canonicalJson({ m: 'x', z: [1, { x: null, y: 2 }] }));
  t.equal(canonicalJson({ n: -0 }), '{"n":0}');
});

t.test('canonical JSON refuses floats and non-plain objects', async (t) => {
  t.throws(() => canonicalJson({ ratio: 0.5 }), { code: 'REINGEST_E_CANONICAL_JSON', message: /\$\.ratio.*safe integer/ });
  t.throws(() => canonicalJson({ d: new Date(0) }), { code: 'REINGEST_E_CANONICAL_JSON' });
  t.throws(() => canonicalJson({ big: 2 ** 60 }), { code: 'REINGEST_E_CANONICAL_JSON' });
});

t.test('record frames round-trip and do not depend on key order', async (t) => {
  const rec = { text: 'héllo 😀', n: -42, big: Number.MAX_SAFE_INTEGER, ok: true, no: false, nil: null, body: new Uint8Array([0, 255, 10]), list: ['a', { k: 1 }] };
  const a = encodeFrame(rec);
  const b = encodeFrame({ list: ['a', { k: 1 }], body: new Uint8Array([0, 255, 10]), nil: null, no: false, ok: true, big: Number.MAX_SAFE_INTEGER, n: -42, text: 'héllo 😀' });
  t.same(a, b);
  t.same(decodeRecord(a.subarray(4)), rec);
  t.not(encodeFrame({ x: 'AAA' }).toString('hex'), encodeFrame({ x: new Uint8Array([65, 65, 65]) }).toString('hex'), 'bytes and strings encode differently');
  t.not(encodeFrame({ ab: 'c' }).toString('hex'), encodeFrame({ a: 'bc' }).toString('hex'), 'lengths keep fields apart');
  t.throws(() => encodeFrame({ f: 1.5 }), { code: 'REINGEST_E_RECORD_CODEC' });
});

t.test('record map keys: code point order (U+FFFF before U+1F600), which UTF-16 code units would reverse', async (t) => {
  const frame = encodeFrame({ '😀': 2, '\uffff': 1, a: { '😀': null, '\uffff': null } });
  const int = (n: number) => `03${n.toString(16).padStart(16, '0')}`;
  const key = (s: string) => `${Buffer.byteLength(s).toString(16).padStart(8, '0')}${Buffer.from(s).toString('hex')}`;
  const inner = `07${'00000002'}${key('\uffff')}00${key('😀')}00`;
  const body = `07${'00000003'}${key('a')}${inner}${key('\uffff')}${int(1)}${key('😀')}${int(2)}`;
  t.equal(frame.toString('hex'), `${(body.length / 2).toString(16).padStart(8, '0')}${body}`, 'tag 7, u32 count, then untagged keys (u32 length + UTF-8) each followed by its tagged value');
});

t.test('a frame in parts (large blocks by reference) is byte for byte the frame', async (t) => {
  const big = (n: number, fill: number) => new Uint8Array(n).fill(fill);
  const cases = [
    { small: 'x' },
    { block: big(16 * 1024, 1) },
    { a: 'before', block: big(120_000, 2), z: 'after', n: 7 },
    { one: big(20_000, 3), two: big(16 * 1024 - 1, 4), three: big(300_000, 5), list: [big(40_000, 6), 'mid', { deep: big(17_000, 7) }], s: 'é'.repeat(5000) },
  ];
  for (const [i, rec] of cases.entries()) {
    const whole = encodeFrame(rec);
    const { parts, length } = encodeFrameParts(rec);
    t.equal(length, whole.length, `case ${i}: length`);
    t.same(Buffer.concat(parts), whole, `case ${i}: bytes`);
  }
  const block = big(50_000, 9);
  const { parts } = encodeFrameParts({ block });
  t.ok(parts.some((p) => p.buffer === block.buffer), 'the block itself is a part, not a copy');
});

t.test('frames decode across any chunk boundary and reject a torn tail', async (t) => {
  const recs = Array.from({ length: 50 }, (_, i) => ({ i, s: 'x'.repeat(i * 7), b: new Uint8Array(i) }));
  const bytes = Buffer.concat(recs.map(encodeFrame));
  for (const sizes of [[1], [3, 7], [4096], [bytes.length]]) {
    t.same(await collect(decodeFrames(chunked(bytes, sizes))), recs, `chunks ${sizes}`);
  }
  await t.rejects(collect(decodeFrames(chunked(bytes.subarray(0, bytes.length - 3), [5]))), { code: 'REINGEST_E_CACHE_CORRUPT', message: /ends inside a frame/ });
});
