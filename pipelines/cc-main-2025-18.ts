import { htmlText } from '../stages/html-text.ts';
import { httpFetch } from '../stages/http-fetch.ts';
import { jsonl } from '../stages/jsonl.ts';
import { lengthFilter } from '../stages/length-filter.ts';
import { pathList } from '../stages/path-list.ts';
import { warcRecords } from '../stages/warc-records.ts';
import { definePipeline, output, step } from './define.ts';

/**
 * Text from Common Crawl's CC-MAIN-2025-18 WARC files, streamed from data.commoncrawl.org.
 *
 *   npx reingest run pipelines/cc-main-2025-18.ts --segments 0..9      # ten ~1.1 GB files (needs internet)
 *   npx reingest run pipelines/cc-main-2025-18.ts --mirror https://my-proxy.example/ --segments sample=5,seed=1
 *
 * The listing is not pinned here (no copy of it was at hand when this was written); the first run records
 * its sha256 and every segment's in the manifest, and `reingest run manifest.json` reruns with all of them pinned.
 */
export default definePipeline({
  name: 'cc-main-2025-18',
  description: 'CC-MAIN-2025-18 WARC -> HTML text -> length filter -> JSONL',
  mirror: { url: 'https://data.commoncrawl.org/' },
  source: step(pathList, { pathList: 'crawl-data/CC-MAIN-2025-18/warc.paths.gz', select: { ranges: ['0..9'] } }),
  segment: [step(httpFetch, { maxStreams: 2 }), step(warcRecords), step(htmlText), step(lengthFilter, { minChars: 200 })],
  aggregate: [output('text.jsonl', jsonl, { fields: ['id', 'url', 'title', 'text', 'charset'] })],
});
