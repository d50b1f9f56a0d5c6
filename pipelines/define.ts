import type { AnyStage } from '../runner/stage.ts';
import type { MirrorSpec, OutputStepSpec, PipelineSpec, StepSpec } from '../runner/spec.ts';

type ParamsOf<S> = S extends { parseParams(raw: unknown, field: string): infer P } ? P : never;
type Loose<P> = { [K in keyof P]?: P[K] extends object ? Loose<P[K]> | P[K] : P[K] };

/**
 * Typed helpers so an editor checks a pipeline module. They produce plain data (stage names and params),
 * the same shape a JSON pipeline file has, and the loader validates both the same way.
 */
export function step<S extends AnyStage>(stage: S, params?: Loose<ParamsOf<S>>): StepSpec {
  return params === undefined ? { stage: stage.name } : { stage: stage.name, params };
}

export function output<S extends AnyStage & { kind: 'aggregate' | 'files' }>(file: string, stage: S, params?: Loose<ParamsOf<S>>): OutputStepSpec {
  return { ...step(stage, params), output: file };
}

export function definePipeline(spec: {
  name: string;
  description?: string;
  source: StepSpec;
  segment: readonly [fetch: StepSpec, decode: StepSpec, ...transforms: StepSpec[]];
  global?: readonly StepSpec[];
  aggregate: readonly OutputStepSpec[];
  mirror?: MirrorSpec;
}): PipelineSpec {
  return spec;
}
