import { createReadStream } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { randomBytes } from 'node:crypto';
import { request } from 'undici';
import { digestHex, type Digest } from './digest.ts';
import { ReingestError } from './errors.ts';
import { RemoteTrust, type RemoteTrustConfig } from './signing.ts';
import { ThroughputGuard } from './throughput.ts';
import { ACTION_MAX_BYTES, type ObjectStore } from './store.ts';

/**
 * A shared cache over HTTP for clusters without a shared filesystem, in Bazel's HTTP cache layout:
 *
 *   GET/PUT /cas/<sha256 hex>   objects, named by the sha256 of their bytes
 *   GET/PUT /ac/<key hex>       action entries (task key -> result JSON), signed (signing.ts)
 *
 * so nginx with WebDAV PUT, bazel-remote or an object store behind HTTP can serve it. The remote is never
 * trusted: every downloaded object is re-hashed before it enters the local store (and may not be longer
 * than the entry declares), and an action entry counts only when signed by a trusted key (or the user
 * chose to believe this remote) and all of its objects can be fetched and verified. Objects go up before
 * their action entry, so a reader never finds an entry whose objects are not there yet. Action entries are
 * create-only: upload to a temporary name, then WebDAV `MOVE` with `Overwrite: F` (atomic on nginx);
 * servers without MOVE get a `PUT` with `If-None-Match: *`. A different trusted entry already there is
 * returned to the caller, which reports nondeterminism; it is never overwritten.
 *
 * A remote that fails (down, 5xx, timeouts) is a cache miss and a warning, never a failed run.
 */
export interface RemoteLog {
  warn(obj: object, msg?: string): void;
}

/** Where the remote is and whom to believe: one plain value, built by the CLI, passed to worker threads as is. */
export interface RemoteCacheConfig {
  readonly url: string;
  readonly trust: RemoteTrustConfig;
}

/** An entry already on the remote: its action entry line, and whether its signature lets it be believed. */
export interface ExistingEntry {
  readonly entry: string | null;
  readonly trusted: boolean;
}

/** A remote cache is near (a LAN, an object store): slower than this over a window, it is treated as down. */
const MIN_BYTES_PER_SECOND = 64 * 1024;
const PACE_WINDOW_MS = 30_000;

/** Room for the signature line after an entry of at most ACTION_MAX_BYTES. */
const SIGNATURE_ROOM = 1024;

export class RemoteCacheError extends ReingestError {
  constructor(message: string) {
    super('REINGEST_E_USAGE', message);
  }
}

export class HttpRemoteCache {
  readonly base: URL;
  readonly #timeoutMs: number;
  readonly #trust: RemoteTrust;
  /** After a connection-level failure the remote is left alone for the rest of the run: one warning, no storm. */
  #down = false;
  /** Problems already warned about once (unsigned, untrusted signer): further ones are not repeated. */
  readonly #warned = new Set<string>();

  readonly #pace: { readonly minBytesPerSecond: number; readonly windowMs: number };

  constructor(config: RemoteCacheConfig, opts: { timeoutMs?: number; minBytesPerSecond?: number; windowMs?: number } = {}) {
    const base = config.url;
    this.base = new URL(base.endsWith('/') ? base : `${base}/`);
    if (this.base.protocol !== 'http:' && this.base.protocol !== 'https:') throw new RemoteCacheError(`--remote-cache: expected an http(s):// URL, got ${base}`);
    this.#timeoutMs = opts.timeoutMs ?? 30_000;
    this.#trust = new RemoteTrust(config.trust);
    this.#pace = { minBytesPerSecond: opts.minBytesPerSecond ?? MIN_BYTES_PER_SECOND, windowMs: opts.windowMs ?? PACE_WINDOW_MS };
  }

  /**
   * A response body that must keep up a minimum rate over a window: undici's bodyTimeout only bounds the
   * gap between two chunks, so a body trickled just under it would otherwise hold a task for hours.
   */
  async *#paced(body: AsyncIterable<unknown>): AsyncGenerator<Buffer> {
    const guard = new ThroughputGuard(this.#pace.minBytesPerSecond, this.#pace.windowMs);
    const it = body[Symbol.asyncIterator]();
    for (;;) {
      const asked = performance.now();
      const next = await it.next();
      if (next.done) return;
      const chunk = next.value as Buffer;
      const rate = guard.add(chunk.length, performance.now() - asked);
      if (rate !== null) {
        await it.return?.();
        throw new Error(`body too slow: ${Math.round(rate)} bytes/s over ${this.#pace.windowMs / 1000} s, expected at least ${this.#pace.minBytesPerSecond}`);
      }
      yield chunk;
    }
  }

