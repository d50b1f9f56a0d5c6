import { open, type FileHandle } from 'node:fs/promises';
import StreamZip from 'node-stream-zip';
import { ReingestError } from '../../runner/stage.ts';

export type ZipEntryRecord = StreamZip.ZipEntry;

export interface OpenZip {
  readonly fh: FileHandle;
  /** Size of the archive in bytes, for bounds checks. */
  readonly size: number;
  readonly entries: Readonly<Record<string, ZipEntryRecord>>;
}

export interface ZipLease extends OpenZip {
  /** Ends this use of the archive; it is idempotent. */
  release(): void;
}

/** Opens the archive at file and reads its central directory; releasing the lease closes it. */
export async function leaseZip(file: string, where: string): Promise<ZipLease> {
  const zip = await openZip(file, where);
  let released = false;
  const release = () => {
    if (released) return;
    released = true;
    zip.fh.close().catch(() => {});
  };
  return { ...zip, release };
}

async function openZip(file: string, where: string): Promise<OpenZip> {
  const fh = await open(file, 'r').catch((err: unknown) => {
    throw unreadable(where, err);
  });
  try {
    const { size } = await fh.stat();
    // The library reads through our descriptor; it is done with it once the entries are parsed.
    const entries = await new StreamZip.async({ fd: fh.fd, storeEntries: true }).entries();
    return { fh, size, entries };
  } catch (err) {
    await fh.close();
    throw unreadable(where, err);
  }
}

function unreadable(where: string, err: unknown): ReingestError {
  const msg = (err as Error).message;
  if (msg.startsWith('Malicious entry')) {
    return new ReingestError('REINGEST_E_ZIP_UNSAFE_NAME', `${where}: ${msg.replace('Malicious entry: ', 'entry name ')} would escape the output folder (absolute, drive letter, backslash or ".."); refusing the archive`, { where });
  }
  return new ReingestError('REINGEST_E_ZIP', `${where}: expected a zip archive, could not read it: ${msg}`, { where, cause: err });
}
