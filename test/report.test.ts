import { existsSync } from 'node:fs';
import { mkdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import t from 'tap';
import type { Manifest } from '../runner/manifest.ts';
import { ROOT, runCli, runJson, SAMPLE_PIPELINE } from './helpers.ts';

/**
 * The run report in a real browser: Debian's headless Chromium driven by playwright-core (which never
 * downloads a browser of its own). The screenshot stays for people to look at:
 *   out/test-artifacts/report.png (out/ is git-ignored).
 */
const CHROMIUM = '/usr/bin/chromium';
export const SCREENSHOT = join(ROOT, 'out', 'test-artifacts', 'report.png');

t.test('reingest report: a self-contained page whose numbers match the manifest, in headless Chromium', async (t) => {
  const dir = t.testdir();
  const r = await runCli(['run', SAMPLE_PIPELINE, '--cache', join(dir, 'cache'), '--out', join(dir, 'out'), '--json']);
  t.equal(r.code, 0, r.stderr);
  const manifestPath = runJson(r.stdout).manifest;
  const m = JSON.parse(await readFile(manifestPath, 'utf8')) as Manifest;
  // A cached rerun writes the same manifest; the report still shows the timings of the run that computed it.
  const rerun = runJson((await runCli(['run', SAMPLE_PIPELINE, '--cache', join(dir, 'cache'), '--out', join(dir, 'out'), '--json'])).stdout);
  t.equal(rerun.tasksRun, 0, 'the rerun computed nothing');
  const rep = await runCli(['report', manifestPath, '-o', join(dir, 'report.html'), '--cache', join(dir, 'cache')]);
  t.equal(rep.code, 0, rep.stderr);
  const html = await readFile(join(dir, 'report.html'), 'utf8');
  t.match(html, /data-stage="html-text" data-ms="\d+"/, 'timings of the run that did the work');
  t.match(html, new RegExp(`${runJson(r.stdout).tasksRun} tasks run, 0 from cache`), 'its run facts, not the cached rerun\'s');
  await runCli(['report', manifestPath, '-o', join(dir, 'elsewhere.html'), '--cache', join(dir, 'empty')]);
  t.match(await readFile(join(dir, 'elsewhere.html'), 'utf8'), /no run record in this cache/, 'a cache that did not compute it has no timings to show');
  t.notMatch(html, /<script|\bsrc=|\bhref=|@import|url\((?!#)/i, 'no scripts, no external resources: it works offline');

  // What the funnel must say, computed here from the manifest.
  const chains = m.tasks.filter((x) => x.kind === 'chain');
  const expected: Record<string, number> = {};
  m.pipeline.segment.slice(1).forEach((s, i) => (expected[s.stage] = chains.reduce((n, c) => n + c.edges[i]!.records!, 0)));
  expected.dedup = m.tasks.filter((x) => x.kind === 'global-apply').reduce((n, a) => n + a.output.records!, 0);
  const shardTokens = m.outputs.filter((o) => o.file.startsWith('megatron/') && o.file.endsWith('.bin')).reduce((n, o) => n + (o.facts!.tokens as number), 0);
  const langTotal = chains.reduce((n, c) => n + Object.entries(c.edges.find((e) => e.stage === 'lang-id')!.counters!.counts).filter(([k]) => k.startsWith('lang-')).reduce((a, [, v]) => a + v, 0), 0);

  if (!existsSync(CHROMIUM) && process.env.REINGEST_REQUIRE_CHROMIUM !== '1') {
    t.comment(`SKIPPED: no ${CHROMIUM} here (apt-get install chromium; .ci/run installs it)`);
    t.pass('browser check skipped (reported above)', { skip: 'no chromium' });
    return;
  }
  const { chromium } = await import('playwright-core');
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  t.teardown(() => browser.close());
  const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
  const problems: string[] = [];
  const requests: string[] = [];
  page.on('console', (msg) => {
    if (msg.type() === 'error' || msg.type() === 'warning') problems.push(`console ${msg.type()}: ${msg.text()}`);
  });
  page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
  page.on('request', (req) => requests.push(req.url()));
  const url = pathToFileURL(join(dir, 'report.html')).href;
  await page.goto(url, { waitUntil: 'load' });

  t.same(problems, [], 'no console errors or warnings, no page errors');
  t.same(requests, [url], 'the page loads nothing but itself');
  const funnel = await page.$$eval('[data-funnel-stage]', (els) => els.map((e) => [e.getAttribute('data-funnel-stage'), Number(e.getAttribute('data-records'))] as const));
  t.same(Object.fromEntries(funnel), expected, 'every funnel number equals the manifest');
  t.equal(Number(await page.getAttribute('#tokens', 'data-tokens')), shardTokens, 'tokens: the Megatron shards total');
  const langs = await page.$$eval('[data-lang]', (els) => els.map((e) => Number(e.getAttribute('data-n'))));
  t.equal(langs.reduce((a, b) => a + b, 0), langTotal, 'languages add up to what lang-id counted');
  t.equal(await page.getAttribute('#root', 'data-root'), m.root);
  t.equal(await page.locator('[data-shard]').count(), m.outputs.filter((o) => o.file.endsWith('.bin')).length, 'one bar per shard file');
  t.ok((await page.locator('svg.dag rect.node').count()) >= m.pipeline.segment.length + 3, 'the DAG has a box per step');
  t.equal(await page.locator('text=Time per stage').count(), 1);

  await mkdir(join(SCREENSHOT, '..'), { recursive: true });
  await page.screenshot({ path: SCREENSHOT, fullPage: true });
  t.ok((await stat(SCREENSHOT)).size > 20_000, `screenshot written to ${SCREENSHOT}`);
});
