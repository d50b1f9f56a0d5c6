import { createPrivateKey, createPublicKey, generateKeyPairSync, sign, verify, type KeyObject } from 'node:crypto';
import { ReingestError } from './errors.ts';

/**
 * Signed action entries for a remote cache. An object is named by its own hash and re-hashed on every
 * read, so it cannot lie; an action entry (task key -> result) is a claim, and a remote's claims count only
 * when signed by an Ed25519 key the user trusts. On the remote an entry is stored as two lines: the action
 * entry exactly as the local cache holds it, then
 *
 *   {"schema":"reingest-signature/1","signer":"ed25519:<raw public key, base64url>","signature":"<base64url>"}
 *
 * The signature covers `reingest-action-signature/1\n` followed by the entry line (its newline included):
 * the entry names its own key, so a signature cannot be moved to another key either.
 */
const DOMAIN = Buffer.from('reingest-action-signature/1\n');
const SIGNATURE_SCHEMA = 'reingest-signature/1';
const KEY_ID = /^ed25519:[A-Za-z0-9_-]{43}$/;

/** The remote's trust settings as a plain value: it crosses into worker threads as it is. */
export interface RemoteTrustConfig {
  /** PKCS#8 PEM of the Ed25519 key that signs this node's uploads (its public key is trusted too). */
  readonly signingKey?: string;
  /** Public keys (`ed25519:<base64url>`) whose signatures are accepted. */
  readonly trustedKeys: readonly string[];
  /** Accept unsigned entries, and entries signed by keys not trusted: the remote is believed as it is. */
  readonly trustUnsigned: boolean;
}

export interface Signer {
  readonly id: string;
  readonly key: KeyObject;
}

export type OpenedEntry =
  | { readonly entry: string; readonly signer: string | null; readonly trusted: true }
  | {
      readonly entry: string | null;
      readonly signer: string | null;
      readonly trusted: false;
      readonly problem: string;
      /** A trusted key's signature that does not verify: forged or damaged, not a setup matter. */
      readonly forged: boolean;
    };

export class RemoteTrust {
  readonly signer: Signer | undefined;
  readonly #trusted: Map<string, KeyObject>;
  readonly #trustUnsigned: boolean;

  constructor(config: RemoteTrustConfig) {
    this.signer = config.signingKey === undefined ? undefined : signerFromPem(config.signingKey, 'the signing key');
    this.#trusted = new Map(config.trustedKeys.map((id) => [id, publicKeyFromId(id, 'a trusted key')]));
    if (this.signer) this.#trusted.set(this.signer.id, createPublicKey(this.signer.key));
    this.#trustUnsigned = config.trustUnsigned;
  }

  /** The text to store on the remote: the entry, then this node's signature when it has a key. */
  seal(entry: string): string {
    if (!this.signer) return entry;
    const signature = sign(null, Buffer.concat([DOMAIN, Buffer.from(entry)]), this.signer.key).toString('base64url');
    return `${entry}${JSON.stringify({ schema: SIGNATURE_SCHEMA, signer: this.signer.id, signature })}\n`;
  }

  /** Splits a stored remote entry and says whether it may be believed, and if not, why. */
  open(stored: string): OpenedEntry {
    const split = splitStored(stored);
    if ('problem' in split) return { entry: null, signer: null, trusted: false, problem: split.problem, forged: false };
    const { entry, sig } = split;
    if (sig === null) {
      return this.#trustUnsigned ? { entry, signer: null, trusted: true } : { entry, signer: null, trusted: false, problem: 'the entry is not signed', forged: false };
    }
    const key = this.#trusted.get(sig.signer);
    if (!key) {
      return this.#trustUnsigned ? { entry, signer: sig.signer, trusted: true } : { entry, signer: sig.signer, trusted: false, problem: `signed by ${sig.signer}, which is not a trusted key`, forged: false };
    }
    const ok = verify(null, Buffer.concat([DOMAIN, Buffer.from(entry)]), key, Buffer.from(sig.signature, 'base64url'));
    // A bad signature from a trusted key is refused even when unsigned entries are accepted: it is forged or damaged.
    return ok ? { entry, signer: sig.signer, trusted: true } : { entry, signer: sig.signer, trusted: false, problem: `its signature by ${sig.signer} does not verify`, forged: true };
  }
}

