import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import t, { type Test } from 'tap';
import { sha256 } from '../cache/digest.ts';
import sample from '../pipelines/sample.ts';
import type { Manifest } from '../runner/manifest.ts';
import { ROOT, runCli, runJson, startCli } from './helpers.ts';
import { SAMPLE_ROOT, SAMPLE_TASKS } from './golden.ts';
import { servedSample } from './support/served-sample.ts';


/** The sample over loopback, slow enough (about 3 s) that a loaded machine still kills the run midway. */
const slowSample = (t: Parameters<typeof servedSample>[0]) => servedSample(t, { trickle: { bytes: 16 * 1024, ms: 40 } });

async function waitFor(cond: () => Promise<boolean>, what: string, everyMs = 25): Promise<void> {
  for (let i = 0; i < 15_000 / everyMs; i++) {
    if (await cond()) return;
    await sleep(everyMs);
  }
  throw new Error(`timed out waiting for ${what}`);
}

/**
 * How far a run that died had got, from its --events file (written with writeSync, so it is what the
 * process had done when it died): the tasks it finished or found cached, of the SAMPLE_TASKS a whole run
 * has. A line cut by SIGKILL is skipped.
 */
async function finishedTasks(events: string): Promise<number> {
  const ids = new Set<string>();
  for (const line of (await readFile(events, 'utf8')).split('\n')) {
    let e: { type?: string; id?: string };
    try {
      e = JSON.parse(line) as typeof e;
    } catch {
      continue;
    }
    if ((e.type === 'task-done' || e.type === 'task-cached') && e.id) ids.add(e.id);
  }
  return ids.size;
}

/** The run died part way: by the signal (not an exit after finishing), with a task not done and no manifest. */
async function diedMidRun(t: Test, r: { code: number | null; signal: NodeJS.Signals | null }, signal: 'SIGKILL' | 'SIGINT', events: string, out: string, what: string): Promise<void> {
  if (signal === 'SIGKILL') t.equal(r.signal, 'SIGKILL', `${what}: the process died by SIGKILL, not by finishing`);
  else t.equal(r.code, 130, `${what}: the process stopped on SIGINT (exit 130), not by finishing`);
  const finished = await finishedTasks(events);
  t.ok(finished < SAMPLE_TASKS, `${what}: ${finished} of ${SAMPLE_TASKS} tasks finished when it died`);
  t.notOk(await readFile(join(out, 'manifest.json')).then(() => true, () => false), `${what}: no manifest was written`);
}

t.test('the mirror is not part of any key: a remote mirror gives the local sample root', async (t) => {
  const { dir, file } = await slowSample(t);
  const r = await runCli(['run', file, '--cache', join(dir, 'cache'), '--out', join(dir, 'out'), '--json']);
  t.equal(r.code, 0, r.stderr);
  t.equal(runJson(r.stdout).root, SAMPLE_ROOT);
});

async function segmentDone(events: string): Promise<boolean> {
  const text = await readFile(events, 'utf8').catch(() => '');
  return /"type":"task-done","id":"segment:/.test(text);
}

t.test('SIGKILL in the middle, then rerun: same root, clean cache, finished work reused', async (t) => {
  const { dir, file } = await slowSample(t);
  const cache = join(dir, 'cache');
  const events = join(dir, 'events.ndjson');
  const { child, done } = startCli(['run', file, '--cache', cache, '--out', join(dir, 'out'), '--concurrency', '2', '--events', events]);
  // A segment's task-done event is written after its chain's action entry: at least one segment is done.
  // (Counting action entries is not enough: two fetch entries and the list's can exist before any chain's.)
  await waitFor(() => segmentDone(events), 'a finished segment');
  child.kill('SIGKILL');
  await diedMidRun(t, await done, 'SIGKILL', events, join(dir, 'out'), 'after a finished segment');

  const verify1 = await runCli(['cache', 'verify', '--cache', cache, '--json']);
  t.equal(verify1.code, 0, 'no corrupt object after kill -9');
  t.equal(JSON.parse(verify1.stdout).corrupt.length, 0);

  const rerun = await runCli(['run', file, '--cache', cache, '--out', join(dir, 'out'), '--json']);
  t.equal(rerun.code, 0, rerun.stderr);
  const r = runJson(rerun.stdout);
  t.equal(r.root, SAMPLE_ROOT, 'same root as an uninterrupted run');
  t.ok(r.tasksCached >= 2, `finished tasks were reused (${r.tasksCached} cached)`);
  t.equal((await runCli(['cache', 'verify', '--cache', cache])).code, 0);
});

