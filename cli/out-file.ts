import { closeSync, openSync, writeSync } from 'node:fs';
import { lstat, mkdir } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { UsageError } from './options.ts';

/**
 * A folder named on the command line (or holding a file named there), made when missing as --out and
 * --cache are. A file where a folder of the path should be is a usage error naming the flag: mkdir says
 * EEXIST for it, which is no OS failure the user could fix by permissions or space.
 */
export async function makeDir(flag: string, dir: string): Promise<void> {
  try {
    await mkdir(dir, { recursive: true });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    throw new UsageError(`${flag}: expected ${dir} to be a folder (or nothing), found a file; choose another path`);
  }
}

/**
 * A file named on the command line for the CLI to write (`--events FILE`, `report -o FILE`): its folder is
 * made when missing; a directory in its place is a usage error naming the flag. Returns the absolute path.
 */
export async function outFile(flag: string, file: string, exampleName: string): Promise<string> {
  const path = resolve(file);
  const st = await lstat(path).catch(() => null);
  if (st?.isDirectory()) {
    throw new UsageError(`${flag} ${file}: expected a file to write, found a directory; name a file in it (e.g. ${join(file, exampleName)})`);
  }
  await makeDir(`${flag} ${file}`, dirname(path));
  return path;
}

/**
 * `--events FILE`: JSON lines appended synchronously, so none is lost on exit. A failed write names the
 * file (an error from a descriptor carries no path).
 */
export async function openEventsFile(file: string): Promise<{ write(line: string): void; close(): void }> {
  const path = await outFile('--events', file, 'events.jsonl');
  const fd = openSync(path, 'a');
  return {
    write(line) {
      try {
        writeSync(fd, line);
      } catch (err) {
        throw Object.assign(err as Error, { path });
      }
    },
    close: () => closeSync(fd),
  };
}
