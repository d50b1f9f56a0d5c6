/**
 * Canonical JSON: the only JSON that reingest hashes.
 * - object keys sorted by their UTF-8 bytes (code point order; never localeCompare),
 * - numbers must be safe integers (floats differ across printers and are refused),
 * - no insignificant whitespace, `undefined` members are dropped as JSON.stringify does.
 * JSON is self-delimiting, so the encoding is length-unambiguous.
 */
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json | undefined };

export class CanonicalJsonError extends Error {
  readonly code = 'REINGEST_E_CANONICAL_JSON';
}

export function canonicalJson(value: unknown): string {
  return encode(value, '$');
}

export function compareUtf8(a: string, b: string): number {
  // Comparing code points gives the same order as comparing UTF-8 bytes.
  const la = a.length;
  const lb = b.length;
  let i = 0;
  let j = 0;
  while (i < la && j < lb) {
    const ca = a.codePointAt(i)!;
    const cb = b.codePointAt(j)!;
    if (ca !== cb) return ca < cb ? -1 : 1;
    i += ca > 0xffff ? 2 : 1;
    j += cb > 0xffff ? 2 : 1;
  }
  return la - i === lb - j ? 0 : la - i < lb - j ? -1 : 1;
}

function encode(value: unknown, path: string): string {
  if (value === null) return 'null';
  switch (typeof value) {
    case 'boolean':
      return value ? 'true' : 'false';
    case 'string':
      return JSON.stringify(value);
    case 'number':
      if (!Number.isSafeInteger(value)) {
        throw new CanonicalJsonError(
          `Internal error: canonical JSON at ${path} expected a safe integer, got ${String(value)}; write non-integers as strings`,
        );
      }
      return Object.is(value, -0) ? '0' : String(value);
    case 'object': {
      if (Array.isArray(value)) {
        return `[${value.map((v, i) => encode(v, `${path}[${i}]`)).join(',')}]`;
      }
      const proto = Object.getPrototypeOf(value);
      if (proto !== Object.prototype && proto !== null) {
        throw new CanonicalJsonError(`Internal error: canonical JSON at ${path} expected a plain object, got ${proto?.constructor?.name}`);
      }
      const keys = Object.keys(value).filter((k) => (value as Record<string, unknown>)[k] !== undefined);
      keys.sort(compareUtf8);
      const parts = keys.map((k) => `${JSON.stringify(k)}:${encode((value as Record<string, unknown>)[k], `${path}.${k}`)}`);
      return `{${parts.join(',')}}`;
    }
    default:
      throw new CanonicalJsonError(`Internal error: canonical JSON at ${path} cannot encode a ${typeof value}`);
  }
}
