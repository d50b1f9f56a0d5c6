import t from 'tap';
import { fromOsError } from '../cache/os-errors.ts';
import { join } from 'node:path';
import { runCli } from './helpers.ts';

const errno = (code: string, path: string) => Object.assign(new Error(`${code}: boom`), { code, path });

t.test('a full disk, a read-only directory and fd exhaustion become typed errors that say what to do', async (t) => {
  t.match(fromOsError(errno('ENOSPC', '/cache/tmp/123')), { code: 'REINGEST_E_DISK_FULL', message: /no space left on the device while writing \/cache\/tmp\/123 \(ENOSPC\); free space, or point --cache/ });
  t.match(fromOsError(errno('EROFS', '/ro/cache')), { code: 'REINGEST_E_PERMISSION', message: /cannot write \/ro\/cache \(EROFS\)/ });
  t.match(fromOsError(errno('EMFILE', '/x')), { code: 'REINGEST_E_TOO_MANY_FILES', message: /lower --concurrency/ });
  t.equal(fromOsError(errno('ENOENT', '/x')), null, 'others stay what they are');
  t.equal(fromOsError(new Error('plain')), null);
});

t.test('the CLI prints them as one line with exit status 1, not as a bug', async (t) => {
  const dir = t.testdir({ 'a-file': 'not a directory' });
  const r = await runCli(['cache', 'ls'], { REINGEST_CACHE: join(dir, 'a-file', 'cache') });
  t.equal(r.code, 1, r.stderr);
  t.match(r.stderr, /^reingest: REINGEST_E_PERMISSION: cannot write .*a-file.* \(ENOTDIR\)/);
  t.notMatch(r.stderr, /This is a bug/);
});
