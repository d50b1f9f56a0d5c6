import { v, type FetchStage } from '../runner/stage.ts';
import { openUrl } from './lib/open-url.ts';

export type HttpFetchParams = Record<string, never>;

export const httpFetch: FetchStage<HttpFetchParams> = {
  kind: 'fetch',
  name: 'http-fetch',
  version: '1',
  description: 'Streams one segment with a single whole-file GET from the mirror (or a file:// mirror).',
  parseParams(raw, field) {
    v.object(raw, field, []);
    return {};
  },
  open(segment, ctx) {
    return openUrl(new URL(segment.path, ctx.mirror), ctx.signal, ctx.log);
  },
};
