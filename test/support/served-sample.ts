import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import sample from '../../pipelines/sample.ts';
import { ROOT } from '../helpers.ts';
import { FakeCommonCrawl, routeFolder, type Route } from './fake-cc.ts';

export interface ServedSampleOptions {
  /** Serve every file slowly: `bytes` per write, `ms` between writes. */
  readonly trickle?: Route['trickle'];
  /** Params for the sample's fetch stage (backoff, stall timeout, stream cap...). */
  readonly fetchParams?: Record<string, unknown>;
  /** Set faults on routes before the server starts. */
  readonly configure?: (cc: FakeCommonCrawl) => void;
}

/**
 * The sample pipeline fetched from a loopback imitation of Common Crawl instead of its local folder: the
 * server (stopped at teardown), a test directory, and the pipeline file pointing at the server.
 */
export async function servedSample(t: { testdir(): string; teardown(fn: () => unknown): void }, opts: ServedSampleOptions = {}): Promise<{ dir: string; file: string; cc: FakeCommonCrawl }> {
  const cc = new FakeCommonCrawl();
  await routeFolder(cc, join(ROOT, 'sample'), opts.trickle);
  opts.configure?.(cc);
  const url = await cc.start();
  t.teardown(() => cc.stop());
  const dir = t.testdir();
  const file = join(dir, 'served-sample.json');
  const [fetch, ...rest] = sample.segment;
  const segment = opts.fetchParams ? [{ ...fetch, params: opts.fetchParams }, ...rest] : sample.segment;
  await writeFile(file, JSON.stringify({ ...sample, mirror: { url }, segment }));
  return { dir, file, cc };
}
