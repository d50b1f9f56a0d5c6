import { isDigest, type Digest } from '../cache/digest.ts';
import { canonicalJson } from './canonical-json.ts';
import { ReingestError } from './errors.ts';
import { edge, lookup, record, stageContext, type ExecEnv } from './exec-common.ts';
import { listPreimage } from './keys.ts';
import type { ResolvedPipeline } from './spec.ts';
import type { ListOutput, ListStage } from './stage.ts';
import type { TaskResult } from './task-result.ts';

export interface ListOutcome {
  readonly result: TaskResult;
  readonly list: ListOutput;
  readonly cached: boolean;
}

/** Resolves the source into segments. Its output (the selection) is a stored object, so plans work offline. */
export async function runList(env: ExecEnv, p: ResolvedPipeline, signal: AbortSignal): Promise<ListOutcome> {
  const pre = listPreimage(p.source);
  const id = 'list';
  const look = await lookup(env, pre);
  if (look.hit) {
    const list = await readList(env, look.hit.output.digest, signal);
    // The pin is not key material (adding one must not rerun anything), so a hit must be checked against it.
    const pin = (p.source.stage as ListStage).pinnedListing?.(p.source.params);
    if (pin !== undefined && pin !== list.listing.sha256) {
      throw new ReingestError(
        'REINGEST_E_PIN_MISMATCH',
        `${list.listing.path}: the spec pins ${pin} but the listing (as fetched earlier and cached) hashes to ${list.listing.sha256} (${list.listing.size} bytes); fix the pin, or the source changed since`,
        { where: list.listing.path },
      );
    }
    env.emit({ type: 'task-cached', id, key: look.key });
    return { result: look.hit, list, cached: true };
  }
  env.emit({ type: 'task-start', id });
  const ctx = stageContext(env, p.source, signal);
  const list = await (p.source.stage as ListStage).list(ctx);
  const stored = await env.store.putBytes(Buffer.from(canonicalJson(list), 'utf8'));
  const result: TaskResult = {
    schema: 'reingest-action/1',
    key: look.key,
    preimage: pre,
    edges: [
      edge(p.source.stage.name, list.listing.sha256 as Digest, list.listing.size, false),
      edge(p.source.stage.name, stored.digest, stored.size, true, { records: list.segments.length, counters: ctx.counters.toJSON() }),
    ],
    output: edge(p.source.stage.name, stored.digest, stored.size, true, { records: list.segments.length }),
  };
  await record(env, result, id);
  env.emit({ type: 'task-done', id, key: look.key, bytesIn: list.listing.size });
  return { result, list, cached: false };
}

async function readList(env: ExecEnv, d: Digest, signal: AbortSignal): Promise<ListOutput> {
  const list = JSON.parse((await env.store.readAll(d, signal)).toString('utf8')) as ListOutput;
  if (!isDigest(list.listing?.sha256) || !Array.isArray(list.segments)) throw new Error(`Internal error: stored list ${d} has an unexpected shape`);
  return list;
}
