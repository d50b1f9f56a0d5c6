import { isDigest, type Digest } from '../cache/digest.ts';
import type { Manifest } from './manifest.ts';
import { ReingestError } from './errors.ts';
import type { PipelineSpec } from './spec.ts';
import { array, object, string } from './validate.ts';

export interface SegmentPin {
  readonly sha256: Digest;
  readonly size: number;
}

/**
 * A manifest is enough to rerun its pipeline: it holds every stage with its version and params, the
 * listing's digest and every segment's digest. Rerunning one pins all of them, so bytes that moved
 * upstream fail the run by name instead of silently giving other data. Where they are fetched from is
 * the rerun's choice (--mirror, else the pipeline default): a manifest never names a mirror.
 */
export function specFromManifest(raw: Manifest): { spec: PipelineSpec; versions: Map<string, string>; pins: Map<string, SegmentPin>; listing: Digest } {
  const m = object(raw, 'manifest');
  const p = object(m.pipeline, 'manifest.pipeline');
  const versions = new Map<string, string>();
  const step = (s: unknown, field: string) => {
    const o = object(s, field);
    const stage = string(o.stage, `${field}.stage`);
    versions.set(stage, string(o.version, `${field}.version`));
    return o.output === undefined ? { stage, params: o.params } : { stage, params: o.params, output: string(o.output, `${field}.output`) };
  };
  const inputs = object(m.inputs, 'manifest.inputs');
  const listing = object(inputs.listing, 'manifest.inputs.listing');
  const listingDigest = string(listing.sha256, 'manifest.inputs.listing.sha256', { pattern: /^sha256:[0-9a-f]{64}$/ });
  const source = step(p.source, 'manifest.pipeline.source');
  const pins = new Map<string, SegmentPin>();
  array(inputs.segments, 'manifest.inputs.segments').forEach((s, i) => {
    const o = object(s, `manifest.inputs.segments[${i}]`);
    const sha = o.sha256;
    if (!isDigest(sha) || typeof o.size !== 'number') throw new ReingestError('REINGEST_E_MANIFEST', `manifest.inputs.segments[${i}]: expected sha256 and size, got ${JSON.stringify(o).slice(0, 200)}`);
    pins.set(string(o.path, `manifest.inputs.segments[${i}].path`), { sha256: sha, size: o.size });
  });
  const spec: PipelineSpec = {
    name: string(p.name, 'manifest.pipeline.name'),
    source: { stage: source.stage, params: source.params },
    segment: array(p.segment, 'manifest.pipeline.segment').map((s, i) => step(s, `manifest.pipeline.segment[${i}]`)),
    ...(p.global === undefined ? {} : { global: array(p.global, 'manifest.pipeline.global').map((s, i) => step(s, `manifest.pipeline.global[${i}]`)) }),
    aggregate: array(p.aggregate, 'manifest.pipeline.aggregate').map((s, i) => step(s, `manifest.pipeline.aggregate[${i}]`) as { stage: string; params: unknown; output: string }),
  };
  return { spec, versions, pins, listing: listingDigest as Digest };
}
