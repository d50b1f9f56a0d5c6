import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join, normalize, sep } from 'node:path';

/**
 * Serves a local folder laid out like data.commoncrawl.org on a loopback port, so a sample run goes
 * through the same HTTP code path as a real one. Whole-file GETs and single `Range: bytes=N-` requests,
 * with ETag and Last-Modified as a CDN would send them. Never listens on anything but 127.0.0.1.
 */
export class LocalMirror {
  readonly #server: Server;
  readonly #root: string;
  url = '';

  constructor(root: string) {
    this.#root = normalize(root);
    this.#server = createServer((req, res) => {
      void this.#serve(req.url ?? '/', req.headers.range, req.method ?? 'GET', res);
    });
  }

  async start(): Promise<string> {
    await new Promise<void>((resolve, reject) => {
      this.#server.once('error', reject);
      this.#server.listen(0, '127.0.0.1', () => resolve());
    });
    const { port } = this.#server.address() as AddressInfo;
    this.url = `http://127.0.0.1:${port}/`;
    return this.url;
  }

  async stop(): Promise<void> {
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  async #serve(rawUrl: string, range: string | undefined, method: string, res: import('node:http').ServerResponse): Promise<void> {
    const path = decodeURIComponent(new URL(rawUrl, 'http://x').pathname);
    const file = normalize(join(this.#root, path));
    if (method !== 'GET' && method !== 'HEAD') return void res.writeHead(405).end();
    if (!file.startsWith(this.#root + sep)) return void res.writeHead(403).end();
    const st = await stat(file).catch(() => null);
    if (!st || !st.isFile()) return void res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
    const etag = `"${st.size.toString(16)}-${Math.floor(st.mtimeMs).toString(16)}"`;
    const headers = { etag, 'last-modified': st.mtime.toUTCString(), 'accept-ranges': 'bytes', 'content-type': 'application/octet-stream' };
    const m = range ? /^bytes=(\d+)-$/.exec(range) : null;
    const start = m ? Number(m[1]) : 0;
    if (m && start >= st.size) return void res.writeHead(416, { 'content-range': `bytes */${st.size}` }).end();
    res.writeHead(m ? 206 : 200, {
      ...headers,
      'content-length': String(st.size - start),
      ...(m ? { 'content-range': `bytes ${start}-${st.size - 1}/${st.size}` } : {}),
    });
    if (method === 'HEAD') return void res.end();
    createReadStream(file, { start }).on('error', () => res.destroy()).pipe(res);
  }
}

/** Calls fn with the mirror URL to use: the spec's URL, or a loopback server over its local folder. */
export async function withMirror<T>(mirror: { readonly url: string } | { readonly localDir: string }, fn: (url: string) => Promise<T>): Promise<T> {
  if ('url' in mirror) return fn(mirror.url);
  const server = new LocalMirror(mirror.localDir);
  const url = await server.start();
  try {
    return await fn(url);
  } finally {
    await server.stop();
  }
}