  #url(path: string): string {
    return new URL(path, this.base).href;
  }

  async #call(method: string, path: string, opts: { body?: NodeJS.ReadableStream | string; headers?: Record<string, string>; signal?: AbortSignal } = {}) {
    const res = await request(this.#url(path), {
      method: method as 'GET',
      ...(opts.body !== undefined ? { body: opts.body as string } : {}),
      headers: { 'user-agent': 'reingest-remote-cache', ...opts.headers },
      headersTimeout: this.#timeoutMs,
      bodyTimeout: this.#timeoutMs,
      ...(opts.signal ? { signal: opts.signal } : {}),
    });
    return res;
  }

  /**
   * The action entry filed under the key when the remote has one that may be believed (signed by a trusted
   * key, or unsigned on a remote the user chose to trust); else null, and a warning says why.
   */
  async getAction(keyHex: string, log: RemoteLog, signal?: AbortSignal): Promise<string | null> {
    const stored = await this.#getStored(keyHex, log, signal);
    if (stored === null) return null;
    const opened = this.#trust.open(stored);
    if (opened.trusted) return opened.entry;
    this.#warnRefused(keyHex, opened, log);
    return null;
  }

  #warnRefused(keyHex: string, { signer, problem, forged }: { signer: string | null; problem: string; forged: boolean }, log: RemoteLog): void {
    // Unsigned and unknown-signer entries are a setup matter: said once. A bad signature is said every time.
    const kind = forged ? null : signer === null ? 'unsigned' : `untrusted ${signer}`;
    if (kind !== null && this.#warned.has(kind)) return;
    if (kind !== null) this.#warned.add(kind);
    log.warn(
      { remote: this.base.origin, key: keyHex, problem, ...(kind !== null ? { repeats: 'not repeated for further entries this run' } : {}) },
      'remote cache: action entry not believed; treating as a miss (sign uploads with --remote-cache-key, trust keys with --trusted-keys, or pass --trust-remote)',
    );
  }

  /** The stored text under ac/<key>, or null when there is none (or the remote cannot be reached). */
  async #getStored(keyHex: string, log: RemoteLog, signal?: AbortSignal): Promise<string | null> {
    if (this.#down) return null;
    try {
      const res = await this.#call('GET', `ac/${keyHex}`, signal ? { signal } : {});
      if (res.statusCode === 404) {
        await res.body.dump();
        return null;
      }
      if (res.statusCode !== 200) {
        await res.body.dump();
        log.warn({ remote: this.base.origin, key: keyHex, status: res.statusCode }, 'remote cache: action lookup failed; treating as a miss');
        return null;
      }
      // Bounded: a remote that sends more than any entry can be is refused by length, without reading on.
      const parts: Buffer[] = [];
      let size = 0;
      for await (const chunk of this.#paced(res.body)) {
        parts.push(chunk as Buffer);
        size += (chunk as Buffer).length;
        if (size > ACTION_MAX_BYTES + SIGNATURE_ROOM) {
          res.body.destroy();
          log.warn({ remote: this.base.origin, key: keyHex, limit: ACTION_MAX_BYTES + SIGNATURE_ROOM }, 'remote cache served an action entry larger than any entry can be; download stopped, treating as a miss');
          return null;
        }
      }
      return Buffer.concat(parts).toString('utf8');
    } catch (err) {
      signal?.throwIfAborted();
      this.#unreachable(err, log);
      return null;
    }
  }

  /**
   * Downloads an object into the local store, re-hashing it on the way. Returns false (a miss) when the
   * remote lacks it, serves more than `maxBytes` (the size its entry declares: the download stops there) or
   * serves bytes that hash to something else.
   */
  async fetchObject(digest: Digest, maxBytes: number, store: ObjectStore, log: RemoteLog, signal?: AbortSignal): Promise<boolean> {
    let writer;
    if (this.#down) return false;
    try {
      const res = await this.#call('GET', `cas/${digestHex(digest)}`, signal ? { signal } : {});
      if (res.statusCode !== 200) {
        await res.body.dump();
        if (res.statusCode !== 404) log.warn({ remote: this.base.origin, digest, status: res.statusCode }, 'remote cache: object download failed');
        return false;
      }
      writer = await store.createWriter();
      let size = 0;
      for await (const chunk of this.#paced(res.body)) {
        size += (chunk as Buffer).length;
        if (size > maxBytes) {
          res.body.destroy();
          await writer.abort();
          log.warn({ remote: this.base.origin, digest, declared: maxBytes }, 'remote cache served an object longer than its entry declares; download stopped, ignored');
          return false;
        }
        await writer.write(chunk as Buffer);
      }
      const done = await writer.commitExpecting(digest);
      writer = undefined;
      if (!done.ok) log.warn({ remote: this.base.origin, expected: digest, found: done.found }, 'remote cache served an object whose bytes do not match its name; ignored');
      return done.ok;
    } catch (err) {
      await writer?.abort();
      signal?.throwIfAborted();
      this.#unreachable(err, log);
      return false;
    }
  }

  /**
   * Uploads a local object. Always a PUT, even if the remote has the name: objects go up only after a task
   * ran, which happens when the remote copy was missing or corrupt, and same name means same bytes, so
   * overwriting repairs a bad copy and can never damage a good one.
   */
  async putObject(digest: Digest, store: ObjectStore, log: RemoteLog, signal?: AbortSignal): Promise<boolean> {
    const path = `cas/${digestHex(digest)}`;
    if (this.#down) return false;
    try {
      const res = await this.#call('PUT', path, { body: createReadStream(store.objectPath(digest)), ...(signal ? { signal } : {}) });
      await res.body.dump();
      if (res.statusCode >= 200 && res.statusCode < 300) return true;
      log.warn({ remote: this.base.origin, digest, status: res.statusCode }, 'remote cache: object upload refused');
      return false;
    } catch (err) {
      signal?.throwIfAborted();
      this.#unreachable(err, log);
      return false;
    }
  }

  /**
   * Publishes an action entry, signed with this node's key if it has one, unless an entry exists. Returns
   * `{ created }`, or the entry already there (and whether it is believed) when another writer got there
   * first, or `{ failed }` when the remote could not be written.
   */
  async putActionOnce(keyHex: string, entry: string, log: RemoteLog, signal?: AbortSignal): Promise<{ created: true } | { existing: ExistingEntry } | { failed: true }> {
    const opt = signal ? { signal } : {};
    if (this.#down) return { failed: true };
    const text = this.#trust.seal(entry);
    try {
      const existing = await this.#existing(keyHex, log, signal);
      if (existing !== null) return { existing };
      const tmp = `ac/tmp/${keyHex}.${randomBytes(6).toString('hex')}`;
      const put = await this.#call('PUT', tmp, { body: text, headers: { 'content-type': 'application/json' }, ...opt });
      await put.body.dump();
      if (put.statusCode >= 200 && put.statusCode < 300) {
        const move = await this.#call('MOVE', tmp, { headers: { destination: this.#url(`ac/${keyHex}`), overwrite: 'F' }, ...opt });
        await move.body.dump();
        if (move.statusCode === 201 || move.statusCode === 204) return { created: true };
        if (move.statusCode === 412) {
          await this.#delete(tmp, opt);
          const other = await this.#existing(keyHex, log, signal);
          return other === null ? { failed: true } : { existing: other };
        }
        await this.#delete(tmp, opt);
      }
      // No WebDAV MOVE here: a conditional PUT (object stores and some caches honour If-None-Match: *).
      const direct = await this.#call('PUT', `ac/${keyHex}`, { body: text, headers: { 'content-type': 'application/json', 'if-none-match': '*' }, ...opt });
      await direct.body.dump();
      if (direct.statusCode >= 200 && direct.statusCode < 300) return { created: true };
      if (direct.statusCode === 412) {
        const other = await this.#existing(keyHex, log, signal);
        return other === null ? { failed: true } : { existing: other };
      }
      log.warn({ remote: this.base.origin, key: keyHex, status: direct.statusCode }, 'remote cache: action upload refused');
      return { failed: true };
    } catch (err) {
      signal?.throwIfAborted();
      this.#unreachable(err, log);
      return { failed: true };
    }
  }

  async #existing(keyHex: string, log: RemoteLog, signal?: AbortSignal): Promise<ExistingEntry | null> {
    const stored = await this.#getStored(keyHex, log, signal);
    if (stored === null) return null;
    const opened = this.#trust.open(stored);
    return { entry: opened.entry, trusted: opened.trusted };
  }

  #unreachable(err: unknown, log: RemoteLog): void {
    if (this.#down) return;
    this.#down = true;
    log.warn({ remote: this.base.origin, err: (err as Error).message }, 'remote cache unreachable; continuing without it for the rest of this run');
  }

  async #delete(path: string, opt: { signal?: AbortSignal }): Promise<void> {
    const res = await this.#call('DELETE', path, opt).catch(() => null);
    await res?.body.dump();
  }
}
