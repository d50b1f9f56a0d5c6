// Plain JavaScript that any Node parses: it runs before the sources load, so an unsupported Node gets a
// message saying which Nodes are supported instead of a missing-API crash deep in a module.
import { readFileSync } from 'node:fs';

/** Whether `version` (e.g. "20.19.0") satisfies a range of the forms package.json uses: "^A.B.C || >=D.E.F". */
export function satisfies(version, range) {
  const v = parse(version);
  return range.split('||').some((part) => {
    const m = /^\s*(\^|>=)(\d+\.\d+\.\d+)\s*$/.exec(part);
    if (!m) throw new Error(`engines.node: expected "^X.Y.Z" or ">=X.Y.Z" alternatives, got ${JSON.stringify(part)}`);
    const min = parse(m[2]);
    return compare(v, min) >= 0 && (m[1] === '>=' || v[0] === min[0]);
  });
}

function parse(s) {
  const m = /^v?(\d+)\.(\d+)\.(\d+)/.exec(s);
  if (!m) throw new Error(`not a Node version: ${JSON.stringify(s)}`);
  return [Number(m[1]), Number(m[2]), Number(m[3])];
}

function compare(a, b) {
  for (let i = 0; i < 3; i++) if (a[i] !== b[i]) return a[i] - b[i];
  return 0;
}

/** The supported range from package.json's engines, or null when this Node is in it. */
export function unsupportedNode(version = process.versions.node) {
  const range = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')).engines.node;
  return satisfies(version, range) ? null : range;
}
