import { ReingestError } from './errors.ts';
import type { SegmentPin } from './stage.ts';

/**
 * The runner's own bound on a pinned segment's raw bytes: the chunk that carries the stream past the pin's
 * size fails the segment before it goes downstream, and leaving the loop closes the stage's stream (which
 * ends its download). Fetch stages honour ctx.pin themselves and fail earlier with the URL; this holds for
 * one that does not, so no fetch stage can make a rerun read or store past what its manifest pins.
 */
export async function* capAtPin(src: AsyncIterable<Uint8Array>, pin: SegmentPin | undefined, path: string, stage: string): AsyncGenerator<Uint8Array> {
  if (!pin) return yield* src;
  let bytes = 0;
  for await (const chunk of src) {
    bytes += chunk.byteLength;
    if (bytes > pin.size) {
      throw new ReingestError(
        'REINGEST_E_PIN_MISMATCH',
        `segment ${path}: the manifest pins ${pin.sha256} (${pin.size} bytes), the fetch stage ${stage} delivered at least ${bytes} bytes and was stopped there; ` +
          'the mirror serves another file (or appends to it) — check the mirror, or rerun with another (--mirror)',
        { where: path },
      );
    }
    yield chunk;
  }
}
