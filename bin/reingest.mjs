#!/usr/bin/env node
// Registers tsx so that the TypeScript sources and typed pipeline modules load on Node 20 without a build step.
import { register } from 'tsx/esm/api';
import { unsupportedNode } from './node-check.mjs';

const range = unsupportedNode();
if (range !== null) {
  process.stderr.write(`reingest: REINGEST_E_USAGE: expected Node ${range} (package.json engines), got ${process.version}; install a supported Node (the CI matrix runs the lowest of each line)\n`);
  process.exit(2);
}
register();
const { main } = await import('../cli/main.ts');
const controller = new AbortController();
let signals = 0;
const onSignal = (sig) => {
  signals++;
  // First signal: stop cleanly (running stages see the AbortSignal, temp files are removed). Second: leave now.
  if (signals > 1) process.exit(130);
  process.stderr.write(`reingest: ${sig} received, stopping (send it again to exit at once)\n`);
  controller.abort(new Error(`interrupted by ${sig}`));
};
// `reingest warc ls x | head`: a closed stdout is the reader saying it has seen enough.
process.stdout.on('error', (err) => {
  if (err.code === 'EPIPE') process.exit(0);
  throw err;
});
process.on('SIGINT', onSignal);
process.on('SIGTERM', onSignal);
process.exitCode = await main(process.argv.slice(2), {
  stdout: process.stdout,
  stderr: process.stderr,
  env: process.env,
  signal: controller.signal,
});
