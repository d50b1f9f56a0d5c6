import { Slots } from '../../runner/stage.ts';

/**
 * The fallback cap on concurrent whole-file streams for code that runs without a run context (e.g.
 * `reingest warc ls URL`): one process-wide pool. Inside a run, http-fetch uses the run's shared slots
 * (ctx.acquire), which also hold across worker threads.
 */
const slots = new Slots();

export function acquireStreamSlot(max: number, signal: AbortSignal): Promise<() => void> {
  return slots.acquire('streams', max, signal);
}

export function activeStreams(): number {
  return slots.active('streams');
}
