import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import t from 'tap';
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
