import type { StageRegistry } from '../runner/stage.ts';
import { htmlText } from './html-text.ts';
import { httpFetch } from './http-fetch.ts';
import { jsonl } from './jsonl.ts';
import { lengthFilter } from './length-filter.ts';
import { pathList } from './path-list.ts';
import { warcRecords } from './warc-records.ts';
import { zipEntries, zipEntry } from './zip-sources.ts';
import { langId } from './lang-id.ts';
import { c4Quality, finewebQuality, gopherQuality, gopherRepetition } from './quality-filters.ts';
import { pii } from './pii.ts';
import { dedup } from './dedup.ts';
import { tokenize } from './tokenize.ts';
import { tokenShards } from './token-shards.ts';

/** Every stage a spec may name. The CLI hands this to the runner; the runner itself names none. */
export const builtinStages = {
  [pathList.name]: pathList,
  [httpFetch.name]: httpFetch,
  [warcRecords.name]: warcRecords,
  [htmlText.name]: htmlText,
  [lengthFilter.name]: lengthFilter,
  [langId.name]: langId,
  [gopherQuality.name]: gopherQuality,
  [gopherRepetition.name]: gopherRepetition,
  [c4Quality.name]: c4Quality,
  [finewebQuality.name]: finewebQuality,
  [pii.name]: pii,
  [dedup.name]: dedup,
  [tokenize.name]: tokenize,
  [jsonl.name]: jsonl,
  [tokenShards.name]: tokenShards,
  [zipEntries.name]: zipEntries,
  [zipEntry.name]: zipEntry,
} satisfies StageRegistry;