function splitStored(stored: string): { entry: string; sig: { signer: string; signature: string } | null } | { problem: string } {
  const nl = stored.indexOf('\n');
  if (nl < 0 || nl === stored.length - 1) return { entry: stored, sig: null };
  const entry = stored.slice(0, nl + 1);
  const rest = stored.slice(nl + 1);
  let sig: unknown;
  try {
    sig = JSON.parse(rest);
  } catch {
    return { problem: 'the line after the entry is not a signature (not JSON)' };
  }
  const s = sig as Record<string, unknown>;
  if (
    typeof sig !== 'object' || sig === null || Object.keys(s).length !== 3 || s.schema !== SIGNATURE_SCHEMA ||
    typeof s.signer !== 'string' || !KEY_ID.test(s.signer) || typeof s.signature !== 'string' || !/^[A-Za-z0-9_-]{86}$/.test(s.signature) ||
    rest !== `${JSON.stringify({ schema: s.schema, signer: s.signer, signature: s.signature })}\n`
  ) {
    return { problem: `the line after the entry is not a ${SIGNATURE_SCHEMA} object with schema, signer and signature` };
  }
  return { entry, sig: { signer: s.signer, signature: s.signature } };
}

/** The public half's id: `ed25519:` and the raw 32-byte key in base64url. */
export function keyId(key: KeyObject): string {
  const jwk = createPublicKey(key).export({ format: 'jwk' });
  return `ed25519:${jwk.x}`;
}

export function generateSigningKey(): { readonly pem: string; readonly id: string } {
  const { privateKey } = generateKeyPairSync('ed25519');
  return { pem: privateKey.export({ format: 'pem', type: 'pkcs8' }) as string, id: keyId(privateKey) };
}

export function signerFromPem(pem: string, what: string): Signer {
  let key: KeyObject;
  try {
    key = createPrivateKey(pem);
  } catch (err) {
    throw new ReingestError('REINGEST_E_KEY', `${what}: expected an Ed25519 private key in PKCS#8 PEM (made by \`reingest cache keygen\`), got something else (${(err as Error).message})`, { cause: err });
  }
  if (key.asymmetricKeyType !== 'ed25519') throw new ReingestError('REINGEST_E_KEY', `${what}: expected an Ed25519 key, got a ${key.asymmetricKeyType} key; make one with \`reingest cache keygen\``);
  return { id: keyId(key), key };
}

export function publicKeyFromId(id: string, what: string): KeyObject {
  if (!KEY_ID.test(id)) throw new ReingestError('REINGEST_E_KEY', `${what}: expected ed25519:<43 base64url characters> (as printed by \`reingest cache keygen\`), got ${JSON.stringify(id)}`);
  try {
    return createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: id.slice('ed25519:'.length) }, format: 'jwk' });
  } catch (err) {
    throw new ReingestError('REINGEST_E_KEY', `${what}: ${JSON.stringify(id)} is not a valid Ed25519 public key (${(err as Error).message})`, { cause: err });
  }
}

/**
 * A trusted-keys file: one public key id a line, optionally followed by a space and a comment; blank lines
 * and lines starting with # are skipped. `file` names the file in errors.
 */
export function parseTrustedKeys(text: string, file: string): string[] {
  const ids: string[] = [];
  text.split('\n').forEach((line, i) => {
    const t = line.trim();
    if (t === '' || t.startsWith('#')) return;
    const id = t.split(/\s+/)[0]!;
    publicKeyFromId(id, `${file} line ${i + 1}`);
    ids.push(id);
  });
  return ids;
}
