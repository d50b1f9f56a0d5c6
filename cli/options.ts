import { availableParallelism, homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { ReingestError } from '../runner/errors.ts';
import { closest } from '../runner/validate.ts';

export class UsageError extends ReingestError {
  constructor(message: string) {
    super('REINGEST_E_USAGE', message);
  }
}

type Options = NonNullable<ParseArgsConfig['options']>;

/** node:util parseArgs, with unknown flags reported as usage errors that suggest the closest valid flag. */
export function parse<O extends Options>(args: string[], options: O, command: string) {
  try {
    return parseArgs({ args, options, allowPositionals: true, strict: true });
  } catch (err) {
    const msg = (err as Error).message;
    const flag = /'(--?[A-Za-z0-9-]+)/.exec(msg)?.[1];
    const names = Object.keys(options).map((n) => `--${n}`);
    const hint = flag ? closest(flag, names) : undefined;
    // Node's own text for an unknown flag is long and about positionals; say it plainly.
    const plain = (err as { code?: string }).code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' && flag ? `unknown option ${flag}` : msg.replace(/\.$/, '');
    throw new UsageError(`${command}: ${plain}${hint ? `; ${hint}` : '.'} See \`reingest ${command} --help\``);
  }
}

/** Cache directory: --cache, then REINGEST_CACHE, then $XDG_CACHE_HOME/reingest, then ~/.cache/reingest. */
export function cacheDir(flag: string | undefined, env: NodeJS.ProcessEnv): string {
  if (flag) return resolve(flag);
  if (env.REINGEST_CACHE) return resolve(env.REINGEST_CACHE);
  return join(env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'reingest');
}

export function concurrency(flag: string | undefined): number {
  if (flag === undefined) return availableParallelism();
  if (!/^\d+$/.test(flag) || Number(flag) < 1 || Number(flag) > 1024) {
    throw new UsageError(`--concurrency: expected an integer from 1 to 1024, got ${JSON.stringify(flag)}`);
  }
  return Number(flag);
}
