import { readFile, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import t from 'tap';
import { checkProof, readProofFile, type RecordProof } from '../cli/proof.ts';
import { differences, MAX_PROOF_BYTES } from '../cli/proof-file.ts';
import type { Manifest } from '../runner/manifest.ts';
import { runCli, runJson, SAMPLE_PIPELINE } from './helpers.ts';

t.test('one record proves against the manifest alone; a changed byte or another record does not', async (t) => {
  const dir = t.testdir();
  const cache = join(dir, 'c');
  const made = runJson((await runCli(['run', SAMPLE_PIPELINE, '--cache', cache, '--out', join(dir, 'o'), '--json'])).stdout);
  const p = await runCli(['proof', made.manifest, '--task', 'segment:2', '--record', '3', '--cache', cache]);
  t.equal(p.code, 0, p.stderr);
  const proof = JSON.parse(p.stdout);
  t.match(proof, { schema: 'reingest-record-proof/1', task: 'segment:2', index: 3, record: { url: String, text: String } });
  t.ok(proof.auditPath.length >= 1 && proof.auditPath.length <= 7, `${proof.auditPath.length} sibling hashes for ${proof.count} records`);
  const file = join(dir, 'p.json');
  await writeFile(file, p.stdout);
  const ok = await runCli(['proof', 'check', file, '--manifest', made.manifest]);
  t.equal(ok.code, 0, ok.stdout);
  t.match(ok.stdout, /^ok: record 3 of \d+ in segment:2 \(tokenize\) is in the manifest's records root/);

  const frame = Buffer.from(proof.frame, 'base64');
  frame[frame.length - 1] = frame[frame.length - 1]! ^ 1;
  await writeFile(file, JSON.stringify({ ...proof, frame: frame.toString('base64') }));
  const bad = await runCli(['proof', 'check', file, '--manifest', made.manifest]);
  t.equal(bad.code, 1);
  t.match(bad.stdout, /^FAILED: the record and its audit path do not lead to the manifest's records root/);
  await writeFile(file, JSON.stringify({ ...proof, index: 4 }));
  t.equal((await runCli(['proof', 'check', file, '--manifest', made.manifest])).code, 1, 'the same record at another position fails');

  const range = await runCli(['proof', made.manifest, '--task', 'segment:2', '--record', '99999', '--cache', cache]);
  t.equal(range.code, 1);
  t.match(range.stderr, /REINGEST_E_PROOF: --record: expected 0\.\.\d+ \(task segment:2 output has \d+ records\), got 99999/);
  const m = JSON.parse(await readFile(made.manifest, 'utf8'));
  t.ok(m.tasks.find((x: { id: string }) => x.id === 'segment:2').output.recordsRoot, 'the manifest carries the root the proof leads to');
});

/** One sample run and one proof of segment:2 record 3, shared by the forgery tests below (a run takes seconds). */
async function sampleProof(dir: string) {
  const cache = join(dir, 'c');
  const made = runJson((await runCli(['run', SAMPLE_PIPELINE, '--cache', cache, '--out', join(dir, 'o'), '--json'])).stdout);
  const p = await runCli(['proof', made.manifest, '--task', 'segment:2', '--record', '3', '--cache', cache]);
  if (p.code !== 0) throw new Error(`proof failed: ${p.stderr}`);
  const manifest = JSON.parse(await readFile(made.manifest, 'utf8')) as Manifest;
  const file = join(dir, 'p.json');
  /** Writes `proof` (a string as is, anything else as JSON) and runs `proof check` on it. */
  const check = async (proof: unknown) => {
    await writeFile(file, typeof proof === 'string' ? proof : JSON.stringify(proof));
    return runCli(['proof', 'check', file, '--manifest', made.manifest]);
  };
  return { dir, cache, made, manifest, proof: JSON.parse(p.stdout) as RecordProof & { record: Record<string, unknown> }, check };
}
let sample: Awaited<ReturnType<typeof sampleProof>>;
t.before(async () => {
  sample = await sampleProof(t.testdir());
});

t.test('a proof shows only what its frame proves: every readable field, the stage and the frame length are checked', async (t) => {
  const { proof, check } = sample;
  const ok = await check(proof);
  t.equal(ok.code, 0, ok.stdout);
  const url = proof.record.url as string;
  t.match(ok.stdout, `its frame holds url ${JSON.stringify(url)}, id ${JSON.stringify(proof.record.id)}`, 'the ok line names the record as its frame gives it');

  const text = await check({ ...proof, record: { ...proof.record, text: 'a forged text' } });
  t.equal(text.code, 1, text.stdout);
  t.match(text.stdout, /^FAILED: record\.text: the proof shows "a forged text", the frame holds ".+…"/, 'an edited record.text is named, the frame\'s long text cut');

  const extra = await check({ ...proof, record: { ...proof.record, extra: { nested: [1] } } });
  t.equal(extra.code, 1, extra.stdout);
  t.match(extra.stdout, /^FAILED: record\.extra: the proof shows \{"nested":\[1\]\}, the frame holds nothing/, 'a field the frame does not have is named');

  const lang = await check({ ...proof, record: { ...proof.record, lang: 'xx' } });
  t.equal(lang.code, 1, lang.stdout);
  t.match(lang.stdout, new RegExp(`^FAILED: record\\.lang: the proof shows "xx", the frame holds ${JSON.stringify(proof.record.lang)}`));

  const stage = await check({ ...proof, stage: 'dedup' });
  t.equal(stage.code, 1, stage.stdout);
  t.match(stage.stdout, /^FAILED: stage: the proof says "dedup", the manifest's task segment:2 writes "tokenize"/);

  const frame = Buffer.from(proof.frame, 'base64');
  frame.writeUInt32BE(frame.readUInt32BE(0) + 1, 0);
  const prefix = await check({ ...proof, frame: frame.toString('base64') });
  t.equal(prefix.code, 1, prefix.stdout);
  t.match(prefix.stdout, /^FAILED: frame: its length prefix says (\d+) bytes follow, \d+ do/, 'a frame whose length prefix lies is refused as such');
});

t.test('a proof file that is not a proof is REINGEST_E_PROOF naming the field, not an internal error', async (t) => {
  const { dir, proof, manifest, check } = sample;
  const frame42 = await check({ ...proof, frame: 42 });
  t.equal(frame42.code, 1, frame42.stderr);
  t.match(frame42.stderr, /^reingest: REINGEST_E_PROOF: proof frame: expected a string, got 42/);
  t.notMatch(frame42.stderr, /internal error/);

  const notJson = join(dir, 'not.json');
  await writeFile(notJson, '{"schema": "reingest-record-proof/1", ');
  await t.rejects(readProofFile(notJson), { code: 'REINGEST_E_PROOF', message: /not\.json to be a JSON proof .* it is not JSON/ });
  const huge = join(dir, 'huge.json');
  await writeFile(huge, '');
  await truncate(huge, MAX_PROOF_BYTES + 1);
  await t.rejects(readProofFile(huge), { code: 'REINGEST_E_PROOF', message: /at most 67108864 bytes, .*huge\.json is larger/ });

  const ill: [string, unknown, RegExp][] = [
    ['an array', [proof], /^proof file: expected a JSON object/],
    ['frame not base64', { ...proof, frame: '@@@@' }, /^proof frame: expected base64/],
    ['a short audit hash', { ...proof, auditPath: [proof.auditPath[0], 'abc'] }, /^proof auditPath\[1\]: expected 64 lowercase hex digits .*got "abc"/],
    ['auditPath not an array', { ...proof, auditPath: 'x' }, /^proof auditPath: expected an array/],
    ['index 1.5', { ...proof, index: 1.5 }, /^proof index: expected a non-negative integer, got 1\.5/],
    ['no record', { ...proof, record: undefined }, /^proof record: expected an object .*got nothing/],
    ['another schema', { ...proof, schema: 'x' }, /^proof schema: expected "reingest-record-proof\/1", got "x"/],
  ];
  for (const [what, p, message] of ill) t.throws(() => checkProof(manifest, p), { code: 'REINGEST_E_PROOF', message }, what);

  const notJsonCli = await check('not json');
  t.equal(notJsonCli.code, 1, notJsonCli.stderr);
  t.match(notJsonCli.stderr, /^reingest: REINGEST_E_PROOF: proof check: expected .* to be a JSON proof/);
});

t.test('the readable record compares canonically, and a position past the end does not prove', async (t) => {
  const { cache, made, manifest, proof } = sample;
  const reordered = Object.fromEntries(Object.entries(proof.record).reverse());
  t.match(checkProof(manifest, JSON.parse(JSON.stringify({ ...proof, record: reordered }))), { ok: true }, 'key order in the proof\'s record is irrelevant');
  t.match(checkProof(manifest, { ...proof, task: 'segment:999' }), { ok: false, field: 'task', why: /^task: the proof is for task "segment:999", the manifest has no such task/ });

  // The audit path of the last record also leads to the root from any position past the end; the check must not accept that.
  const last = proof.count - 1;
  const p = await runCli(['proof', made.manifest, '--task', 'segment:2', '--record', String(last), '--cache', cache]);
  const lastProof = JSON.parse(p.stdout) as RecordProof;
  t.match(checkProof(manifest, lastProof), { ok: true });
  t.match(checkProof(manifest, { ...lastProof, index: last + 5 }), { ok: false, field: 'index', why: `index: expected 0..${last} (task segment:2 output has ${proof.count} records), got ${last + 5}` });
});

t.test('differences: nested paths, missing is not null, key order irrelevant', async (t) => {
  t.same(differences({ a: { b: [1, 2] }, c: null }, { c: null, a: { b: [1, 3] } }, 'record'), [{ path: 'record.a.b[1]', shown: 2, held: 3 }]);
  t.same(differences({ 'x y': null }, {}, 'record'), [{ path: 'record["x y"]', shown: null, held: undefined }]);
  t.same(differences({ a: [1] }, { a: [1, 2] }, 'record'), [{ path: 'record.a[1]', shown: undefined, held: 2 }]);
  t.same(differences({ a: 1 }, { a: '1' }, 'record'), [{ path: 'record.a', shown: 1, held: '1' }]);
});

