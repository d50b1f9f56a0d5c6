import { readFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import type { RemoteCacheConfig } from '../cache/remote.ts';
import { generateSigningKey, parseTrustedKeys, signerFromPem } from '../cache/signing.ts';
import { ReingestError } from '../runner/errors.ts';
import { UsageError } from './options.ts';

/** The flags of every command that may use a remote cache. */
export const REMOTE = {
  'remote-cache': { type: 'string' },
  'remote-cache-key': { type: 'string' },
  'trusted-keys': { type: 'string' },
  'trust-remote': { type: 'boolean' },
} as const;

export interface RemoteFlags {
  readonly 'remote-cache'?: string | undefined;
  readonly 'remote-cache-key'?: string | undefined;
  readonly 'trusted-keys'?: string | undefined;
  readonly 'trust-remote'?: boolean | undefined;
}

/** Largest key or trusted-keys file read: a key is a few hundred bytes. */
const KEY_FILE_MAX = 1024 * 1024;

/**
 * --remote-cache URL (else $REINGEST_REMOTE_CACHE) and whom to believe there: --remote-cache-key FILE
 * (else $REINGEST_REMOTE_CACHE_KEY) signs this node's uploads and trusts its own signatures,
 * --trusted-keys FILE (else $REINGEST_TRUSTED_KEYS) adds public keys, --trust-remote believes unsigned
 * entries. Keys are read and checked here, so a bad key file fails before any work starts.
 */
export function remoteCache(values: RemoteFlags, env: NodeJS.ProcessEnv): { remoteCache?: RemoteCacheConfig } {
  const url = values['remote-cache'] ?? (env.REINGEST_REMOTE_CACHE || undefined);
  const keyFile = values['remote-cache-key'] ?? (env.REINGEST_REMOTE_CACHE_KEY || undefined);
  const trustedFile = values['trusted-keys'] ?? (env.REINGEST_TRUSTED_KEYS || undefined);
  if (url === undefined) {
    const stray = values['remote-cache-key'] !== undefined ? '--remote-cache-key' : values['trusted-keys'] !== undefined ? '--trusted-keys' : values['trust-remote'] ? '--trust-remote' : undefined;
    if (stray) throw new UsageError(`${stray} needs --remote-cache URL (or $REINGEST_REMOTE_CACHE)`);
    return {};
  }
  if (!/^https?:\/\/[^/]/.test(url)) throw new UsageError(`--remote-cache: expected an http:// or https:// URL, got ${JSON.stringify(url)}`);
  const signingKey = keyFile === undefined ? undefined : readKeyFile(keyFile, '--remote-cache-key');
  if (signingKey !== undefined) signerFromPem(signingKey, `--remote-cache-key ${keyFile}`);
  const trustedKeys = trustedFile === undefined ? [] : parseTrustedKeys(readKeyFile(trustedFile, '--trusted-keys'), `--trusted-keys ${trustedFile}`);
  return { remoteCache: { url, trust: { ...(signingKey !== undefined ? { signingKey } : {}), trustedKeys, trustUnsigned: values['trust-remote'] ?? false } } };
}

function readKeyFile(file: string, flag: string): string {
  let text: Buffer;
  try {
    text = readFileSync(file);
  } catch (err) {
    throw new ReingestError('REINGEST_E_KEY', `${flag} ${file}: cannot read the file (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}); make a key with \`reingest cache keygen FILE\``, { where: file, cause: err });
  }
  if (text.length > KEY_FILE_MAX) throw new ReingestError('REINGEST_E_KEY', `${flag} ${file}: ${text.length} bytes, more than a key file can be (${KEY_FILE_MAX})`, { where: file });
  return text.toString('utf8');
}

/**
 * `cache keygen FILE`: a new Ed25519 signing key in FILE (PKCS#8 PEM, readable by its owner only, never
 * overwritten) and its public key id in FILE.pub (a line for a trusted-keys file). Returns the id.
 */
export async function keygen(file: string): Promise<string> {
  const { pem, id } = generateSigningKey();
  await writeNew(file, pem, 0o600);
  await writeNew(`${file}.pub`, `${id}\n`, 0o644);
  return id;
}

async function writeNew(file: string, text: string, mode: number): Promise<void> {
  const fh = await open(file, 'wx', mode).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'EEXIST') throw new ReingestError('REINGEST_E_EXISTS', `cache keygen: ${file} exists; a key is never overwritten: choose another name or remove it yourself`, { where: file });
    throw err;
  });
  try {
    await fh.writeFile(text);
    await fh.sync();
  } finally {
    await fh.close();
  }
}
