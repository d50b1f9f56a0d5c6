import t from 'tap';
import { merkleRoot } from '../cache/digest.ts';
import { firstDifferentRecord, RecordIndex, RecordIndexBuilder, verifyRecord } from '../runner/record-index.ts';

const frames = (n: number, tag = '') => Array.from({ length: n }, (_, i) => Buffer.from(`record ${i}${tag}`.padEnd(8 + (i % 5), '.')));
function index(fs: Buffer[]): RecordIndex {
  const b = new RecordIndexBuilder();
  for (const f of fs) b.add(f);
  return new RecordIndex(b.bytes());
}

t.test('recordsRoot is the RFC 6962 root of the frames (the same tree as the manifest root)', async (t) => {
  for (const n of [0, 1, 2, 3, 7, 8, 9, 100]) t.equal(index(frames(n)).root(), merkleRoot(frames(n)), `${n} records`);
  t.equal(index(frames(5)).offset(3), frames(5).slice(0, 3).reduce((o, f) => o + f.length, 0), 'offsets add up frame lengths');
});

t.test('firstDifferentRecord finds the first changed record in O(log n) subtree comparisons', async (t) => {
  for (const n of [1, 2, 3, 5, 8, 13, 64, 100]) {
    for (const at of [0, Math.floor(n / 2), n - 1]) {
      const b = frames(n);
      b[at] = Buffer.from('changed');
      if (at + 1 < n) b[n - 1] = Buffer.from('changed too');
      t.equal(firstDifferentRecord(index(frames(n)), index(b)), at, `n=${n}, changed at ${at}`);
    }
    t.equal(firstDifferentRecord(index(frames(n)), index(frames(n))), null, `n=${n}: same`);
    t.equal(firstDifferentRecord(index(frames(n)), index(frames(n + 2))), n, `n=${n}: two extra records, the first extra is named`);
  }
  t.equal(firstDifferentRecord(index([]), index(frames(1))), 0);
});

t.test('one record checks against the edge root with its audit path; a changed record or index does not', async (t) => {
  for (const n of [1, 2, 3, 6, 17]) {
    const fs = frames(n);
    const idx = index(fs);
    const root = idx.root();
    for (let i = 0; i < n; i++) {
      const path = idx.auditPath(i);
      t.ok(verifyRecord(fs[i]!, i, n, path, root), `n=${n}: record ${i} proves`);
      t.notOk(verifyRecord(Buffer.from('forged'), i, n, path, root), `n=${n}: a forged record ${i} does not`);
      if (i === n - 1) t.notOk(verifyRecord(fs[i]!, n + 4, n, path, root), `n=${n}: the last record's proof at an index past the end does not`);
      if (n > 1) t.notOk(verifyRecord(fs[i]!, (i + 1) % n, n, path, root), `n=${n}: record ${i} does not prove at another position`);
    }
    t.ok(path0Len(idx, n) <= Math.ceil(Math.log2(n)) , 'audit paths are logarithmic');
  }
});

function path0Len(idx: RecordIndex, n: number): number {
  return Math.max(...Array.from({ length: n }, (_, i) => idx.auditPath(i).length));
}
