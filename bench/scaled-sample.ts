import { copyFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync, gzipSync } from 'node:zlib';
import sample from '../pipelines/sample.ts';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');

/** Builds a mirror folder holding the sample's files `copies` times (under new names) and a pipeline over it. */
export async function scaledSample(dir: string, copies: number): Promise<string> {
  const list = gunzipSync(await readFile(join(ROOT, 'sample/crawl-data/CC-SAMPLE/warc.paths.gz'))).toString().trim().split('\n');
  const paths: string[] = [];
  for (let c = 0; c < copies; c++) {
    for (const p of list) {
      const copy = p.replace(/-(\d{5})\.warc\.gz$/, (_, n: string) => `-${String(Number(n) + c * 1000).padStart(5, '0')}.warc.gz`);
      await mkdir(join(dir, dirname(copy)), { recursive: true });
      await copyFile(join(ROOT, 'sample', p), join(dir, copy));
      paths.push(copy);
    }
  }
  await writeFile(join(dir, 'crawl-data/CC-SAMPLE/warc.paths.gz'), gzipSync(`${paths.join('\n')}\n`));
  const file = join(dir, 'pipeline.json');
  const source = { ...sample.source, params: { pathList: 'crawl-data/CC-SAMPLE/warc.paths.gz' } };
  await writeFile(file, JSON.stringify({ ...sample, source, mirror: { localDir: dir } }));
  return file;
}

