import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';

/**
 * A real nginx from Debian serving a directory with WebDAV PUT/DELETE/MOVE on loopback: the shape of a
 * shared HTTP cache on a cluster. It runs in the foreground as our child and is stopped by its pid.
 */
export interface Nginx {
  readonly url: string;
  readonly dataDir: string;
  stop(): Promise<void>;
}

export function nginxBinary(): string | null {
  for (const p of ['/usr/sbin/nginx', '/usr/local/sbin/nginx']) {
    if (spawnSync(p, ['-v']).status === 0) return p;
  }
  return null;
}

async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  const port = (srv.address() as { port: number }).port;
  await new Promise<void>((resolve) => srv.close(() => resolve()));
  return port;
}

export async function startNginx(dir: string): Promise<Nginx> {
  const bin = nginxBinary();
  if (bin === null) throw new Error('nginx is not installed (apt-get install nginx)');
  const dataDir = join(dir, 'data');
  for (const d of [dataDir, join(dir, 'tmp')]) await mkdir(d, { recursive: true });
  const port = await freePort();
  const temp = ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map((k) => `${k}_temp_path ${join(dir, 'tmp', k)};`).join('\n    ');
  const conf = `
# Root runs the workers as root so they can write the test's temp dirs; as another user, nginx ignores this.
${process.getuid?.() === 0 ? 'user root;' : ''}
daemon off;
worker_processes 1;
pid ${join(dir, 'nginx.pid')};
error_log ${join(dir, 'error.log')} warn;
events { worker_connections 64; }
http {
    access_log off;
    ${temp}
    server {
        listen 127.0.0.1:${port};
        root ${dataDir};
        client_max_body_size 0;
        location / {
            dav_methods PUT DELETE MKCOL COPY MOVE;
            create_full_put_path on;
            dav_access user:rw group:r all:r;
        }
    }
}
`;
  const confFile = join(dir, 'nginx.conf');
  await writeFile(confFile, conf);
  const child: ChildProcess = spawn(bin, ['-c', confFile, '-p', dir], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const url = `http://127.0.0.1:${port}/`;
  for (let i = 0; ; i++) {
    if (child.exitCode !== null) throw new Error(`nginx exited with ${child.exitCode}: ${stderr}`);
    try {
      await fetch(url, { method: 'HEAD' });
      break;
    } catch {
      if (i > 100) throw new Error(`nginx did not answer on ${url}: ${stderr}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  return {
    url,
    dataDir,
    async stop() {
      if (child.exitCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    },
  };
}
