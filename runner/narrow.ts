import type { Digest } from '../cache/digest.ts';
import type { ObjectStore } from '../cache/store.ts';
import type { CompareReport, Divergence } from './compare.ts';
import { decodeRecord } from './record-codec.ts';
import { firstDifferentRecord, RecordIndex } from './record-index.ts';

async function readObject(stores: readonly ObjectStore[], d: Digest): Promise<Buffer | null> {
  for (const store of stores) {
    if (!(await store.has(d))) continue;
    return store.readAll(d);
  }
  return null;
}

/** Record k of a stored record stream (frames), or null. */
function recordAt(stream: Buffer, offset: number): Record<string, unknown> | null {
  if (offset + 4 > stream.length) return null;
  const len = stream.readUInt32BE(offset);
  return decodeRecord(stream.subarray(offset + 4, offset + 4 + len)) as Record<string, unknown>;
}

/**
 * Narrows the first divergence to a record: loads both edges' per-record indexes (from whichever store
 * has them) and descends their Merkle trees to the first differing leaf. If an edge's records are stored
 * too, the record's url (or id) is shown. Leaves the report as it is when an index is not available.
 */
export async function narrowFirst(report: CompareReport, expectedFrom: readonly ObjectStore[], foundFrom: readonly ObjectStore[]): Promise<CompareReport> {
  const d = report.first;
  if (!d?.expected?.recordIndex || !d.found?.recordIndex) return report;
  const [ia, ib] = [await readObject(expectedFrom, d.expected.recordIndex as Digest), await readObject(foundFrom, d.found.recordIndex as Digest)];
  if (!ia || !ib) return report;
  const a = new RecordIndex(ia);
  const b = new RecordIndex(ib);
  const index = firstDifferentRecord(a, b);
  if (index === null) return report;
  const offset = index < a.count ? a.offset(index) : b.offset(index);
  const label = async (view: NonNullable<Divergence['expected']>, stores: readonly ObjectStore[], at: number) => {
    if (!view.stored) return undefined;
    const stream = await readObject(stores, view.digest as Digest);
    const rec = stream ? recordAt(stream, at) : null;
    const url = rec?.url ?? rec?.id;
    return typeof url === 'string' ? url : undefined;
  };
  const expectedUrl = index < a.count ? await label(d.expected, expectedFrom, offset) : undefined;
  const foundUrl = index < b.count ? await label(d.found, foundFrom, offset) : undefined;
  const first: Divergence = { ...d, record: { index, offset, ...(expectedUrl ? { expectedUrl } : {}), ...(foundUrl ? { foundUrl } : {}) } };
  return { ...report, first, divergences: [first, ...report.divergences.slice(1)] };
}
