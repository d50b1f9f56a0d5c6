import { createHash } from 'node:crypto';

/** What checking a WARC digest header found. Recorded on the record; a mismatch never drops it. */
export type DigestVerdict = 'ok' | 'ok-dechunked' | 'mismatch' | 'absent' | 'unsupported' | 'not-applicable' | 'not-checked';

const ALGORITHMS: Record<string, string> = { sha1: 'sha1', 'sha-1': 'sha1', sha256: 'sha256', 'sha-256': 'sha256', md5: 'md5' };
const B32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

/** RFC 4648 base32 without padding, the form WARC digests use (`sha1:` + 32 characters). */
export function base32(buf: Buffer): string {
  let bits = 0;
  let value = 0;
  let out = '';
  for (const byte of buf) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += B32[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += B32[(value << (5 - bits)) & 31];
  return out;
}

/**
 * Compares a labelled digest (`sha1:BASE32`, `sha256:hex`, ...) with the bytes; base32 or hex accepted.
 * The first candidate is the bytes as stored, the second (if any) their de-chunked form, hashed only if
 * the first does not match. Hashing stays on the reading thread: a hashing thread was tried and measured
 * no faster; overlapping hashing with inflating is what pays, see inflate-thread.ts.
 */
export function checkDigest(label: string | undefined, ...candidates: Buffer[]): DigestVerdict {
  if (label === undefined || label === '') return 'absent';
  const colon = label.indexOf(':');
  const alg = ALGORITHMS[label.slice(0, colon).trim().toLowerCase()];
  if (colon <= 0 || !alg) return 'unsupported';
  const want = label.slice(colon + 1).trim().replace(/=+$/, '');
  for (const [i, bytes] of candidates.entries()) {
    const d = createHash(alg).update(bytes).digest();
    // Base32 is the norm; hex, base64 and base64url occur in the wild (warcio's own test files have all).
    const matches =
      want.toUpperCase() === base32(d) || want.toLowerCase() === d.toString('hex') || want === d.toString('base64').replace(/=+$/, '') || want === d.toString('base64url');
    if (matches) return i === 0 ? 'ok' : 'ok-dechunked';
  }
  return 'mismatch';
}

/** Undoes HTTP chunked transfer coding; null if the bytes are not validly chunked. */
export function dechunk(body: Buffer): Buffer | null {
  const parts: Buffer[] = [];
  let pos = 0;
  for (;;) {
    const eol = body.indexOf('\r\n', pos);
    if (eol === -1) return null;
    const size = parseInt(body.toString('latin1', pos, eol).split(';')[0]!.trim(), 16);
    if (!Number.isSafeInteger(size) || size < 0) return null;
    pos = eol + 2;
    if (size === 0) return Buffer.concat(parts);
    if (pos + size > body.length) return null;
    parts.push(body.subarray(pos, pos + size));
    pos += size;
    if (body[pos] === 0x0d && body[pos + 1] === 0x0a) pos += 2;
  }
}
