import t from 'tap';
import { drain, RecordEdge, tapRecords } from '../runner/exec-common.ts';
import { encodeFrame, type DataRecord } from '../runner/record-codec.ts';
import { RecordIndexBuilder } from '../runner/record-index.ts';

// Two edges in a row, as a chain has them: the second edge's records are partly the first edge's objects
// passed on (a filter keeping a document), partly new ones. Each edge's index must equal the one built by
// encoding and hashing every record it carried, whatever was reused.
async function* from(records: DataRecord[]): AsyncGenerator<DataRecord> {
  yield* records;
}

function freshIndex(records: readonly DataRecord[]): Buffer {
  const b = new RecordIndexBuilder();
  for (const r of records) b.add(encodeFrame(r));
  return Buffer.from(b.bytes());
}

t.test('a record passed on unchanged is named by the same leaf; changed and binary records are framed anew', async (t) => {
  const docs: DataRecord[] = Array.from({ length: 50 }, (_, i) => ({ id: `d${i}`, text: `text of ${i} `.repeat(i + 1), n: i, ok: i % 2 === 0, none: null }));
  docs.push({ id: 'bin', block: Buffer.from('binary payload'), text: 'x' });
  const first = new RecordEdge();
  const second = new RecordEdge();
  const seenFirst: DataRecord[] = [];
  const seenSecond: DataRecord[] = [];
  async function* filter(src: AsyncIterable<DataRecord>): AsyncGenerator<DataRecord> {
    for await (const r of src) {
      seenFirst.push(r);
      if ((r.n as number) % 3 === 0) continue; // dropped
      const out = (r.n as number) % 5 === 0 ? { ...r, text: `${r.text as string}!` } : r; // changed, or the same object
      seenSecond.push(out);
      yield out;
    }
  }
  await drain(tapRecords(filter(tapRecords(from(docs), first)), second));
  t.same(Buffer.from(first.index.bytes()), freshIndex(seenFirst), 'first edge: every record framed');
  t.same(Buffer.from(second.index.bytes()), freshIndex(seenSecond), 'second edge: reused leaves equal fresh ones');
  t.equal(second.bytes, seenSecond.reduce((n, r) => n + encodeFrame(r).length, 0), 'edge byte count includes reused frames');
  t.ok(seenSecond.some((r) => seenFirst.includes(r)) && seenSecond.some((r) => !seenFirst.includes(r)), 'the case mixes reused and new records');
});

t.test('a framed flat record cannot be changed afterwards; a record holding bytes stays as it was given', async (t) => {
  const flat: DataRecord = { id: 'a', text: 'hello' };
  const binary: DataRecord = { id: 'b', tokens: Uint8Array.of(1, 2, 3, 4) };
  await drain(tapRecords(from([flat, binary]), new RecordEdge()));
  t.ok(Object.isFrozen(flat), 'flat record frozen once framed');
  t.throws(() => {
    (flat as Record<string, unknown>).text = 'changed in place';
  }, TypeError, 'a stage changing a passed record in place fails loudly instead of leaving a stale digest');
  t.notOk(Object.isFrozen(binary), 'records with binary values are not frozen (their bytes could change, so they are framed every time)');
});
