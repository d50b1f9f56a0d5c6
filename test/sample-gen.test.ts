import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import t from 'tap';
import { sha256 } from '../cache/digest.ts';
import { generateSample } from '../sample/gen/main.ts';
import { generateUnicodeFixture } from './fixtures/unicode/gen.ts';
import { ROOT } from './helpers.ts';

t.test('the committed sample is what the generator writes', async (t) => {
  const dir = t.testdir();
  const { paths, sums } = await generateSample(dir);
  t.equal(paths.length, 8);
  const committed = await readFile(join(ROOT, 'sample/SHA256SUMS'), 'utf8');
  const files = ['crawl-data/CC-SAMPLE/warc.paths.gz', ...paths];
  // Compare what the gzip members hold: a different zlib (another Node version) may compress differently.
  for (const f of files) {
    const fresh = gunzipSync(await readFile(join(dir, f)));
    const kept = gunzipSync(await readFile(join(ROOT, 'sample', f)));
    t.equal(sha256(fresh), sha256(kept), `${f}: same content`);
  }
  if (sums === committed) t.pass('byte-identical, SHA256SUMS included');
  else t.comment('compressed bytes differ from the committed ones (another zlib build); contents match');
  t.match(committed, /^[0-9a-f]{64} {2}crawl-data\/CC-SAMPLE\/warc\.paths\.gz\n/);
});

t.test('the committed Unicode fixture is what its generator writes', async (t) => {
  const dir = t.testdir();
  const { paths, sums } = await generateUnicodeFixture(dir);
  t.equal(paths.length, 2);
  const fixture = join(ROOT, 'test/fixtures/unicode');
  for (const f of ['crawl-data/CC-UNICODE/warc.paths.gz', ...paths]) {
    t.equal(sha256(gunzipSync(await readFile(join(dir, f)))), sha256(gunzipSync(await readFile(join(fixture, f)))), `${f}: same content`);
  }
  if (sums === (await readFile(join(fixture, 'SHA256SUMS'), 'utf8'))) t.pass('byte-identical, SHA256SUMS included');
  else t.comment('compressed bytes differ from the committed ones (another zlib build); contents match');
});
