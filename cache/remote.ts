import { createReadStream } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { request } from 'undici';
import { digestHex, type Digest } from './digest.ts';
import { ReingestError } from './errors.ts';
import { ACTION_MAX_BYTES, type ObjectStore } from './store.ts';

/**
 * A shared cache over HTTP for clusters without a shared filesystem, in Bazel's HTTP cache layout:
 *
 *   GET/PUT /cas/<sha256 hex>   objects, named by the sha256 of their bytes
 *   GET/PUT /ac/<key hex>       action entries (task key -> result JSON)
 *
 * so nginx with WebDAV PUT, bazel-remote or an object store behind HTTP can serve it. The remote is never
 * trusted: every downloaded object is re-hashed before it enters the local store, and an action entry
 * counts only when all of its objects can be fetched and verified. Objects go up before their action
 * entry, so a reader never finds an entry whose objects are not there yet. Action entries are create-only:
 * upload to a temporary name, then WebDAV `MOVE` with `Overwrite: F` (atomic on nginx); servers without
 * MOVE get a `PUT` with `If-None-Match: *`. A different entry already there is returned to the caller,
 * which reports nondeterminism; it is never overwritten.
 *
 * A remote that fails (down, 5xx, timeouts) is a cache miss and a warning, never a failed run.
 */
export interface RemoteLog {
  warn(obj: object, msg?: string): void;
}

export class RemoteCacheError extends ReingestError {
  constructor(message: string) {
    super('REINGEST_E_USAGE', message);
  }
}

export class HttpRemoteCache {
  readonly base: URL;
  readonly #timeoutMs: number;
  /** After a connection-level failure the remote is left alone for the rest of the run: one warning, no storm. */
  #down = false;

  constructor(base: string, opts: { timeoutMs?: number } = {}) {
    this.base = new URL(base.endsWith('/') ? base : `${base}/`);
    if (this.base.protocol !== 'http:' && this.base.protocol !== 'https:') throw new RemoteCacheError(`--remote-cache: expected an http(s):// URL, got ${base}`);
    this.#timeoutMs = opts.timeoutMs ?? 30_000;
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

  /** The action entry's text, or null when there is none (or the remote cannot be reached). */
  async getAction(keyHex: string, log: RemoteLog, signal?: AbortSignal): Promise<string | null> {
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
      for await (const chunk of res.body) {
        parts.push(chunk as Buffer);
        size += (chunk as Buffer).length;
        if (size > ACTION_MAX_BYTES) {
          res.body.destroy();
          break;
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
   * remote lacks it or serves bytes that hash to something else.
   */
  async fetchObject(digest: Digest, store: ObjectStore, log: RemoteLog, signal?: AbortSignal): Promise<boolean> {
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
      for await (const chunk of res.body) await writer.write(chunk as Buffer);
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
   * Publishes an action entry unless one exists. Returns `{ created }`, or the existing text when another
   * writer got there first, or `{ failed }` when the remote could not be written.
   */
  async putActionOnce(keyHex: string, text: string, log: RemoteLog, signal?: AbortSignal): Promise<{ created: true } | { existing: string } | { failed: true }> {
    const opt = signal ? { signal } : {};
    if (this.#down) return { failed: true };
    try {
      const existing = await this.getAction(keyHex, log, signal);
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
          const other = await this.getAction(keyHex, log, signal);
          return other === null ? { failed: true } : { existing: other };
        }
        await this.#delete(tmp, opt);
      }
      // No WebDAV MOVE here: a conditional PUT (object stores and some caches honour If-None-Match: *).
      const direct = await this.#call('PUT', `ac/${keyHex}`, { body: text, headers: { 'content-type': 'application/json', 'if-none-match': '*' }, ...opt });
      await direct.body.dump();
      if (direct.statusCode >= 200 && direct.statusCode < 300) return { created: true };
      if (direct.statusCode === 412) {
        const other = await this.getAction(keyHex, log, signal);
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
