import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Route {
  status?: number;
  body: Buffer | string;
  headers?: Record<string, string>;
  /** Bytes per write and a pause between writes, to slow a stream down. */
  trickle?: { bytes: number; ms: number };
}

/** A loopback stand-in for data.commoncrawl.org with per-path responses and a request log. */
export class FakeCommonCrawl {
  readonly routes = new Map<string, Route>();
  readonly requests: { path: string; headers: IncomingHttpHeaders }[] = [];
  readonly #server: Server;
  url = '';

  constructor() {
    this.#server = createServer(async (req, res) => {
      const path = new URL(req.url ?? '/', 'http://x').pathname.slice(1);
      this.requests.push({ path, headers: req.headers });
      const route = this.routes.get(path);
      if (!route) return void res.writeHead(404).end('<html>Not Found</html>');
      const body = Buffer.from(route.body);
      res.writeHead(route.status ?? 200, { 'content-length': String(body.length), ...route.headers });
      if (!route.trickle) return void res.end(body);
      for (let i = 0; i < body.length && !res.destroyed; i += route.trickle.bytes) {
        res.write(body.subarray(i, i + route.trickle.bytes));
        await new Promise((r) => setTimeout(r, route.trickle!.ms));
      }
      res.end();
    });
  }

  async start(): Promise<string> {
    await new Promise<void>((r) => this.#server.listen(0, '127.0.0.1', () => r()));
    this.url = `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}/`;
    return this.url;
  }

  async stop(): Promise<void> {
    this.#server.closeAllConnections();
    await new Promise<void>((r) => this.#server.close(() => r()));
  }
}

/** Routes every file of a folder (recursively), e.g. the embedded sample, optionally trickled. */
export async function routeFolder(cc: FakeCommonCrawl, dir: string, trickle?: Route['trickle']): Promise<void> {
  const { readdir, readFile } = await import('node:fs/promises');
  const { join, relative } = await import('node:path');
  const walk = async (d: string): Promise<void> => {
    for (const e of await readdir(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) await walk(p);
      else cc.routes.set(relative(dir, p), { body: await readFile(p), ...(trickle ? { trickle } : {}) });
    }
  };
  await walk(dir);
}
