import { createHash } from 'node:crypto';
import { availableParallelism } from 'node:os';
import { isMainThread } from 'node:worker_threads';
import { hashThread } from './hash-worker.ts';

/** What checking a WARC digest header found. Recorded on the record; a mismatch never drops it. */
export type DigestVerdict = 'ok' | 'ok-dechunked' | 'mismatch' | 'absent' | 'unsupported' | 'not-applicable' | 'not-checked';

const ALGORITHMS: Record<string, string> = { sha1: 'sha1', 'sha-1': 'sha1', sha256: 'sha256', 'sha-256': 'sha256', md5: 'md5' };
const B32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

/** Inputs at least this long go to the hashing thread; below it the hand-off costs more than hashing here. */
const OFF_THREAD_BYTES = 16 * 1024;

/**
 * Whether large inputs are hashed on a thread of their own (opt-in: REINGEST_WARC_HASH_THREAD=1, main
 * thread only). Measured on the 200 MB bench on a shared 2-core machine: main-thread CPU fell by at most
 * ~0.15 s of ~1.05 s, total CPU rose by ~0.5 s (each batch hand-off wakes the thread), wall time did not
 * improve. It can pay only with a core to spare, never in segment workers, which already run one per core.
 * Verdicts are the same either way.
 */
export const hashPlacement = { offThread: isMainThread && availableParallelism() > 1 && process.env.REINGEST_WARC_HASH_THREAD === '1' };

/** Digest of bytes with a Node hash name: in place, or on the hashing thread when large and opted in. */
export function digest(alg: string, bytes: Buffer): Buffer | Promise<Buffer> {
  if (!hashPlacement.offThread || bytes.length < OFF_THREAD_BYTES) return createHash(alg).update(bytes).digest();
  return hashThread().digest(alg, bytes);
}

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

/** A verdict now (hashed in place) or later (hashed on the hashing thread). */
export type Verdict = DigestVerdict | Promise<DigestVerdict>;

/**
 * Compares a labelled digest (`sha1:BASE32`, `sha256:hex`, ...) with the bytes; base32 or hex accepted.
 * The first candidate is the bytes as stored, the second (if any) their de-chunked form. Synchronous unless
 * an input went to the hashing thread: a promise per record measurably slows the in-place path.
 */
export function checkDigest(label: string | undefined, ...candidates: Buffer[]): Verdict {
  if (label === undefined || label === '') return 'absent';
  const colon = label.indexOf(':');
  const alg = ALGORITHMS[label.slice(0, colon).trim().toLowerCase()];
  if (colon <= 0 || !alg) return 'unsupported';
  const want = label.slice(colon + 1).trim().replace(/=+$/, '');
  const digests = candidates.map((bytes) => digest(alg, bytes));
  if (digests.every((d): d is Buffer => Buffer.isBuffer(d))) return compare(want, digests);
  return Promise.all(digests).then((ds) => compare(want, ds));
}

function compare(want: string, digests: readonly Buffer[]): DigestVerdict {
  for (const [i, d] of digests.entries()) {
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
