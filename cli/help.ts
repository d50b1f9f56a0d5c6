export const HELP: Record<string, string> = {
  main: `reingest — regenerate training data from public crawls, reproducibly

Usage: reingest <command> [options]

Commands:
  init <name>           write a commented pipeline file (the sample's recipe) to start from
  run <pipeline>        run a pipeline, write its outputs and manifest, print the root digest;
                        a manifest.json in place of the pipeline reruns it with every input pinned
  plan <pipeline>       show the task DAG: ids, keys, and whether each is cached
  cache verify          re-hash every cached object; quarantine corrupt ones
  cache gc --keep M     drop cache entries that no kept manifest references
  cache ls              list cached objects and action entries
  warc ls <file|url>    list a WARC file's records: offsets, types, URIs, digest verdicts
  merge <pipeline>      after every shard ran: whole-run steps and aggregates, the manifest and root
  status <pipeline>     which shards of an N-way split are done (--shards N)
  submit slurm|k8s <pipeline> --shards N
                        an sbatch array script (+ merge afterok) or an Indexed Job + merge Job
  verify <manifest>     rebuild from the manifest alone (all or --sample N segments) and compare
  compare <a> <b>       where two manifests diverge (stage, segment), without running anything
  proof <manifest> --task T --record N
                        one record with its Merkle audit path; \`proof check P --manifest M\` checks it
  exclusions <manifest> every dropped document with its stage and reason, as JSON lines
                        (--stage S, --reason R to narrow)
  attest <manifest>     an in-toto Statement v1 with a SLSA provenance v1 predicate, on stdout
  report <manifest>     one self-contained HTML page: DAG, document funnel, languages, tokens per
                        shard, time per stage, pinned inputs, outputs (-o FILE)
  tokenize --encoding E UTF-8 text on stdin -> token ids (JSON array), same ids as tiktoken
  shards check DIR      re-hash output files (token shards) against the manifest (--manifest M)

Global options:
  --cache DIR           cache directory (default $REINGEST_CACHE, else $XDG_CACHE_HOME/reingest)
  --log-level LEVEL     pino level for the JSON logs on stderr (default warn)
  --json                one JSON object on stdout instead of text
  --debug               show stack traces for errors
  -h, --help            help for a command;  --version  the tool version

Exit status: 0 success, 1 the command failed (a typed error, printed with its REINGEST_E_ code),
2 bad usage, 70 internal error (a bug: please report it with --debug output), 130 interrupted.

Examples:
  reingest run pipelines/sample.ts
  reingest run pipelines/sample.ts --concurrency 1 --out out/sample-c1 --json
  reingest plan pipelines/sample.ts
  reingest cache verify
  reingest cache gc --keep out/sample/manifest.json
`,
  run: `reingest run <pipeline> [options]

Runs every task not already cached, then writes the outputs and manifest.json under --out,
and prints the root digest. Rerunning is cheap: finished tasks are cache hits, so an interrupted
run resumes where it stopped. The root digest does not depend on --concurrency or cache state.

Options:
  --concurrency N       tasks at once (default: number of cores)
  --workers N|auto      run segment chains on N worker threads (auto: one per --concurrency slot), so
                        CPU-bound stages use every core; same root as without
  --mirror URL|DIR      fetch source paths from here instead of the spec's mirror (never hashed)
  --segments SEL        which listed files to take: "0..9", "0..9,100..109", "every=1000",
                        "sample=5,seed=7", "start=3,every=10,count=4" (part of the list task's key)
  --out DIR             where outputs and manifest.json go (default out/<pipeline name>)
  --cache DIR           cache directory
  --json                print {"root","manifest","tasksRun","tasksCached"} on stdout
  --quiet               no progress display (it only shows on a TTY anyway)
  --events FILE         append one JSON line per task event (task-start, task-cached, task-done with
                        per-stage ms, task-retry with attempt, waitMs and reason, task-failed) to FILE;
                        its folder is made if missing (a directory named as FILE is a usage error)
  --shuffle SEED        start ready tasks in a seeded random order (checks that the root does not
                        depend on task completion order)
  --remote-cache URL    also use a shared HTTP cache (Bazel layout: URL/ac/<key>, URL/cas/<sha256>;
                        nginx WebDAV, bazel-remote); every download is re-hashed, entries are
                        create-only; default $REINGEST_REMOTE_CACHE. Its entries count only when signed
                        by a trusted key (else a miss and a warning):
  --remote-cache-key FILE  sign this node's uploads with FILE (\`reingest cache keygen FILE\`) and trust
                        its signatures; the nodes of one cluster share it; default $REINGEST_REMOTE_CACHE_KEY
  --trusted-keys FILE   also trust the public keys in FILE (one ed25519:... a line, from FILE.pub);
                        default $REINGEST_TRUSTED_KEYS
  --trust-remote        believe unsigned entries too: whoever can write to the remote decides the data
  --shard K/N           run only shard K of N into the shared cache: the segments at list positions p
                        with p mod N = K, positions counted in the list --segments selected (not
                        listing indexes); also read from SLURM_ARRAY_TASK_ID/SLURM_ARRAY_TASK_COUNT, or
                        JOB_COMPLETION_INDEX with REINGEST_SHARDS; then \`reingest merge\` (status and
                        merge read the --segments and N the shards ran with from the cache)
  --log-level LEVEL     fatal|error|warn|info|debug|trace|silent (default warn)

Examples:
  reingest run pipelines/sample.ts
  reingest run pipelines/sample.ts --concurrency 1 --json
  REINGEST_CACHE=/shared/cache reingest run pipelines/sample.json --out /data/sample
  reingest run out/sample/manifest.json --out /tmp/rebuild     # rebuild from the manifest alone
  reingest run manifest.json --mirror https://data.commoncrawl.org/
`,
  plan: `reingest plan <pipeline> [options]

Prints the DAG: one line per task with its id, kind, key and cache state. Only the path listing
is fetched (and cached). A chain key shows "pending" until its segment's bytes have been hashed once.

Options:
  --cache DIR   --mirror URL|DIR   --json   --log-level LEVEL

Example:
  reingest plan pipelines/sample.ts
`,
  cache: `reingest cache <verify|gc|ls|keygen> [options]

  verify                re-hashes every object; corrupt ones are moved to <cache>/corrupt/ and named.
                        Then checks every action entry: refused ones (runner/task-result.ts) and dangling
                        ones (naming an object the cache lacks) are named and removed.
                        Exit 1 if anything was corrupt, refused or dangling.
  gc --keep M [--keep M2 ...] [--dry-run] [--grace SECONDS]
                        removes action entries, then objects, that none of the kept manifests references
                        and that nothing wrote or used (a cache hit) within the grace period (default 3600
                        s), and temp files older than it: safe beside running runs (with no run going on,
                        --grace 0 removes everything unreferenced).
  ls                    lists objects (digest, size) and the number of action entries.
  keygen FILE           a new Ed25519 key for signing remote cache entries: the private key in FILE
                        (mode 0600, never overwritten), its public key in FILE.pub, also printed.

Options:
  --cache DIR   --json   --log-level LEVEL

Examples:
  reingest cache verify --json
  reingest cache gc --keep out/sample/manifest.json --dry-run
`,
  proof: `reingest proof <manifest> --task TASK --record N [--cache DIR]
reingest proof check <proof.json> --manifest M [--json]

The first prints record N of a task's output (a segment chain "segment:I", or "apply:G:I" after a whole-run
step) with its frame and the audit path from it to that output's recordsRoot in the manifest, read from
the cache that made the run. The second checks such a proof against a manifest alone: no cache, no other
record needed. It checks the frame's audit path to the records root, the task, stage, count and index
against the manifest, and every field of the readable "record" against the decoded frame; a failure names
the field (e.g. record.text). On success it prints the frame's url and id, not the proof's "record".
Exit status of check: 0 the record is in the manifest, 1 it is not, or a field of the proof is missing or
ill-typed (REINGEST_E_PROOF names it).

Example:
  reingest proof out/sample/manifest.json --task segment:3 --record 5 > p.json
  reingest proof check p.json --manifest out/sample/manifest.json
`,
  exclusions: `reingest exclusions <manifest> [--stage S] [--reason R] [--cache DIR]

Prints every document the run dropped, one JSON line each, in the manifest's order (task, then stage, then
the order the stage dropped them): {"task","segment","stage","reason","id","url"} — id is the WARC-Record-ID,
url the page's. Read from the cache that made the run; every list is re-hashed against the digest the
manifest records for it (an edge's "exclusions") before the first line is printed, so a missing or corrupt
one prints nothing (exit 1). A count per stage/reason goes to stderr. WARC records
that never were documents (requests, metadata, non-HTML responses) are counted in the manifest, not listed.

Examples:
  reingest exclusions out/sample/manifest.json --stage gopher-quality | head
  reingest exclusions out/sample/manifest.json --reason near-duplicate | wc -l
`,
  init: `reingest init <name> [--dir DIR]

Writes DIR/<name>.ts (.mts outside the reingest folder; DIR defaults to ./pipelines if it exists,
else .): the sample's recipe with a
comment on every step, importing this installation's stages. \`reingest plan\` and \`reingest run\`
accept it unchanged; it reads the embedded sample until you point its mirror and path list at a crawl.
Never overwrites a file.

Example:
  reingest init my-crawl && reingest plan pipelines/my-crawl.ts
`,
  report: `reingest report <manifest.json> [-o report.html]

Writes one HTML file that works offline (no scripts, no downloads): the pipeline as a diagram, the
document funnel (records after each stage, drops by reason), the language distribution, tokens per
shard, the root digest, pinned inputs and outputs, and time and throughput per stage from the run
record of the run that computed the data (kept in --cache under the root; a cached rerun does not
replace it; a dataset built elsewhere has none). Default output: report.html beside the manifest;
-o FILE names another file (its folder is made if missing).

Example:
  reingest report out/sample/manifest.json -o /tmp/sample-report.html
`,
  tokenize: `reingest tokenize [--encoding NAME]

Reads UTF-8 text on stdin and prints its token ids as one JSON array, for spot checks against other
tokenizers. Special-token strings in the text are ordinary text; no end-of-text token is added.
Encodings: cl100k_base (default), o200k_base, p50k_base, r50k_base, gpt2. The ranks come from the installed
tiktoken package and are checked against the sha256 of OpenAI's published .tiktoken file.

Example:
  printf 'hello world' | reingest tokenize --encoding o200k_base
`,
  shards: `reingest shards check DIR [--manifest M] [--root R] [--json]

Re-hashes every output file that the manifest lists under DIR and compares it with the manifest:
prints ok, differs (with both digests), missing, or not-in-manifest per file, then rebuilds each output
folder's files index from the bytes on disk and compares it with its aggregate task's committed output.
The manifest is refused unless its root commits to all of it; --root R (the published root) refuses a
manifest with another root. DIR is a run's --out directory or one output directory inside it (e.g.
out/sample/megatron); the manifest defaults to DIR/manifest.json. Compressed outputs (.gz) are hashed
uncompressed, as the manifest records them. Exit status 0 when every check matches, 1 otherwise.

Example:
  reingest shards check out/sample/megatron --manifest out/sample/manifest.json
`,
  warc: `reingest warc ls <file|url> [--json] [--strict] [--max-record-bytes N]

Lists the records of a WARC file (per-record gzip, whole-file gzip or plain; sniffed by magic bytes):
the gzip member offset and length of each record (what a CDX index holds), its WARC-Type, target URI,
record id, block and payload digest verdicts (ok, mismatch, absent, ...) and flags (content-length-too-
small, content-length-too-large, oversize, ...). Bytes that are not a record (junk between gzip members
or records, trailing garbage) are skipped up to the next gzip member or WARC/ version line and listed
after the records with their offset and length (kinds skipped-bytes, trailing-garbage,
skipped-inflated-bytes); with --json the last line is {"summary": {records, flaggedRecords, findings:
[{kind, offset, length}], notes}}. URLs are streamed once with the same polite, resumable client a run
uses. A summary goes to stderr.
--strict exits 1 (REINGEST_E_WARC_FINDINGS) if any bytes were skipped or any record is flagged; digest
mismatches are verdicts, not findings.

Examples:
  reingest warc ls CC-MAIN-20250421213427-20250422003427-00000.warc.gz
  reingest warc ls https://data.commoncrawl.org/crawl-data/CC-MAIN-2025-18/segments/.../x.warc.gz --json
  reingest warc ls x.warc.gz --json --strict | tail -1
`,
  verify: `reingest verify <manifest> [--sample N --seed S] [--json] [--cache DIR] [--mirror URL|DIR]
                        [--reference-cache DIR]

Rebuilds from the manifest alone — its stages, versions and params, with the listing and every segment
digest pinned — into an empty temporary cache (so nothing is taken on trust), then compares every task's
field with the manifest — the recipe, the pinned inputs, every task's key and inputs, every edge's digest,
record count, records root and counters, every output — in DAG order, and names the first divergence:
the task, segment, stage and field, and whether its inputs already differed (upstream) or matched
(nondeterministic). A manifest whose root does not commit to its fields is refused before any rebuild.
A manifest never names a mirror: sources come from Common Crawl, the embedded sample's from the
package's sample/ folder, or --mirror.
--sample N rebuilds N segment chains chosen by the seed: cost O(N), not O(crawl).
--reference-cache DIR (the publisher's cache, or a copy) lets it narrow the first divergence down to the
record: record number and byte offset in that stage's stream, via the per-record Merkle indexes.

Exit status is a bitmask, one bit per kind of divergence: 1 a source moved (bytes differ from a pinned
digest); 2 a nondeterministic stage (same key and inputs, another edge, counter or output); 4 a task or
input is missing or unreachable; 8 the recipe differs; 16 a manifest cannot be read; 32 a manifest is
tampered (its root does not commit to its fields, or outputs[] or keyParams disagree with what they
derive from); 0 when everything matches.

Examples:
  reingest verify out/sample/manifest.json
  reingest verify manifest.json --sample 5 --seed 7 --json
`,
  compare: `reingest compare <a.json> <b.json> [--json] [--cache DIR]...

The same report as verify, for two existing manifests, without running anything. Exit status as verify.
With --cache (once or twice: the caches that made a and b), the first divergence is narrowed to the
record through the per-record Merkle indexes the manifests reference.

Example:
  reingest compare published/manifest.json out/sample/manifest.json
`,
  attest: `reingest attest <manifest> [--out DIR] [--cache DIR]

Prints an in-toto Statement v1 whose subjects are the files under --out (default: the manifest's folder)
by the sha256 of their bytes, and whose SLSA provenance v1 predicate lists the pinned inputs as
resolvedDependencies. The manifest does not commit to a .gz file's bytes (zlib differs between Node
versions), so each is hashed from --out, and must inflate to the content the manifest records (its digest
and size are the subject's annotations). Dependency URIs are Common Crawl's URLs, pkg:npm/reingest#sample/…
for the embedded sample, none for other sources: never a mirror or a local path. runDetails names the
builder version, Node version and times of the run that computed the data, from its run record in
--cache; without one only the root is stated. The same manifest, run record and files give the same
statement on any machine, from any folder.

Example:
  reingest attest out/sample/manifest.json > statement.json
  reingest attest published/manifest.json --out downloads/sample > statement.json
`,
  merge: `reingest merge <pipeline> [--cache DIR] [--out DIR] [--segments SEL] [--shards N] [--json] [--remote-cache URL ...]

Run after every shard of a split (\`reingest run --shard K/N\`) finished into the shared cache: every
segment chain must be a cache hit (a missing one is named, with what to do); the whole-run steps (dedup)
and aggregates run here, and the manifest's root equals a single-machine run's.
The shards' markers record the --segments they ran with: merge takes it from them. --segments or
--shards given must be what the shards ran with (else a usage error saying what they ran with); they
are needed only to pick one when the cache holds shards of several selections of this pipeline.

Example:
  for k in 0 1 2; do reingest run pipelines/sample.ts --shard $k/3 --cache /shared/c; done
  reingest merge pipelines/sample.ts --cache /shared/c
`,
  status: `reingest status <pipeline> [--shards N] [--segments SEL] [--cache DIR] [--json]

Which shards of an N-way split have published their results to the cache. Exit 1 while some are missing.
The shards' markers record the --segments and the shard count they ran with: status takes both from
them. Flags given must agree with the markers (else a usage error saying what the shards ran with); they
are needed only to pick a split when the cache holds several of this pipeline, or, before any shard has
finished, to say N. --json prints {"shards","segments","done","missing"}.

Example:
  reingest status pipelines/sample.ts --shards 7 --cache /shared/c
`,
  submit: `reingest submit slurm|k8s <pipeline> --shards N [--cache DIR] [--out DIR] [--image IMG] [--concurrency C]

Prints job definitions that run the pipeline as N shards into one shared cache, then a merge:
  slurm  an sbatch script: an N-task array (SLURM_ARRAY_TASK_ID/COUNT pick the shard) whose first task
         queues the merge with --dependency=afterok on the array
  k8s    an Indexed Job (completionMode Indexed, JOB_COMPLETION_INDEX + REINGEST_SHARDS) and a merge Job,
         sharing a PersistentVolumeClaim named <pipeline>-cache mounted at /cache

Examples:
  reingest submit slurm pipelines/cc-main-2025-18.ts --shards 1000 --cache /shared/reingest > job.sbatch && sbatch job.sbatch
  reingest submit k8s pipelines/cc-main-2025-18.ts --shards 1000 --image registry.example/reingest:0.1 > job.yaml
`,
};
