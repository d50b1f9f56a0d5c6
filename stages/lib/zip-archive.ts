import { channel } from 'node:diagnostics_channel';
import { open, stat, type FileHandle } from 'node:fs/promises';
import StreamZip from 'node-stream-zip';
import { ReingestError } from '../../runner/stage.ts';

/*
 * Reading a central directory costs time in proportion to the number of entries, so an archive is opened
 * once per process (per thread: segment workers each hold their own) and shared: every listing and every
 * entry stream of it, concurrent or not, leases the one open archive (its parsed entries and one file
 * handle for positional reads). An archive nobody leases stays open, since the runner streams its entries
 * one after another, until it has been idle for IDLE_MS or more than MAX_IDLE archives are idle.
 */

/** Publishes `{ file }` each time a central directory is read, for tests and diagnostics. */
export const zipOpenChannel = channel('reingest:zip:open');

const IDLE_MS = 10_000;
const MAX_IDLE = 4;

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

interface Slot {
  readonly key: string;
  readonly opening: Promise<OpenZip>;
  users: number;
  timer?: NodeJS.Timeout;
}

const slots = new Map<string, Slot>();
/** Idle slots, oldest first. */
const idle = new Set<Slot>();

/** Leases the archive at file, reading its central directory only if no lease or idle archive has it. */
export async function leaseZip(file: string, where: string): Promise<ZipLease> {
  const slot = await claimSlot(file, where);
  let zip: OpenZip;
  try {
    zip = await slot.opening;
  } catch (err) {
    slot.users--;
    throw err;
  }
  let released = false;
  const release = () => {
    if (released) return;
    released = true;
    if (--slot.users === 0) becomeIdle(slot);
  };
  return { ...zip, release };
}

/** Closes every archive no one leases, now (the process would otherwise close them when idle long enough). */
export async function closeIdleZips(): Promise<void> {
  await Promise.all([...idle].map(closeSlot));
}

/**
 * The slot for the file as it is now (a file replaced at the same path is a different archive), claimed
 * in the same step that finds it so that no idle close can slip in between.
 */
async function claimSlot(file: string, where: string): Promise<Slot> {
  const st = await stat(file).catch((err: unknown) => {
    throw unreadable(where, err);
  });
  const key = `${file}\0${st.dev}:${st.ino}:${st.size}:${st.mtimeMs}`;
  let slot = slots.get(key);
  if (!slot) {
    const created: Slot = { key, opening: openZip(file, where), users: 0 };
    created.opening.catch(() => {
      if (slots.get(key) === created) slots.delete(key);
    });
    slots.set(key, created);
    slot = created;
  }
  slot.users++;
  idle.delete(slot);
  clearTimeout(slot.timer);
  return slot;
}

function becomeIdle(slot: Slot): void {
  idle.add(slot);
  slot.timer = setTimeout(() => void closeSlot(slot), IDLE_MS).unref();
  for (const oldest of idle) {
    if (idle.size <= MAX_IDLE) break;
    void closeSlot(oldest);
  }
}

async function closeSlot(slot: Slot): Promise<void> {
  if (slot.users > 0) return;
  idle.delete(slot);
  clearTimeout(slot.timer);
  if (slots.get(slot.key) === slot) slots.delete(slot.key);
  const zip = await slot.opening.catch(() => undefined);
  await zip?.fh.close();
}

async function openZip(file: string, where: string): Promise<OpenZip> {
  const fh = await open(file, 'r').catch((err: unknown) => {
    throw unreadable(where, err);
  });
  try {
    const { size } = await fh.stat();
    // The library reads through our descriptor; it is done with it once the entries are parsed.
    const entries = await new StreamZip.async({ fd: fh.fd, storeEntries: true }).entries();
    zipOpenChannel.publish({ file });
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
