import { createHash } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One scripted misbehaviour, used for one request and then dropped. */
export type Fault =
  | { kind: 'status'; status: number; headers?: Record<string, string> }
  /** Send the headers and `afterBytes` of the body, then cut the connection. */
  | { kind: 'reset'; afterBytes: number }
  /** Send `afterBytes`, then go silent for `ms` (longer than the client's stall timeout). */
  | { kind: 'stall'; afterBytes: number; ms: number }
  /** Replace the object (new bytes, new ETag) before answering this request. */
  | { kind: 'change'; body: Buffer }
  /** Answer range requests with the whole object and status 200 (a server without range support). */
  | { kind: 'ignore-range' }
  /** Answer 200 with no length (chunked) and send the object over and over until the client hangs up. */
  | { kind: 'endless' }
  /** Answer as usual (Content-Range included) but chunked, without Content-Length, and send `extra` bytes past the end. */
  | { kind: 'overlong'; extra: number };

export interface Route {
  body: Buffer | string;
  status?: number;
  headers?: Record<string, string>;
  /** Bytes per write and a pause between writes, to slow a stream down. */
  trickle?: { bytes: number; ms: number };
  /**
   * Bytes sent after the object on every answer, a mirror that serves more than the object: counted in
   * Content-Length unless `chunked`. Written with backpressure and counted in the request log's `sent`.
   */
  append?: number;
  /** Answer without Content-Length (chunked), as a re-encoding proxy does: the client learns the size at the end only. */
  chunked?: boolean;
  faults?: Fault[];
}

/** One request as the server saw it; `sent` counts the body bytes handed to the socket (answers with `append`). */
export interface RequestLog {
  readonly path: string;
  readonly headers: IncomingHttpHeaders;
  sent: number;
}

/**
 * A loopback stand-in for data.commoncrawl.org: per-path bodies with ETag, Last-Modified and
 * `Range: bytes=N-` + `If-Range` as S3/CloudFront answer them, scripted faults, and a request log.
 */
export class FakeCommonCrawl {
  readonly routes = new Map<string, Route>();
  readonly requests: RequestLog[] = [];
  /** Responses being written right now, and the most there ever were at once (politeness checks). */
  inFlight = 0;
  maxInFlight = 0;
  readonly #server: Server;
  url = '';

  constructor() {
    this.#server = createServer((req, res) => {
      void this.#handle(req.url ?? '/', req.headers, res);
    });
  }

  async #handle(rawUrl: string, headers: IncomingHttpHeaders, res: ServerResponse): Promise<void> {
    const path = new URL(rawUrl, 'http://x').pathname.slice(1);
    const log: RequestLog = { path, headers, sent: 0 };
    this.requests.push(log);
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    res.once('close', () => this.inFlight--);
    const route = this.routes.get(path);
    if (!route) return void res.writeHead(404, { 'content-type': 'text/html' }).end('<html>Not Found</html>');
    let fault = route.faults?.shift();
    if (fault?.kind === 'change') {
      route.body = fault.body;
      fault = route.faults?.shift();
    }
    if (fault?.kind === 'status') return void res.writeHead(fault.status, fault.headers).end('Slow Down');
    if (fault?.kind === 'endless') return void (await endless(res, Buffer.from(route.body)));
    const body = Buffer.from(route.body);
    const etag = `"${createHash('md5').update(body).digest('hex')}"`;
    const base = { etag, 'last-modified': 'Wed, 01 Jan 2025 00:00:00 GMT', 'accept-ranges': 'bytes', ...route.headers };
    const range = /^bytes=(\d+)-$/.exec(String(headers.range ?? ''));
    const ifRange = headers['if-range'];
    const useRange = range && fault?.kind !== 'ignore-range' && (ifRange === undefined || ifRange === etag);
    const start = useRange ? Number(range[1]) : 0;
    if (useRange && start >= body.length) return void res.writeHead(416, { 'content-range': `bytes */${body.length}` }).end();
    res.writeHead(useRange ? 206 : (route.status ?? 200), {
      ...base,
      ...(fault?.kind === 'overlong' || route.chunked ? {} : { 'content-length': String(body.length - start + (route.append ?? 0)) }),
      ...(useRange ? { 'content-range': `bytes ${start}-${body.length - 1}/${body.length}` } : {}),
    });
    const part = body.subarray(start);
    if (fault?.kind === 'overlong') return void res.end(Buffer.concat([part, Buffer.alloc(fault.extra, 0x41)]));
    if (route.append !== undefined) return void (await pump(res, [part, Buffer.alloc(route.append, 0x41)], log));
    if (fault?.kind === 'reset' || fault?.kind === 'stall') {
      // Wait until the bytes are handed to the kernel, so the client sees exactly afterBytes before the cut.
      await new Promise<void>((r) => res.write(part.subarray(0, fault.afterBytes), () => r()));
      await new Promise((r) => setTimeout(r, fault.kind === 'stall' ? fault.ms : 30));
      res.destroy();
      return;
    }
    if (!route.trickle) return void res.end(part);
    for (let i = 0; i < part.length && !res.destroyed; i += route.trickle.bytes) {
      res.write(part.subarray(i, i + route.trickle.bytes));
      await new Promise((r) => setTimeout(r, route.trickle!.ms));
    }
    res.end();
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

/**
 * Repeats `body` until the client goes away, waiting for the socket to drain so memory stays flat. Repeated
 * WARC gzip members still read as WARC, so a decoder downstream keeps reading and only a size cap stops it.
 */
async function endless(res: ServerResponse, body: Buffer): Promise<void> {
  res.writeHead(200, { 'content-type': 'application/octet-stream' });
  while (!res.destroyed) {
    if (res.write(body)) continue;
    await drained(res);
  }
}

/**
 * Writes `parts` in 64 KiB chunks, waiting whenever the socket is full, until the client goes away: what
 * `log.sent` counts is then what the client made the server send (at most a socket buffer past what it read).
 */
async function pump(res: ServerResponse, parts: readonly Buffer[], log: RequestLog): Promise<void> {
  for (const part of parts) {
    for (let i = 0; i < part.length; i += 64 * 1024) {
      if (res.destroyed) return;
      const chunk = part.subarray(i, i + 64 * 1024);
      log.sent += chunk.length;
      if (!res.write(chunk)) await drained(res);
    }
  }
  res.end();
}

function drained(res: ServerResponse): Promise<void> {
  return new Promise<void>((r) => {
    const done = () => {
      res.off('drain', done);
      res.off('close', done);
      r();
    };
    res.on('drain', done);
    res.on('close', done);
  });
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

/** A fake Common Crawl serving one route at `path`, stopped when the test ends; the route's URL. */
export async function serveRoute(t: { teardown(fn: () => unknown): void }, path: string, route: Route): Promise<{ cc: FakeCommonCrawl; url: URL }> {
  const cc = new FakeCommonCrawl();
  cc.routes.set(path, route);
  const base = await cc.start();
  t.teardown(() => cc.stop());
  return { cc, url: new URL(path, base) };
}