t.test('SIGKILL at several points of one run (mid-stream, between tasks, while writing), resumed each time', async (t) => {
  const { dir, file } = await slowSample(t);
  const cache = join(dir, 'cache');
  const events = join(dir, 'events.ndjson');
  // Kill on events of different phases: a segment started (mid-stream), one finished (between tasks,
  // while its neighbour writes), the whole-run plan started (dedup), an aggregate started (shard writing).
  const points: [string, RegExp][] = [
    ['mid-stream', /"type":"task-start","id":"segment:/],
    ['after a finished segment', /"type":"task-done","id":"segment:/],
    ['during the whole-run plan', /"type":"task-start","id":"global:0"/],
    ['while writing an output', /"type":"task-start","id":"aggregate:/],
  ];
  for (const [what, re] of points) {
    await writeFile(events, '');
    const { child, done } = startCli(['run', file, '--cache', cache, '--out', join(dir, 'out'), '--concurrency', '2', '--events', events]);
    // Polled every 5 ms: the last phase (the aggregates) takes a few hundred.
    const reached = await Promise.race([
      waitFor(async () => re.test(await readFile(events, 'utf8').catch(() => '')), what, 5).then(() => true),
      done.then(() => false),
    ]);
    child.kill('SIGKILL');
    t.ok(reached, `${what}: the event came while the run was going`);
    await diedMidRun(t, await done, 'SIGKILL', events, join(dir, 'out'), what);
    const v = await runCli(['cache', 'verify', '--cache', cache, '--json']);
    t.equal(JSON.parse(v.stdout).corrupt.length, 0, `${what}: no corrupt object after kill -9`);
  }
  const r = await runCli(['run', file, '--cache', cache, '--out', join(dir, 'out'), '--json']);
  t.equal(r.code, 0, r.stderr);
  t.equal(runJson(r.stdout).root, SAMPLE_ROOT, 'after four kills the run completes with the uninterrupted root');
});

t.test('SIGINT stops cleanly with exit 130 and no temp files; a rerun resumes', async (t) => {
  const { dir, file } = await slowSample(t);
  const cache = join(dir, 'cache');
  const events = join(dir, 'events.ndjson');
  const { child, done } = startCli(['run', file, '--cache', cache, '--out', join(dir, 'out'), '--concurrency', '2', '--events', events]);
  await waitFor(() => segmentDone(events), 'a finished segment');
  child.kill('SIGINT');
  const r = await done;
  await diedMidRun(t, r, 'SIGINT', events, join(dir, 'out'), 'after a finished segment');
  t.match(r.stderr, /REINGEST_E_INTERRUPTED: the run was interrupted; finished tasks are cached, rerun the same command to resume/);
  t.same(await readdir(join(cache, 'tmp')), [], 'aborted writers removed their temp files');
  const rerun = runJson((await runCli(['run', file, '--cache', cache, '--out', join(dir, 'out'), '--json'])).stdout);
  t.equal(rerun.root, SAMPLE_ROOT);
});

t.test('a flipped byte in a cached object is caught by verify and never served', async (t) => {
  const dir = t.testdir();
  const cache = join(dir, 'cache');
  const out = join(dir, 'out');
  const first = runJson((await runCli(['run', join(ROOT, 'pipelines/sample.ts'), '--cache', cache, '--out', out, '--json'])).stdout);
  const m = JSON.parse(await readFile(first.manifest, 'utf8')) as Manifest;
  const chain = m.tasks.find((x) => x.id === 'segment:3')!;
  const hex = chain.output.digest.slice(7);
  const objPath = join(cache, 'objects', 'sha256', hex.slice(0, 2), hex);
  const flip = async (p: string) => {
    const bytes = await readFile(p);
    bytes[100] = bytes[100]! ^ 0x20;
    await writeFile(p, bytes);
  };

  // Without verify: the run's own lookup re-hashes, quarantines and recomputes.
  await flip(objPath);
  const healed = await runCli(['run', join(ROOT, 'pipelines/sample.ts'), '--cache', cache, '--out', out, '--json', '--log-level', 'warn']);
  t.equal(runJson(healed.stdout).root, SAMPLE_ROOT, 'same root: the corrupt object was not used');
  t.match(healed.stderr, /corrupt cache object quarantined/);
  t.ok(runJson(healed.stdout).tasksRun >= 1);

  // With verify: named on stdout, exit 1, then clean.
  const outHex = m.outputs[0]!.digest.slice(7);
  await flip(join(cache, 'objects', 'sha256', outHex.slice(0, 2), outHex));
  const v = await runCli(['cache', 'verify', '--cache', cache]);
  t.equal(v.code, 1);
  t.match(v.stdout, new RegExp(`CORRUPT sha256:${outHex} \\(bytes hash to sha256:[0-9a-f]{64}\\), moved to .*corrupt`));
  t.equal((await runCli(['cache', 'verify', '--cache', cache])).code, 0, 'clean after quarantine');
  const again = runJson((await runCli(['run', join(ROOT, 'pipelines/sample.ts'), '--cache', cache, '--out', out, '--json'])).stdout);
  t.equal(again.root, SAMPLE_ROOT);
  t.equal(sha256(await readFile(join(out, 'text.jsonl'))), m.outputs[0]!.digest, 'the output file is the good one again');
});

t.test('cache gc keeps what a manifest references and drops the rest', async (t) => {
  const dir = t.testdir();
  const cache = join(dir, 'cache');
  const pipeline = join(ROOT, 'pipelines/sample.ts');
  const run = runJson((await runCli(['run', pipeline, '--cache', cache, '--out', join(dir, 'out'), '--json'])).stdout);
  // A second pipeline with other params leaves entries that the first manifest does not reference.
  const other = join(dir, 'other.json');
  await writeFile(other, JSON.stringify({ ...sample, name: 'other', mirror: { localDir: join(ROOT, 'sample') }, segment: [...sample.segment.slice(0, 3), { stage: 'length-filter', params: { minChars: 5000 } }] }));
  t.equal((await runCli(['run', other, '--cache', cache, '--out', join(dir, 'other')])).code, 0);
  const young = JSON.parse((await runCli(['cache', 'gc', '--cache', cache, '--keep', run.manifest, '--dry-run', '--json'])).stdout);
  t.match(young, { removedObjects: 0, removedActions: 0 }, 'within the grace period (an hour) nothing is garbage: a run may be using it');
  const dry = await runCli(['cache', 'gc', '--cache', cache, '--keep', run.manifest, '--dry-run', '--grace', '0', '--json']);
  const d = JSON.parse(dry.stdout);
  t.ok(d.removedObjects > 0 && d.removedActions > 0, 'the other pipeline\'s entries are garbage');
  const gc = JSON.parse((await runCli(['cache', 'gc', '--cache', cache, '--keep', run.manifest, '--grace', '0', '--json'])).stdout);
  t.equal(gc.removedObjects, d.removedObjects);
  const rerun = runJson((await runCli(['run', pipeline, '--cache', cache, '--out', join(dir, 'out'), '--json'])).stdout);
  t.equal(rerun.tasksRun, 0, 'everything the kept manifest needs is still cached');
  t.equal(rerun.root, run.root);
});

t.test('CLI usage errors are one clear line with a stable code and exit status', async (t) => {
  const r1 = await runCli(['run', join(ROOT, 'pipelines/sample.ts'), '--concurrenc', '2']);
  t.equal(r1.code, 2);
  t.match(r1.stderr, /REINGEST_E_USAGE: run: unknown option --concurrenc; did you mean "--concurrency"\? See `reingest run --help`/);
  const topic = await runCli(['help', 'compare']);
  t.match(topic.stdout, /^reingest compare <a\.json> <b\.json>/, '`reingest help CMD` is that command\'s help');
  const r2 = await runCli(['run', join(ROOT, 'pipelines/sample.ts'), '--concurrency', 'lots']);
  t.equal(r2.code, 2);
  t.match(r2.stderr, /--concurrency: expected an integer from 1 to 1024, got "lots"/);
  const r3 = await runCli(['run', 'pipelines/nope.ts']);
  t.equal(r3.code, 1);
  t.match(r3.stderr, /REINGEST_E_SPEC_NOT_FOUND/);
  t.notMatch(r3.stderr, /\n\s+at /, 'no stack trace for user errors');
  const r4 = await runCli(['frobnicate']);
  t.equal(r4.code, 2);
  for (const cmd of [['--help'], ['run', '--help'], ['plan', '--help'], ['cache', '--help']]) {
    const h = await runCli(cmd);
    t.equal(h.code, 0);
    t.match(h.stdout, /Example/, `${cmd.join(' ')} has examples`);
  }
});
