import { ReingestError } from '../runner/errors.ts';

/**
 * Operating-system failures a user causes or can fix (a full disk, a read-only or forbidden directory)
 * become typed errors with what to do; they are not bugs, so no stack trace and no "please report".
 */
export function fromOsError(err: unknown): ReingestError | null {
  const e = err as NodeJS.ErrnoException;
  const where = e.path ?? '(unknown path)';
  switch (e.code) {
    case 'ENOSPC':
    case 'EDQUOT':
      return new ReingestError('REINGEST_E_DISK_FULL', `no space left on the device while writing ${where} (${e.code}); free space, or point --cache/--out (REINGEST_CACHE) at a larger disk, then rerun: finished tasks are kept`, { where });
    case 'EACCES':
    case 'EPERM':
    case 'EROFS':
    case 'ENOTDIR':
      return new ReingestError('REINGEST_E_PERMISSION', `cannot write ${where} (${e.code}); choose a writable --cache/--out directory (every part of the path a directory) or fix its permissions`, { where });
    case 'EIO':
      return new ReingestError('REINGEST_E_IO', `the system reported an I/O error (EIO) at ${where}: the disk, network filesystem or device behind it failed; check it (dmesg, the mount), or use another --cache/--out, then rerun: finished tasks are kept`, { where });
    case 'EMFILE':
    case 'ENFILE':
      return new ReingestError('REINGEST_E_TOO_MANY_FILES', `the system ran out of file descriptors (${e.code}) at ${where}; lower --concurrency or raise ulimit -n`, { where });
    default:
      return null;
  }
}
