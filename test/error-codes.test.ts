import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import t from 'tap';
import { ERROR_CODES } from '../cache/errors.ts';
import { CorruptObjectError } from '../cache/store.ts';
import { isReingestError } from '../runner/errors.ts';
import { CorruptRecordError, decodeRecord } from '../runner/record-codec.ts';
import { ROOT } from './helpers.ts';

t.test('every error code is in the table of docs/design.md, and the table names no other', async (t) => {
  const doc = await readFile(join(ROOT, 'docs/design.md'), 'utf8');
  const table = doc.slice(doc.indexOf('## Error codes'));
  const documented = [...table.matchAll(/^\| (`REINGEST_E_[A-Z_]+`(?:, `REINGEST_E_[A-Z_]+`)*) \|/gm)].flatMap((m) => m[1]!.split(', ').map((c) => c.slice(1, -1))).sort();
  t.same(documented, [...ERROR_CODES].sort());
});

t.test('corruption found in the cache is a typed error (exit 1), not a bug (exit 70)', async (t) => {
  const e = new CorruptObjectError(`sha256:${'1'.repeat(64)}`, `sha256:${'2'.repeat(64)}`, '/c/objects/x');
  t.ok(isReingestError(e));
  t.match(e, { code: 'REINGEST_E_CACHE_CORRUPT', where: '/c/objects/x' });
  t.throws(() => decodeRecord(Buffer.from([9])), { name: 'ReingestError', code: 'REINGEST_E_CACHE_CORRUPT' });
  t.ok(new CorruptRecordError('x') instanceof Error && isReingestError(new CorruptRecordError('x')));
  t.throws(() => decodeRecord(Buffer.from([7, 0, 0, 0, 9])), { code: 'REINGEST_E_CACHE_CORRUPT' });
});
