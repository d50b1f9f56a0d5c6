import { readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import t from 'tap';
import { generateSigningKey, parseTrustedKeys, RemoteTrust } from '../cache/signing.ts';
import { runCli, SAMPLE_PIPELINE } from './helpers.ts';

/* Signed remote action entries (cache/signing.ts): which stored texts a node believes, and why not. */
const entry = `${JSON.stringify({ schema: 'reingest-action/1', key: `sha256:${'a'.repeat(64)}` })}\n`;
const cluster = generateSigningKey();
const stranger = generateSigningKey();
const node = (over: { signingKey?: string; trustedKeys?: string[]; trustUnsigned?: boolean } = {}) =>
  new RemoteTrust({ trustedKeys: over.trustedKeys ?? [], trustUnsigned: over.trustUnsigned ?? false, ...(over.signingKey ? { signingKey: over.signingKey } : {}) });

t.test('a node believes entries signed by its own key or a trusted key, and nothing else', async (t) => {
  const signed = node({ signingKey: cluster.pem }).seal(entry);
  t.equal(signed.split('\n').length, 3, 'the entry line, the signature line, and the final newline');
  t.equal(signed.slice(0, entry.length), entry, 'the entry itself is unchanged');
  t.match(node({ signingKey: cluster.pem }).open(signed), { entry, signer: cluster.id, trusted: true });
  t.match(node({ trustedKeys: [cluster.id] }).open(signed), { entry, trusted: true });
  t.match(node({ trustedKeys: [stranger.id] }).open(signed), { trusted: false, problem: `signed by ${cluster.id}, which is not a trusted key` });
  t.match(node({ trustedKeys: [cluster.id] }).open(entry), { trusted: false, problem: 'the entry is not signed' });
  t.equal(node().seal(entry), entry, 'a node without a key stores the entry unsigned');
});

t.test('a signature does not carry over to other bytes; --trust-remote never excuses a bad signature', async (t) => {
  const signed = node({ signingKey: cluster.pem }).seal(entry);
  const other = signed.replace('aaaa', 'aaab');
  t.match(node({ trustedKeys: [cluster.id] }).open(other), { trusted: false, problem: `its signature by ${cluster.id} does not verify` });
  t.match(node({ trustedKeys: [cluster.id], trustUnsigned: true }).open(other), { trusted: false });
  t.match(node({ trustUnsigned: true }).open(entry), { entry, trusted: true }, '--trust-remote believes unsigned entries');
  t.match(node({ trustUnsigned: true }).open(node({ signingKey: stranger.pem }).seal(entry)), { trusted: true }, '... and entries by keys it does not know');
  const [line, sig] = signed.split('\n');
  for (const bad of [`${line}\nnot json\n`, `${line}\n{"schema":"reingest-signature/1"}\n`, `${line}\n${sig}\n\n`, `${line}\n${JSON.stringify({ ...JSON.parse(sig!), extra: 1 })}\n`]) {
    t.match(node({ trustedKeys: [cluster.id], trustUnsigned: true }).open(bad), { trusted: false, entry: null }, `refused: ${JSON.stringify(bad.slice(line!.length + 1, line!.length + 40))}`);
  }
});

t.test('trusted-keys files: one key a line, comments allowed; anything else names its line', async (t) => {
  t.same(parseTrustedKeys(`# cluster\n${cluster.id} node-a\n\n  ${stranger.id}\n`, 'k'), [cluster.id, stranger.id]);
  t.throws(() => parseTrustedKeys(`${cluster.id}\nssh-ed25519 AAAA\n`, 'keys.txt'), { code: 'REINGEST_E_KEY', message: /keys.txt line 2: expected ed25519:<43 base64url characters>/ });
});

t.test('cache keygen writes a private key only its owner can read, never over an existing file; bad key flags are typed errors', async (t) => {
  const dir = t.testdir();
  const key = join(dir, 'node.key');
  const gen = await runCli(['cache', 'keygen', key]);
  t.equal(gen.code, 0, gen.stderr);
  const id = gen.stdout.trim();
  t.match(id, /^ed25519:[A-Za-z0-9_-]{43}$/);
  t.equal((await stat(key)).mode & 0o777, 0o600);
  t.equal((await readFile(`${key}.pub`, 'utf8')).trim(), id);
  t.equal(node({ signingKey: await readFile(key, 'utf8') }).signer?.id, id, 'the public id is the private key\'s');
  const again = await runCli(['cache', 'keygen', key]);
  t.equal(again.code, 1);
  t.match(again.stderr, /REINGEST_E_EXISTS: cache keygen: .*node\.key exists; a key is never overwritten/);

  const run = (flags: string[]) => runCli(['run', SAMPLE_PIPELINE, '--cache', join(dir, 'c'), '--out', join(dir, 'o'), ...flags]);
  const stray = await run(['--trusted-keys', `${key}.pub`]);
  t.equal(stray.code, 2);
  t.match(stray.stderr, /--trusted-keys needs --remote-cache URL/);
  await writeFile(join(dir, 'not-a-key'), 'hello\n');
  const badKey = await run(['--remote-cache', 'http://127.0.0.1:9/', '--remote-cache-key', join(dir, 'not-a-key')]);
  t.equal(badKey.code, 1);
  t.match(badKey.stderr, /REINGEST_E_KEY: --remote-cache-key .*not-a-key: expected an Ed25519 private key in PKCS#8 PEM/);
  const missing = await run(['--remote-cache', 'http://127.0.0.1:9/', '--trusted-keys', join(dir, 'nope')]);
  t.equal(missing.code, 1);
  t.match(missing.stderr, /REINGEST_E_KEY: --trusted-keys .*nope: cannot read the file \(ENOENT\)/);
});
