import { ReingestError, v, type ReingestErrorCode } from '../../runner/stage.ts';
import { applySelection, rangePastEnd, type Selection } from './selection.ts';

/**
 * What the list stages (a path listing, a zip of segments) share: an optional pin of the listing's sha256,
 * checked as soon as the bytes are in, and the selection applied to the entries, refusing ranges past the end.
 */
export function parsePin(raw: unknown, field: string): string | undefined {
  return v.optionalString(raw, field, { pattern: /^sha256:[0-9a-f]{64}$/, what: 'sha256:<64 hex digits>' });
}

export function checkPin(pin: string | undefined, digest: string, size: number, url: URL, what: string): void {
  if (pin !== undefined && pin !== digest) {
    throw new ReingestError(
      'REINGEST_E_PIN_MISMATCH',
      `${url.href}: the spec pins ${pin} but ${what} hashes to ${digest} (${size} bytes); the source changed or the mirror serves another file`,
      { where: url.href },
    );
  }
}

/** The selected entries of a listing of `total`; a range past its end fails with `code`, naming `where`. */
export function selectEntries(total: number, select: Selection, code: ReingestErrorCode, where: string): number[] {
  const past = rangePastEnd(total, select);
  if (past) throw new ReingestError(code, `${where}: ${past}`, { where });
  return applySelection(total, select);
}
