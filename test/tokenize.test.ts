import { spawn } from 'node:child_process';
import t from 'tap';
import { get_encoding, type Tiktoken } from 'tiktoken';
import { BpeEncoder, mergeByHeap, mergeByScan, PairTable } from '../stages/tokenize/bpe.ts';
import { ENCODING_NAMES, loadEncoding, type EncodingName } from '../stages/tokenize/encodings.ts';
import { tokenize } from '../stages/tokenize.ts';
import { BIN, collect, ROOT, stageCtx } from './helpers.ts';

/** Text that trips pre-tokenisers and BPE: scripts, marks, emoji sequences, odd whitespace, long runs. */
const STRESS: readonly string[] = [
  "Hello world, it's a test. DON'T IT'S I'M YOU'LL WE'D THEY'VE 'ſ 'S 'Ll",
  '日本語のテキストを分割しない。中文没有空格。한국어 문장입니다.',
  'مرحبا بالعالم، هذا نص عربي مع أرقام ١٢٣٤٥ و 12345.',
  'Combining: e\u0301 a\u0300\u0323 \u0915\u094d\u0937 Zalgo: Z\u0351\u0352\u0353a\u0354l\u0355g\u0356o',
  'Emoji: 🤷🏽‍♀️ 👨‍👩‍👧‍👦 🇫🇷🇯🇵 ❤️‍🔥 1️⃣ 🏳️‍🌈',
  'Whitespace:  \t\t  \n\n\n   \r\n\r\n \u00a0\u00a0 \u3000 \u2003\u2009 \u0085 \ufeff x \u200b y',
  `Digits: ${'1234567890'.repeat(30)} 3.14159 1,000,000 ٣٫١٤`,
  `Spaces: ${' '.repeat(500)}end ${'\n'.repeat(200)}end ${'\t '.repeat(150)}`,
  'Lone surrogates: \ud800 x \udfff y \ud83d z',
  'Specials as text: <|endoftext|> <|fim_prefix|> <|endofprompt|>',
  'Thai: ภาษาไทยไม่มีการเว้นวรรคระหว่างคำ Khmer: ភាសាខ្មែរ Myanmar: မြန်မာဘာသာ',
  'Code: function f(x){return x*2;} // ok\n\tif (a &&b||c) { console.log("s\\n"); }',
  'Mixed case: CamelCaseWord HTTPServer iPhone XMLHttpRequest ÉCOLE Straße ǅemal',
  'Base64: TWFueSBoYW5kcyBtYWtlIGxpZ2h0IHdvcmsu/+== and URL https://a.example/x?y=1&z=%20',
  'Cyrillic: Съешь же ещё этих мягких французских булок, да выпей чаю. Greek: Ξεσκεπάζω',
  `Punctuation runs: ${'!?'.repeat(200)} ${'-'.repeat(300)} ${'…'.repeat(50)}`,
  'Astral: 𝔘𝔫𝔦𝔠𝔬𝔡𝔢 𐐷𐐷 𠜎𠜱𠝹 𐑖𐑭𐑝𐑾𐑯 (Shavian)',
];

const refs = new Map<EncodingName, Tiktoken>();
function reference(name: EncodingName): Tiktoken {
  let r = refs.get(name);
  if (!r) refs.set(name, (r = get_encoding(name)));
  return r;
}

