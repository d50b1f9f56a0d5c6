import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import t from 'tap';
import { sha256 } from '../cache/digest.ts';
import { HttpRemoteCache } from '../cache/remote.ts';
import { ObjectStore } from '../cache/store.ts';

/*
 * A hostile remote cache on loopback (plain node:http, so it can misbehave in ways nginx never would):
 * trickled bodies and oversized entries end as misses with a warning, within bounded time and memory.
 */
const body = Buffer.alloc(64 * 1024, 0x62);
const digest = sha256(body);

function hostile(handler: (path: string, res: import('node:http').ServerResponse) => void): Promise<{ url: string; server: Server; sent: { bytes: number } }> {
  const sent = { bytes: 0 };
  const server = createServer((req, res) => handler(req.url ?? '', res));
  server.on('connection', (sock) => {
    const write = sock.write.bind(sock);
    sock.write = ((chunk: Buffer | string, ...rest: never[]) => {
      sent.bytes += Buffer.byteLength(chunk);
      return write(chunk, ...rest);
    }) as typeof sock.write;
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({ url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`, server, sent })));
}

function trickle(res: import('node:http').ServerResponse, total: number): void {
  res.writeHead(200, { 'content-length': String(total) });
  let n = 0;
  const timer = setInterval(() => {
    if (res.destroyed || n >= total) return clearInterval(timer);
    res.write('b');
    n++;
  }, 20);
  res.on('close', () => clearInterval(timer));
}

const warnings: string[] = [];
const log = { warn: (o: object, msg?: string) => void warnings.push(`${msg} ${JSON.stringify(o)}`) };
const trust = { trustedKeys: [], trustUnsigned: true };

t.test('an object trickled below the minimum rate is abandoned after one window: a miss, a warning, no object', async (t) => {
  const { url, server } = await hostile((_path, res) => trickle(res, body.length));
  t.teardown(() => server.close());
  const store = new ObjectStore(t.testdir());
  await store.init();
  const remote = new HttpRemoteCache({ url, trust }, { minBytesPerSecond: 1000, windowMs: 400 });
  const t0 = Date.now();
  t.equal(await remote.fetchObject(digest, body.length, store, log), false);
  const ms = Date.now() - t0;
  t.ok(ms < 5000, `gave up after ${ms} ms (a 64 KiB object at 50 bytes/s would take 22 minutes)`);
  t.equal(await store.has(digest), false, 'nothing published');
  t.match(warnings.join('\n'), /remote cache unreachable.*body too slow: \d+ bytes\/s over 0.4 s, expected at least 1000/);
  t.equal(await remote.getAction('a'.repeat(64), log), null, 'and the remote is left alone for the rest of the run');
});

t.test('an action entry larger than any entry can be is cut off and refused, not read whole', async (t) => {
  warnings.length = 0;
  const { url, server, sent } = await hostile((_path, res) => {
    res.writeHead(200, { 'content-length': String(600 * 1024 * 1024) });
    const chunk = Buffer.alloc(1024 * 1024, 0x7b);
    const pump = () => {
      while (!res.destroyed && res.write(chunk));
    };
    res.on('drain', pump);
    pump();
  });
  t.teardown(() => server.close());
  const remote = new HttpRemoteCache({ url, trust });
  const before = process.memoryUsage().rss;
  t.equal(await remote.getAction('a'.repeat(64), log), null);
  const grew = process.memoryUsage().rss - before;
  t.ok(sent.bytes < 100 * 1024 * 1024, `the server got to send ${(sent.bytes / 1024 / 1024).toFixed(1)} MiB of its 600 MiB`);
  t.ok(grew < 200 * 1024 * 1024, `memory grew ${(grew / 1024 / 1024).toFixed(1)} MiB`);
  t.match(warnings.join('\n'), /larger than any entry can be; download stopped/);
});
