import { htmlText } from '../stages/html-text.ts';
import { httpFetch } from '../stages/http-fetch.ts';
import { jsonl } from '../stages/jsonl.ts';
import { lengthFilter } from '../stages/length-filter.ts';
import { pathList } from '../stages/path-list.ts';
import { warcRecords } from '../stages/warc-records.ts';
import { definePipeline, output, step } from './define.ts';

/**
 * The embedded sample: 8 WARC files in 4 segments, laid out like Common Crawl under sample/ and served
 * on a loopback port during the run, so it goes through the same HTTP code as a real crawl.
 */
export default definePipeline({
  name: 'sample',
  description: 'Text from the embedded CC-SAMPLE crawl: WARC -> HTML text -> length filter -> JSONL',
  mirror: { localDir: '../sample' },
  source: step(pathList, {
    pathList: 'crawl-data/CC-SAMPLE/warc.paths.gz',
    sha256: 'sha256:0a07f22f34179306d999c6226ca616aab0b956fd03424e299fa3febdb18bd169',
  }),
  segment: [step(httpFetch), step(warcRecords), step(htmlText), step(lengthFilter, { minChars: 200 })],
  aggregate: [output('text.jsonl', jsonl, { fields: ['id', 'url', 'title', 'text', 'charset'] })],
});