function same(a: Uint32Array, b: Uint32Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

t.test("every encoding gives tiktoken's ids on the stress texts", async (t) => {
  for (const name of ENCODING_NAMES) {
    const ours = new BpeEncoder(name);
    let matched = 0;
    for (const text of STRESS) {
      const want = reference(name).encode_ordinary(text);
      if (same(ours.encode(text), want)) matched++;
      else t.fail(`${name}: ids differ on ${JSON.stringify(text.slice(0, 40))}`);
    }
    t.equal(matched, STRESS.length, `${name}: ${matched}/${STRESS.length} texts identical`);
  }
});

t.test('long runs of one character: 10,000 and 20,000 give the same ids as tiktoken', async (t) => {
  const ours = new BpeEncoder('cl100k_base');
  for (const n of [10_000, 20_000]) {
    for (const ch of ['a', ' ', '1', 'é', '😀', '\n', 'ab']) {
      const text = ch.repeat(n);
      t.ok(same(ours.encode(text), reference('cl100k_base').encode_ordinary(text)), `${n} x ${JSON.stringify(ch)}`);
    }
  }
});

t.test('1 MB of one character stays far below what a quadratic merge loop needs', async (t) => {
  const ours = new BpeEncoder('cl100k_base');
  ours.encode('warm up the pair table once');
  // tiktoken's quadratic loop, measured here: 1 MB is 50x the input, so 2,500x the time of 20,000 chars.
  const small = 'a'.repeat(20_000);
  const t0 = performance.now();
  reference('cl100k_base').encode_ordinary(small);
  const quadratic = (performance.now() - t0) * 2500;
  const big = 'a'.repeat(1_000_000);
  const t1 = performance.now();
  const ids = ours.encode(big);
  const took = performance.now() - t1;
  t.equal(ids.length, 125_000, 'cl100k packs 8 a per token');
  t.ok(took * 100 < quadratic, `1 MB took ${took.toFixed(0)} ms; a quadratic loop would take ~${(quadratic / 1000).toFixed(0)} s (must be >= 100x more)`);
});

t.test('the heap merge and the scan merge agree on random byte strings', async (t) => {
  const enc = loadEncoding('cl100k_base');
  const pairs = new PairTable(enc.ranks);
  const byteRank = new Int32Array(256).map((_, b) => enc.ranks.get(String.fromCharCode(b))!);
  let state = 12345;
  const rand = (n: number) => {
    state = (Math.imul(state, 1103515245) + 12345) >>> 0;
    return state % n;
  };
  // A small alphabet of common bytes so merges happen a lot.
  const alphabet = Buffer.from(' etaoinshrdlu\n.,', 'latin1');
  for (let i = 0; i < 300; i++) {
    const n = 2 + rand(200);
    const bytes = Buffer.alloc(n);
    for (let j = 0; j < n; j++) bytes[j] = alphabet[rand(alphabet.length)]!;
    const a = mergeByScan(bytes, n, byteRank, pairs);
    const b = mergeByHeap(bytes, n, byteRank, pairs);
    if (JSON.stringify(a) !== JSON.stringify(b)) {
      t.fail(`differ on ${JSON.stringify(bytes.toString('latin1'))}`);
      return;
    }
  }
  t.pass('300 random strings merge identically');
});

t.test("each encoding's ranks hash to the sha256 of OpenAI's published .tiktoken file", async (t) => {
  const expected: Record<string, string> = {
    cl100k_base: '223921b76ee99bde995b7ff738513eef100fb51d18c93597a113bcffe865b2a7',
    o200k_base: '446a9538cb6c348e3516120d7c08b09f57c36495e2acfffe59a5bf8b0cfb1a2d',
    r50k_base: '306cd27f03c1a714eca7108e03d66b7dc042abe8c258b44c199a7ed9838dd930',
  };
  for (const [name, hex] of Object.entries(expected)) {
    const id = loadEncoding(name as EncodingName).identity;
    t.equal(id.ranksSha256, `sha256:${hex}`, name);
    t.equal(id.package, 'tiktoken');
  }
  t.equal(loadEncoding('gpt2').identity.ranksSha256, loadEncoding('r50k_base').identity.ranksSha256, 'gpt2 is r50k_base');
});

t.test('decodeBytes inverts encode, byte for byte, including invalid UTF-8 split across tokens', async (t) => {
  const ours = new BpeEncoder('o200k_base');
  for (const text of STRESS) {
    const ids = ours.encode(text);
    t.equal(ours.decodeBytes(ids).toString('utf8'), Buffer.from(text, 'utf8').toString('utf8'), JSON.stringify(text.slice(0, 30)));
  }
  t.throws(() => ours.decodeBytes([999_999_999]), /not an ordinary token/);
});

t.test('tokenize stage: appends ids and the end-of-text token, counts tokens, refuses unknown encodings', async (t) => {
  const params = tokenize.parseParams({ encoding: 'r50k_base' }, 'segment[9].params');
  t.equal(params.ranks.sha256, 'sha256:306cd27f03c1a714eca7108e03d66b7dc042abe8c258b44c199a7ed9838dd930');
  const ctx = stageCtx(params);
  async function* input() {
    yield { id: 'a', text: 'Hello world' };
    yield { id: 'b', title: 'no text field' };
  }
  const out = await collect(tokenize.run(input(), ctx));
  t.equal(out.length, 1);
  const le = Buffer.from(out[0]!.tokens as Uint8Array);
  const ids = Array.from({ length: le.length / 4 }, (_, i) => le.readUInt32LE(i * 4));
  t.same(ids, [...reference('r50k_base').encode_ordinary('Hello world'), 50256]);
  t.equal(out[0]!.tokenCount, 3);
  t.same(ctx.counters.toJSON(), { drops: { 'no-text-field': 1 }, counts: { tokens: 3 } });

  t.throws(() => tokenize.parseParams({ encoding: 'cl100kbase' }, 'segment[9].params'), /segment\[9\]\.params\.encoding: expected one of cl100k_base.*did you mean "cl100k_base"/);
  t.throws(
    () => tokenize.parseParams({ encoding: 'cl100k_base', ranks: { package: 'tiktoken', version: '0', file: 'x', sha256: `sha256:${'0'.repeat(64)}` } }, 'p'),
    { code: 'REINGEST_E_TOKENIZER_RANKS', message: /p\.ranks\.sha256: expected cl100k_base ranks with digest sha256:0000/ },
  );
  const keyA = tokenize.keyParams!(tokenize.parseParams({}, 'p'));
  const keyB = tokenize.keyParams!({ ...tokenize.parseParams({}, 'p'), ranks: { ...params.ranks, version: '9.9.9', sha256: tokenize.parseParams({}, 'p').ranks.sha256 } });
  t.same(keyA, keyB, 'the package version is not key material; the ranks digest is');
});

t.test('reingest tokenize reads stdin and prints the ids as a JSON array', async (t) => {
  const text = 'Grüße, 世界! <|endoftext|>  \n';
  for (const encoding of ['o200k_base', 'gpt2']) {
    const child = spawn(process.execPath, [BIN, 'tokenize', '--encoding', encoding], { cwd: ROOT, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stdin.end(text);
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    t.equal(code, 0);
    t.same(JSON.parse(stdout), Array.from(reference(encoding as EncodingName).encode_ordinary(text)), encoding);
  }
  const bad = spawn(process.execPath, [BIN, 'tokenize', '--encoding', 'p50k'], { cwd: ROOT, stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  bad.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  bad.stdin.end('x');
  t.equal(await new Promise<number | null>((resolve) => bad.on('close', resolve)), 2);
  t.match(stderr, /--encoding: expected one of cl100k_base, o200k_base, p50k_base, r50k_base, gpt2, got "p50k"/);
});
