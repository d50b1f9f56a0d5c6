import { type Digest } from '../cache/digest.ts';
import type { ObjectStore } from '../cache/store.ts';
import { isRefused, parseTaskResult, storedDigests } from './task-result.ts';

export interface EntryAudit {
  readonly checked: number;
  /** Entries the validator refuses (task-result.ts): removed, each with the reason. */
  readonly refused: readonly { readonly key: Digest; readonly problem: string }[];
  /** Entries naming objects the cache does not hold: removed, each with what is missing. */
  readonly dangling: readonly { readonly key: Digest; readonly missing: readonly Digest[] }[];
}

/**
 * `cache verify`'s second half: every action entry through the one validator, and every object it names
 * present. A lookup would treat either as a miss anyway; here they are named and removed.
 */
export async function auditEntries(store: ObjectStore): Promise<EntryAudit> {
  let checked = 0;
  const refused: { key: Digest; problem: string }[] = [];
  const dangling: { key: Digest; missing: Digest[] }[] = [];
  for await (const { hex } of store.listActions()) {
    const key: Digest = `sha256:${hex}`;
    const text = await store.readAction(hex);
    if (text === null) continue;
    checked++;
    const result = parseTaskResult(text, key);
    if (isRefused(result)) {
      refused.push({ key, problem: result.refused });
      await store.removeAction(hex);
      continue;
    }
    const missing: Digest[] = [];
    for (const d of storedDigests(result)) if (!(await store.has(d))) missing.push(d);
    if (missing.length > 0) {
      dangling.push({ key, missing });
      await store.removeAction(hex);
    }
  }
  return { checked, refused, dangling };
}
