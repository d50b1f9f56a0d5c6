import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import t from 'tap';
import { parseAllDocuments } from 'yaml';
import { SAMPLE_ROOT } from './golden.ts';
import { ROOT, runCli, runJson, SAMPLE_PIPELINE } from './helpers.ts';

t.test('submit k8s: an Indexed Job over N shards and a merge Job on a shared volume', async (t) => {
  const r = await runCli(['submit', 'k8s', 'pipelines/sample.ts', '--shards', '7', '--image', 'registry.example/reingest:0.1', '--concurrency', '2']);
  t.equal(r.code, 0, r.stderr);
  const [shards, merge] = parseAllDocuments(r.stdout).map((d) => d.toJS());
  t.match(shards, {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { name: 'sample-shards' },
    spec: { completionMode: 'Indexed', completions: 7, parallelism: 7, template: { spec: { restartPolicy: 'Never' } } },
  });
  const c = shards.spec.template.spec.containers[0];
  t.match(c, { image: 'registry.example/reingest:0.1', args: ['run', 'pipelines/sample.ts', '--cache', '/cache', '--concurrency', '2', '--json'], env: [{ name: 'REINGEST_SHARDS', value: '7' }] });
  t.same(c.volumeMounts, [{ name: 'cache', mountPath: '/cache' }]);
  t.match(merge, { kind: 'Job', metadata: { name: 'sample-merge' }, spec: { completions: 1 } });
  t.same(merge.spec.template.spec.containers[0].args.slice(0, 2), ['merge', 'pipelines/sample.ts']);
  t.same(shards.spec.template.spec.volumes, [{ name: 'cache', persistentVolumeClaim: { claimName: 'sample-cache' } }], 'a PVC-backed cache volume in the pod spec');
  t.same(merge.spec.template.spec.volumes, shards.spec.template.spec.volumes, 'the same cache volume');
  t.same(Object.keys(shards.spec.template).sort(), ['spec'], 'nothing misplaced beside the pod spec');
});

t.test('submit slurm: an array of N shard tasks and a merge that waits for them (afterok)', async (t) => {
  const r = await runCli(['submit', 'slurm', 'pipelines/sample.ts', '--shards', '4', '--cache', '/shared/c']);
  t.equal(r.code, 0);
  t.match(r.stdout, /#SBATCH --array=0-3\n/);
  t.match(r.stdout, /sbatch --dependency=afterok:\$\{SLURM_ARRAY_JOB_ID\} .*\n\s+--wrap="npx reingest merge pipelines\/sample\.ts --cache \/shared\/c/);
  t.match(r.stdout, /\nnpx reingest run pipelines\/sample\.ts --cache \/shared\/c /);
  t.equal((await runCli(['submit', 'slurm', 'pipelines/sample.ts'])).code, 2, '--shards is required');
});

t.test('a real single-node Slurm cluster runs 4 shards and the merge: same root as one process', { skip: process.env.REINGEST_SLURM ? false : 'REINGEST_SLURM is not set (.ci/run starts Slurm and sets it)' }, async (t) => {
  const dir = t.testdir();
  await mkdir(join(dir, 'logs'));
  const job = (await runCli(['submit', 'slurm', SAMPLE_PIPELINE, '--shards', '4', '--concurrency', '1', '--cache', join(dir, 'cache'), '--out', join(dir, 'out'), '--logs', join(dir, 'logs')])).stdout;
  await writeFile(join(dir, 'job.sbatch'), job);
  const t0 = performance.now();
  const submitted = execFileSync('sbatch', ['--parsable', join(dir, 'job.sbatch')], { cwd: ROOT, encoding: 'utf8' }).trim();
  t.match(submitted, /^\d+/);
  for (let i = 0; i < 600; i++) {
    if (execFileSync('squeue', ['-h'], { encoding: 'utf8' }).trim() === '') break;
    await sleep(500);
  }
  const slurmMs = performance.now() - t0;
  const merged = (await readFile(join(dir, 'logs', 'sample-merge.log'), 'utf8')).trim();
  t.equal(runJson(merged).root, SAMPLE_ROOT);
  // For the record (not a timed assertion): the same work as one process, on the same machine, now.
  const t1 = performance.now();
  const single = await runCli(['run', SAMPLE_PIPELINE, '--cache', join(dir, 'single-cache'), '--out', join(dir, 'single-out'), '--json']);
  t.equal(runJson(single.stdout).root, SAMPLE_ROOT);
  t.comment(`wall time: Slurm array of 4 shards + merge (submit to queue empty, 0.5 s polling) ${(slurmMs / 1000).toFixed(1)} s; one process ${((performance.now() - t1) / 1000).toFixed(1)} s`);
  for (let k = 0; k < 4; k++) t.match(await readFile(join(dir, 'logs', `sample-shard-${k}.log`), 'utf8'), new RegExp(`"shard":\\{"index":${k},"count":4\\}`));
});
