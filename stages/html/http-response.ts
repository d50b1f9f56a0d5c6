/** The HTTP response inside a WARC `response` record: status, headers, payload. */
export interface HttpResponse {
  readonly status: number;
  readonly headers: readonly (readonly [string, string])[];
  readonly body: Buffer;
}

export function parseHttpResponse(block: Buffer): HttpResponse | null {
  let end = block.indexOf('\r\n\r\n');
  let sep = 4;
  const lf = block.indexOf('\n\n');
  if (end === -1 || (lf !== -1 && lf < end)) {
    end = lf;
    sep = 2;
  }
  if (end === -1) return null;
  const lines = block.toString('latin1', 0, end).split(/\r?\n/);
  const m = /^HTTP\/\d(?:\.\d)? (\d{3})/.exec(lines[0] ?? '');
  if (!m) return null;
  const headers: [string, string][] = [];
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(':');
    if (colon > 0) headers.push([line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim()]);
  }
  return { status: Number(m[1]), headers, body: block.subarray(end + sep) };
}

export function httpHeader(res: HttpResponse, name: string): string | undefined {
  return res.headers.find(([k]) => k === name)?.[1];
}
