import { htmlText } from '../stages/html-text.ts';
import { httpFetch } from '../stages/http-fetch.ts';
import { jsonl } from '../stages/jsonl.ts';
import { lengthFilter } from '../stages/length-filter.ts';
import { pathList } from '../stages/path-list.ts';
import { warcRecords } from '../stages/warc-records.ts';
import { definePipeline, output, step } from './define.ts';

/**
 * The WET variant: Common Crawl's own extracted text (`conversion` records, ~80 MB per file instead of
 * ~1.1 GB), for runs that do not need their own HTML extraction.
 *
 *   npx reingest run pipelines/cc-main-2025-18-wet.ts --segments 0..9
 */
export default definePipeline({
  name: 'cc-main-2025-18-wet',
  description: 'CC-MAIN-2025-18 WET conversion records -> length filter -> JSONL',
  mirror: { url: 'https://data.commoncrawl.org/' },
  source: step(pathList, { pathList: 'crawl-data/CC-MAIN-2025-18/wet.paths.gz', select: { ranges: ['0..9'] } }),
  segment: [step(httpFetch, { maxStreams: 2 }), step(warcRecords), step(htmlText), step(lengthFilter, { minChars: 200 })],
  aggregate: [output('text.jsonl', jsonl, { fields: ['id', 'url', 'text'] })],
});
