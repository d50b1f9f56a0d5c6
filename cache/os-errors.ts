import { ReingestError } from './errors.ts';

/**
 * Operating-system failures a user causes or can fix (a full disk, a read-only or forbidden directory)
 * become typed errors with what to do; they are not bugs, so no stack trace and no "please report".
 * They live in the cache layer because the cache's writers type them where they happen, also on worker
 * threads, where an untyped error would cross back as a bug.
 *
 * `path` names the file being written when the error's own path would mislead (a copy's ENOSPC names
 * its source) or is missing (a file handle's errors carry none). An error with a `detail` (a short write
 * found by the writer itself) says it after the code.
 */
export function fromOsError(err: unknown, path?: string): ReingestError | null {
  const e = err as NodeJS.ErrnoException & { detail?: string };
  const where = path ?? e.path ?? '(unknown path)';
  const why = typeof e.detail === 'string' ? `${e.code}: ${e.detail}` : e.code;
  const cause = { where, cause: err };
  switch (e.code) {
    case 'ENOSPC':
    case 'EDQUOT':
      return new ReingestError('REINGEST_E_DISK_FULL', `no space left on the device while writing ${where} (${why}); free space, or point --cache/--out (REINGEST_CACHE) at a larger disk, then rerun: finished tasks are kept`, cause);
    case 'EACCES':
    case 'EPERM':
    case 'EROFS':
    case 'ENOTDIR':
      return new ReingestError('REINGEST_E_PERMISSION', `cannot write ${where} (${why}); choose a writable --cache/--out directory (every part of the path a directory) or fix its permissions`, cause);
    case 'EIO':
      return new ReingestError('REINGEST_E_IO', `the system reported an I/O error (${why}) at ${where}: the disk, network filesystem or device behind it failed; check it (dmesg, the mount), or use another --cache/--out, then rerun: finished tasks are kept`, cause);
    case 'EMFILE':
    case 'ENFILE':
      return new ReingestError('REINGEST_E_TOO_MANY_FILES', `the system ran out of file descriptors (${why}) at ${where}; lower --concurrency or raise ulimit -n`, cause);
    default:
      return null;
  }
}
