export { ERROR_CODES, EXIT, isErrorCode, isReingestError, ReingestError, unreachable, type ReingestErrorCode } from '../cache/errors.ts';
import { ReingestError } from '../cache/errors.ts';

/**
 * Thrown by a stage when the segment must be read again from the start (the source object changed while
 * it was streamed). The runner discards the partial work and reruns the chain a bounded number of times.
 */
export class RestartSegment extends ReingestError {
  constructor(message: string, where: string) {
    super('REINGEST_E_SOURCE_RESTART', message, { where });
  }
}
