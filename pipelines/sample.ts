import { htmlText } from '../stages/html-text.ts';
import { httpFetch } from '../stages/http-fetch.ts';
import { jsonl } from '../stages/jsonl.ts';
import { langId } from '../stages/lang-id.ts';
import { pathList } from '../stages/path-list.ts';
import { pii } from '../stages/pii.ts';
import { c4Quality, finewebQuality, gopherQuality, gopherRepetition } from '../stages/quality-filters.ts';
import { warcRecords } from '../stages/warc-records.ts';
import { dedup } from '../stages/dedup.ts';
import { tokenize } from '../stages/tokenize.ts';
import { tokenShards } from '../stages/token-shards.ts';
import { definePipeline, output, step } from './define.ts';

/**
 * The embedded sample: 8 WARC files in 4 segments, laid out like Common Crawl under sample/ and served
 * on a loopback port during the run, so it goes through the same HTTP code as a real crawl. The chain
 * follows FineWeb's order (extraction, language, Gopher repetition and quality, C4, FineWeb, PII); the
 * English-specific rules (stop words, C4's line rules) apply to English documents only, so the sample
 * keeps its other languages.
 */
export default definePipeline({
  name: 'sample',
  description: 'Text from the embedded CC-SAMPLE crawl: WARC -> HTML text -> language -> quality filters -> PII -> tokens -> dedup -> JSONL and token shards',
  mirror: { localDir: '../sample' },
  source: step(pathList, {
    pathList: 'crawl-data/CC-SAMPLE/warc.paths.gz',
    sha256: 'sha256:0a07f22f34179306d999c6226ca616aab0b956fd03424e299fa3febdb18bd169',
  }),
  segment: [
    step(httpFetch),
    step(warcRecords),
    step(htmlText),
    step(langId, { threshold: '0.65' }),
    step(gopherRepetition),
    step(gopherQuality, { onlyLanguages: ['en'] }),
    step(c4Quality, { onlyLanguages: ['en'], integers: { filterNoTerminalPunct: 0 } }),
    step(finewebQuality),
    step(pii),
    step(tokenize, { encoding: 'cl100k_base' }),
  ],
  global: [step(dedup)],
  aggregate: [
    output('text.jsonl', jsonl, { fields: ['id', 'url', 'title', 'text', 'charset', 'lang', 'langScore'] }),
    // The same documents as token shards for trainers: Megatron-LM .bin/.idx pairs and llm.c .bin files.
    output('megatron', tokenShards, { format: 'megatron', encoding: 'cl100k_base', shardTokens: 32768 }),
    output('llmc', tokenShards, { format: 'llmc', encoding: 'cl100k_base', shardTokens: 32768 }),
  ],
});
