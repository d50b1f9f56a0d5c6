#!/usr/bin/env bash
# The build command that test/reprotest.test.ts hands to Debian's reprotest. It runs in reprotest's copy of
# the source tree (the current directory, which reprotest varies), with a fresh cache inside that tree
# (build-cache/; cache/ is a source folder), and writes to out/ what must be identical between builds:
#   out/files/...     everything the run wrote under --out, as written: manifest.json, text.jsonl, megatron/, llmc/
#   out/root.txt      the root digest printed by `reingest run --json`
# REPROTEST_BREAK=facts (for checking that the test can fail, and that reprotest's variations reach the
# process) also writes out/run-facts.json: the run record the cache kept (host, times, concurrency) plus
# what Node sees of the environment.
set -euo pipefail
rm -rf build-cache build-out out
mkdir -p out
node bin/reingest.mjs run pipelines/sample.ts --cache "$PWD/build-cache" --out "$PWD/build-out" --json >run.json
node -e '
const fs = require("node:fs");
const lines = fs.readFileSync("run.json", "utf8").trim().split("\n");
const { root } = JSON.parse(lines[lines.length - 1]);
fs.writeFileSync("out/root.txt", root + "\n");
'
cp -R build-out out/files
if [ "${REPROTEST_BREAK:-}" = facts ]; then
  node -e '
const fs = require("node:fs");
const os = require("node:os");
const dir = "build-cache/runs";
const run = JSON.parse(fs.readFileSync(`${dir}/${fs.readdirSync(dir)[0]}`, "utf8").trim().split("\n")[0]);
const { startedAt, host, concurrency } = run;
const seen = {
  runFacts: { startedAt, host, concurrency },
  day: new Date().toISOString().slice(0, 10),
  tzOffsetMin: new Date().getTimezoneOffset(),
  locale: Intl.DateTimeFormat().resolvedOptions().locale,
  umask: process.umask().toString(8),
  cwd: process.cwd(),
  home: os.homedir(),
  cpus: os.availableParallelism(),
  hostname: os.hostname(),
};
fs.writeFileSync("out/run-facts.json", JSON.stringify(seen, null, 2) + "\n");
'
fi
