#!/usr/bin/env bash
# The build command that test/reprotest.test.ts hands to Debian's reprotest. It runs in reprotest's copy of
# the source tree (the current directory, which reprotest varies), with a fresh cache inside that tree
# (build-cache/; cache/ is a source folder), and writes to out/ only what must be identical between builds:
#   out/files/...      the run's output files (text.jsonl, megatron/, llmc/)
#   out/root.txt       the root digest printed by `reingest run --json`
#   out/manifest.json  the manifest without runFacts (host, times, concurrency: facts about the run, never hashed)
# REPROTEST_BREAK=facts (for checking that the test can fail, and that reprotest's variations reach the
# process) also writes out/run-facts.json: the manifest's runFacts plus what Node sees of the environment.
set -euo pipefail
rm -rf build-cache build-out out
mkdir -p out/files
node bin/reingest.mjs run pipelines/sample.ts --cache "$PWD/build-cache" --out "$PWD/build-out" --json >run.json
node -e '
const fs = require("node:fs");
const lines = fs.readFileSync("run.json", "utf8").trim().split("\n");
const { root } = JSON.parse(lines[lines.length - 1]);
fs.writeFileSync("out/root.txt", root + "\n");
const m = JSON.parse(fs.readFileSync("build-out/manifest.json", "utf8"));
delete m.runFacts;
fs.writeFileSync("out/manifest.json", JSON.stringify(m, null, 2) + "\n");
'
for f in build-out/*; do
  [ "$(basename "$f")" = manifest.json ] || cp -R "$f" out/files/
done
if [ "${REPROTEST_BREAK:-}" = facts ]; then
  node -e '
const fs = require("node:fs");
const os = require("node:os");
const m = JSON.parse(fs.readFileSync("build-out/manifest.json", "utf8"));
const { startedAt, host, concurrency } = m.runFacts;
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
