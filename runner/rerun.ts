import type { Manifest, StepIdentity } from './manifest.ts';
import type { PipelineSpec } from './spec.ts';
import type { SegmentPin } from './stage.ts';

/**
 * A manifest is enough to rerun its pipeline: it holds every stage with its version and params, the
 * listing's digest and every segment's digest. Rerunning one pins all of them, so bytes that moved
 * upstream fail the run by name instead of silently giving other data. Where they are fetched from is
 * the rerun's choice (--mirror, else the pipeline default): a manifest never names a mirror. The manifest
 * was validated by parseManifest (manifest-read.ts); this only maps it.
 */
export function specFromManifest(m: Manifest): { spec: PipelineSpec; versions: Map<string, string>; pins: Map<string, SegmentPin> } {
  const versions = new Map<string, string>();
  const step = (s: StepIdentity) => {
    versions.set(s.stage, s.version);
    return { stage: s.stage, params: s.params };
  };
  const p = m.pipeline;
  const spec: PipelineSpec = {
    name: p.name,
    source: step(p.source),
    segment: p.segment.map(step),
    global: p.global.map(step),
    aggregate: p.aggregate.map((s) => ({ ...step(s), output: s.output })),
  };
  const pins = new Map(m.inputs.segments.map((s) => [s.path, { sha256: s.sha256, size: s.size }] as const));
  return { spec, versions, pins };
}
