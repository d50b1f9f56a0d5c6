import { digestHex } from '../cache/digest.ts';
import type { Manifest } from './manifest.ts';
import type { RunRecord } from './run-record.ts';

const COMMON_CRAWL = 'https://data.commoncrawl.org/';

/**
 * An in-toto Statement v1 with a SLSA provenance v1 predicate: the subjects are the output files by
 * digest, the pinned inputs are the resolved dependencies. The run that built it (the cache's run record,
 * when this machine has it) goes in runDetails: builder version, Node, times, mirror; without one, only
 * the manifest's facts are stated and the URIs name Common Crawl.
 * https://github.com/in-toto/attestation/blob/main/spec/v1/statement.md, https://slsa.dev/spec/v1.0/provenance
 */
export function attest(m: Manifest, run: RunRecord | undefined, toolVersion: string): object {
  const mirror = run?.mirror ?? COMMON_CRAWL;
  const hex = (d: string) => digestHex(d as `sha256:${string}`);
  const version = run?.tool.version ?? toolVersion;
  return {
    _type: 'https://in-toto.io/Statement/v1',
    // A compressed output's digest is of its uncompressed content, so the subject names that content.
    subject: m.outputs.map((o) =>
      o.compression === 'gzip'
        ? { name: o.file.replace(/\.gz$/, ''), digest: { sha256: hex(o.digest) }, annotations: { writtenAs: o.file, compression: 'gzip' } }
        : { name: o.file, digest: { sha256: hex(o.digest) } },
    ),
    predicateType: 'https://slsa.dev/provenance/v1',
    predicate: {
      buildDefinition: {
        buildType: 'https://github.com/reingest/reingest/buildtypes/pipeline/v1',
        externalParameters: { pipeline: m.pipeline },
        internalParameters: { tool: { name: 'reingest', version } },
        resolvedDependencies: [
          { name: m.inputs.listing.path, uri: new URL(m.inputs.listing.path, mirror).href, digest: { sha256: hex(m.inputs.listing.sha256) } },
          ...m.inputs.segments.map((s) => ({ name: s.path, uri: new URL(s.path, mirror).href, digest: { sha256: hex(s.sha256) }, annotations: { size: s.size, index: s.index } })),
        ],
      },
      runDetails: {
        builder: { id: `https://github.com/reingest/reingest@${version}`, version: { reingest: version, ...(run ? { node: run.node } : {}) } },
        metadata: {
          invocationId: m.root,
          ...(run ? { startedOn: run.startedAt, finishedOn: new Date(Date.parse(run.startedAt) + run.wallMs).toISOString() } : {}),
        },
        byproducts: [{ name: 'root', digest: { sha256: hex(m.root) }, annotations: { tasks: m.tasks.length } }],
      },
    },
  };
}
