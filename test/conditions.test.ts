import { existsSync } from 'node:fs';
import { cp, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { digestHex, type Digest } from '../cache/digest.ts';
import type { ReingestErrorCode } from '../cache/errors.ts';
import { ObjectStore } from '../cache/store.ts';
import type { Manifest } from '../runner/manifest.ts';
import sample from '../pipelines/sample.ts';
import { SAMPLE_ROOT } from './golden.ts';
import { ROOT, runJson, SAMPLE_PIPELINE, startCli, type CliResult } from './helpers.ts';

/**
 * Issue 17, "no user or environment condition exits 70": each condition made for real and driven through
 * the CLI (bin/reingest.mjs in a child process), with its exit status and the REINGEST_E_ code of the
 * one error line it prints on stderr (`reingest: CODE: message`), or no error line where the condition is
 * handled (a corrupt cache entry is a miss: the task reruns).
 */

interface Made {
  readonly args: string[];
  /** Sent once stderr matches `when` (the command is then waiting where the signal must find it). */
  readonly signal?: { readonly name: NodeJS.Signals; readonly when: RegExp };
}

interface Condition {
  readonly name: string;
  /** Makes the condition inside `dir` (a fresh folder) and returns the command to run. */
  readonly make: (dir: string) => Promise<Made>;
  readonly exit: number;
  readonly code: ReingestErrorCode | null;
  /** What else must hold: the message names the path, nothing was printed, the cache was mended. */
  readonly check?: (t: Test, r: CliResult, dir: string) => unknown;
}

const root = t.testdir({ 'a-file': 'not a folder\n', 'bad.json': '{"schema": "reingest-record-proof/1",', 'two-bytes': 'hi' });
const at = (...p: string[]) => join(root, ...p);
const made = await startCli(['run', SAMPLE_PIPELINE, '--cache', at('cache'), '--out', at('out'), '--json']).done;
if (made.code !== 0) throw new Error(`the sample run failed: ${made.stderr}`);
t.equal(runJson(made.stdout).root, SAMPLE_ROOT, 'the sample, computed afresh, has its known root');
const MANIFEST = runJson(made.stdout).manifest;
const manifest = JSON.parse(await readFile(MANIFEST, 'utf8')) as Manifest;
const task = (id: string) => manifest.tasks.find((x) => x.id === id)!;
const exclusions = manifest.tasks.flatMap((x) => x.edges.flatMap((e) => (e.exclusions ? [e.exclusions as Digest] : [])));
// Conditions run a few at a time, some of them writing to the shared cache: damage is done to copies of this one.
await cp(at('cache'), at('pristine-cache'), { recursive: true });

/** A copy of the sample's cache in `dir`, to damage. */
async function cacheIn(dir: string): Promise<{ cache: string; store: ObjectStore }> {
  const cache = join(dir, 'cache');
  await cp(at('pristine-cache'), cache, { recursive: true });
  return { cache, store: new ObjectStore(cache) };
}

/** Where the sample's listing is asked for, a server that answers 503 and asks for a 30 s wait. */
const busy = createServer((_req, res) => res.writeHead(503, { 'retry-after': '30' }).end('Slow Down'));
await new Promise<void>((resolve) => busy.listen(0, '127.0.0.1', resolve));
t.teardown(() => (busy.closeAllConnections(), busy.close()));
async function busyPipeline(dir: string): Promise<string> {
  const file = join(dir, 'busy.json');
  await writeFile(file, JSON.stringify({ ...sample, mirror: { url: `http://127.0.0.1:${(busy.address() as AddressInfo).port}/` } }));
  return file;
}

const BACKING_OFF = /backing off before retrying/;
const run = (dir: string, ...more: string[]) => ['run', SAMPLE_PIPELINE, '--cache', at('cache'), '--out', join(dir, 'out'), ...more];

const CONDITIONS: Condition[] = [
  {
    name: 'SIGTERM while the path listing waits out a 503 (Retry-After)',
    make: async (dir) => ({ args: ['run', await busyPipeline(dir), '--cache', join(dir, 'c'), '--out', join(dir, 'out')], signal: { name: 'SIGTERM', when: BACKING_OFF } }),
    exit: 130,
    code: 'REINGEST_E_INTERRUPTED',
    check: (t, r) => t.match(r.stderr, /REINGEST_E_INTERRUPTED: interrupted by SIGTERM; finished tasks are cached/),
  },
  {
    name: 'SIGINT while `plan` waits out a 503 (Retry-After)',
    make: async (dir) => ({ args: ['plan', await busyPipeline(dir), '--cache', join(dir, 'c')], signal: { name: 'SIGINT', when: BACKING_OFF } }),
    exit: 130,
    code: 'REINGEST_E_INTERRUPTED',
  },
  {
    name: 'a jsonl output with fields named after Object.prototype members',
    make: async (dir) => {
      const file = join(dir, 'fields.json');
      const spec = JSON.parse(JSON.stringify(sample)) as { mirror: unknown; aggregate: { params: unknown }[] };
      spec.mirror = { localDir: join(ROOT, 'sample') };
      spec.aggregate = [{ ...spec.aggregate[0]!, params: { fields: ['id', 'constructor', 'toString', '__proto__', 'hasOwnProperty'] } }];
      await writeFile(file, JSON.stringify(spec));
      return { args: ['run', file, '--cache', at('cache'), '--out', join(dir, 'out')] };
    },
    exit: 0,
    code: null,
    check: async (t, _r, dir) => {
      const first = JSON.parse((await readFile(join(dir, 'out', 'text.jsonl'), 'utf8')).split('\n')[0]!) as object;
      t.same(Object.keys(first).sort(), ['id', 'segment'], 'records have no such own fields: the lines hold only id (and segment)');
    },
  },
  {
    name: '--events into a folder that does not exist (it is made)',
    make: async (dir) => ({ args: run(dir, '--events', join(dir, 'new', 'deeper', 'events.jsonl')) }),
    exit: 0,
    code: null,
    check: async (t, _r, dir) => t.match(await readFile(join(dir, 'new', 'deeper', 'events.jsonl'), 'utf8'), /"type":"task-cached"/),
  },
  {
    name: '--events naming a directory',
    make: async (dir) => ({ args: run(dir, '--events', dir) }),
    exit: 2,
    code: 'REINGEST_E_USAGE',
    check: (t, r, dir) => t.match(r.stderr, `--events ${dir}: expected a file to write, found a directory`),
  },
  {
    name: '--events under a path whose folder is a file',
    make: async (dir) => ({ args: run(dir, '--events', at('a-file', 'events.jsonl')) }),
    exit: 2,
    code: 'REINGEST_E_USAGE',
    check: (t, r) => t.match(r.stderr, `expected ${at('a-file')} to be a folder (or nothing), found a file`),
  },
  {
    name: '--events on a file whose writes fail (EIO)',
    make: async (dir) => ({ args: run(dir, '--events', '/proc/version') }),
    exit: 1,
    code: 'REINGEST_E_IO',
    check: (t, r) => t.match(r.stderr, /I\/O error \(EIO\) at \/proc\/version/),
  },
  {
    name: 'run: a directory in place of a cached object (quarantined, the task reruns)',
    make: async (dir) => {
      const { cache, store } = await cacheIn(dir);
      const obj = store.objectPath(task('segment:1').output.digest);
      await rm(obj);
      await mkdir(obj);
      return { args: ['run', SAMPLE_PIPELINE, '--cache', cache, '--out', join(dir, 'out'), '--json'] };
    },
    exit: 0,
    code: null,
    check: (t, r) => {
      t.equal(runJson(r.stdout).root, SAMPLE_ROOT);
      t.match(r.stderr, /"found":"not-a-file".*corrupt cache object quarantined; rerunning the task/);
    },
  },
  {
    name: 'cache verify: a directory in place of a cached object',
    make: async (dir) => {
      const { cache, store } = await cacheIn(dir);
      await rm(store.objectPath(exclusions[0]!));
      await mkdir(store.objectPath(exclusions[0]!));
      return { args: ['cache', 'verify', '--cache', cache] };
    },
    exit: 1,
    code: null,
    check: (t, r, dir) => {
      t.match(r.stdout, `CORRUPT ${exclusions[0]} (not a file), moved to ${join(dir, 'cache', 'corrupt')}`);
      t.match(r.stdout, /1 corrupt/);
    },
  },
  {
    name: 'exclusions: a directory in place of an exclusions object',
    make: async (dir) => {
      const { cache, store } = await cacheIn(dir);
      await rm(store.objectPath(exclusions.at(-1)!));
      await mkdir(store.objectPath(exclusions.at(-1)!));
      return { args: ['exclusions', MANIFEST, '--cache', cache] };
    },
    exit: 1,
    code: 'REINGEST_E_CACHE_CORRUPT',
    check: (t, r, dir) => {
      t.match(r.stderr, `cache object ${new ObjectStore(join(dir, 'cache')).objectPath(exclusions.at(-1)!)} is corrupt: expected a file, found a directory`);
      t.equal(r.stdout, '', 'nothing printed');
    },
  },
  {
    name: 'exclusions: the last exclusions object is corrupt (a changed byte): nothing is printed',
    make: async (dir) => {
      const { cache, store } = await cacheIn(dir);
      const file = store.objectPath(exclusions.at(-1)!);
      const bytes = await readFile(file);
      const i = bytes.lastIndexOf('http');
      if (i < 0) throw new Error('the last exclusions object names no URL to change');
      bytes[i + 1] = 'T'.charCodeAt(0);
      await writeFile(file, bytes);
      return { args: ['exclusions', MANIFEST, '--cache', cache] };
    },
    exit: 1,
    code: 'REINGEST_E_CACHE_CORRUPT',
    check: (t, r) => t.equal(r.stdout, '', 'no record of any exclusions object printed before the check failed'),
  },
  {
    name: '`proof check` of a file that is not JSON',
    make: async () => ({ args: ['proof', 'check', at('bad.json'), '--manifest', MANIFEST] }),
    exit: 1,
    code: 'REINGEST_E_PROOF',
    check: (t, r) => t.match(r.stderr, /bad\.json to be a JSON proof .* it is not JSON/),
  },
  {
    name: '`proof check` of a directory',
    make: async (dir) => ({ args: ['proof', 'check', dir, '--manifest', MANIFEST] }),
    exit: 1,
    code: 'REINGEST_E_PROOF',
    check: (t, r, dir) => t.match(r.stderr, `expected a proof file at ${dir}, found a directory`),
  },
  {
    name: '`report -o` naming a directory',
    make: async (dir) => ({ args: ['report', MANIFEST, '--cache', at('cache'), '-o', dir] }),
    exit: 2,
    code: 'REINGEST_E_USAGE',
  },
  {
    name: '`report -o` into a folder that does not exist (it is made)',
    make: async (dir) => ({ args: ['report', MANIFEST, '--cache', at('cache'), '-o', join(dir, 'new', 'r.html')] }),
    exit: 0,
    code: null,
    check: (t, _r, dir) => t.ok(existsSync(join(dir, 'new', 'r.html'))),
  },
  {
    name: '`init --dir` naming a file',
    make: async () => ({ args: ['init', 'x', '--dir', at('a-file')] }),
    exit: 2,
    code: 'REINGEST_E_USAGE',
  },
  {
    name: '`warc ls` of a directory',
    make: async (dir) => ({ args: ['warc', 'ls', dir] }),
    exit: 1,
    code: 'REINGEST_E_SOURCE_MISSING',
    check: (t, r, dir) => t.match(r.stderr, `expected a file at ${dir}, found a directory`),
  },
  {
    name: '`warc ls` of a file shorter than any magic number (2 bytes)',
    make: async () => ({ args: ['warc', 'ls', at('two-bytes')] }),
    exit: 1,
    code: 'REINGEST_E_WARC_FORMAT',
  },
  {
    name: '`shards check` where a shard file is a directory',
    make: async (dir) => {
      const out = join(dir, 'out');
      await cp(at('out'), out, { recursive: true });
      await rm(join(out, 'llmc', 'shard-00000.bin'));
      await mkdir(join(out, 'llmc', 'shard-00000.bin'));
      return { args: ['shards', 'check', out] };
    },
    exit: 1,
    code: null,
    check: (t, r) => t.match(r.stdout, /differs +llmc\/shard-00000\.bin \(expected sha256:[0-9a-f]{64}, found a directory\)/),
  },
  {
    name: '--cache naming a file',
    make: async () => ({ args: ['cache', 'ls', '--cache', at('a-file')] }),
    exit: 1,
    code: 'REINGEST_E_PERMISSION',
  },
  // Fixed before: kept here so that every condition of issue 17 is in one table.
  {
    name: '--out naming a file',
    make: async () => ({ args: ['run', SAMPLE_PIPELINE, '--cache', at('cache'), '--out', at('a-file')] }),
    exit: 2,
    code: 'REINGEST_E_USAGE',
  },
  {
    name: 'a manifest whose root is not the one published (`shards check --root`)',
    make: async () => ({ args: ['shards', 'check', at('out'), '--root', `sha256:${'0'.repeat(64)}`] }),
    exit: 1,
    code: 'REINGEST_E_MANIFEST_TAMPERED',
  },
  {
    name: 'a manifest edited after it was written (its root does not commit to its fields)',
    make: async (dir) => {
      const file = join(dir, 'manifest.json');
      await writeFile(file, JSON.stringify({ ...manifest, pipeline: { ...manifest.pipeline, name: 'forged' } }));
      return { args: ['attest', file, '--cache', at('cache')] };
    },
    exit: 1,
    code: 'REINGEST_E_MANIFEST_TAMPERED',
  },
  {
    name: 'a cache entry naming an object by a path that climbs out of the cache (refused, the task reruns)',
    make: async (dir) => {
      const { cache, store } = await cacheIn(dir);
      const entryFile = store.actionPath(digestHex(task('segment:0').key));
      const entry = JSON.parse(await readFile(entryFile, 'utf8')) as { edges: { recordIndex?: string }[] };
      entry.edges[1]!.recordIndex = 'sha256:/../../../victim';
      await writeFile(entryFile, JSON.stringify(entry));
      await writeFile(join(dir, 'victim'), 'do not touch\n');
      return { args: ['run', SAMPLE_PIPELINE, '--cache', cache, '--out', join(dir, 'out'), '--json'] };
    },
    exit: 0,
    code: null,
    check: async (t, r, dir) => {
      t.equal(runJson(r.stdout).root, SAMPLE_ROOT);
      t.match(r.stderr, /action entry refused; rerunning the task/);
      t.equal(await readFile(join(dir, 'victim'), 'utf8'), 'do not touch\n');
    },
  },
];

/** Runs the CLI; with a signal, sends it once stderr shows the command waiting. */
async function drive(m: Made): Promise<CliResult> {
  const { child, done } = startCli(m.args);
  const sig = m.signal;
  if (sig) {
    let seen = '';
    const onData = (d: Buffer) => {
      seen += d.toString();
      if (sig.when.test(seen)) {
        child.stderr!.off('data', onData);
        child.kill(sig.name);
      }
    };
    child.stderr!.on('data', onData);
  }
  return done;
}

const errorCode = (stderr: string) => /^reingest: (REINGEST_E_[A-Z_]+): /m.exec(stderr)?.[1] ?? null;

// Most of the time is each child's start-up (loading the TypeScript sources): run a few at once.
t.jobs = 4;
for (const c of CONDITIONS) {
  t.test(c.name, async (t) => {
    const dir = t.testdir();
    const m = await c.make(dir);
    const r = await drive(m);
    t.not(r.code, 70, 'not an internal error');
    t.notMatch(r.stderr, /internal error|This is a bug/);
    t.equal(r.code, c.exit, `exit status ${c.exit}\n${r.stderr}`);
    t.equal(errorCode(r.stderr), c.code, c.code ? `stderr names ${c.code}` : 'no error line');
    await c.check?.(t, r, dir);
    // Whatever a run met, the cache it leaves passes `cache verify`: damage it found was mended, not kept.
    const cache = m.args.indexOf('--cache');
    if (m.args[0] === 'run' && cache > 0 && existsSync(m.args[cache + 1]!)) {
      const v = await startCli(['cache', 'verify', '--cache', m.args[cache + 1]!]).done;
      t.equal(v.code, 0, `the cache passes cache verify afterwards\n${v.stdout}${v.stderr}`);
    }
  });
}
