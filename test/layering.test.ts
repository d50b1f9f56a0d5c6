import { readdir, readFile } from 'node:fs/promises';
import { join, relative, resolve, dirname } from 'node:path';
import t from 'tap';
import { ROOT } from './helpers.ts';

/**
 * Imports point one way: cli -> runner -> cache; pipelines -> stages -> runner/stage.ts only.
 * Nothing imports back, and the runner names no stage.
 */
async function sources(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(join(ROOT, dir), { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...(await sources(p)));
    else if (e.name.endsWith('.ts')) out.push(p);
  }
  return out;
}

async function importsOf(file: string): Promise<string[]> {
  const text = await readFile(join(ROOT, file), 'utf8');
  const specs = [...text.matchAll(/^\s*(?:import|export)\b[^'"]*?from\s+'([^']+)'|^\s*import\s+'([^']+)'|import\(\s*'([^']+)'\s*\)/gm)].map((m) => m[1] ?? m[2] ?? m[3]!);
  return specs.filter((s) => s.startsWith('.')).map((s) => relative(ROOT, resolve(ROOT, dirname(file), s)));
}

const RULES: Record<string, (target: string) => boolean> = {
  cache: (to) => to.startsWith('cache/'),
  runner: (to) => to.startsWith('runner/') || to.startsWith('cache/'),
  stages: (to) => to.startsWith('stages/') || to === 'runner/stage.ts',
  pipelines: (to) => to.startsWith('pipelines/') || to.startsWith('stages/') || to === 'runner/stage.ts' || to === 'runner/spec.ts',
  cli: (to) => !to.startsWith('test/') && !to.startsWith('pipelines/'),
};

t.test('imports point one way', async (t) => {
  let checked = 0;
  const violations: string[] = [];
  for (const [layer, allowed] of Object.entries(RULES)) {
    for (const file of await sources(layer)) {
      for (const target of await importsOf(file)) {
        checked++;
        if (!allowed(target)) violations.push(`${file} -> ${target}`);
      }
    }
  }
  t.ok(checked > 50, `${checked} imports checked`);
  t.same(violations, []);
});

t.test('the runner names no stage', async (t) => {
  const { builtinStages } = await import('../stages/index.ts');
  const stageNames = Object.keys(builtinStages);
  const mentions: string[] = [];
  for (const file of await sources('runner')) {
    const text = await readFile(join(ROOT, file), 'utf8');
    for (const name of stageNames) if (text.includes(`'${name}'`)) mentions.push(`${file}: ${name}`);
  }
  t.same(mentions, []);
});
