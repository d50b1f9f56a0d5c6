import { digestHex } from '../cache/digest.ts';
import type { Manifest } from './manifest.ts';

/**
 * An in-toto Statement v1 with a SLSA provenance v1 predicate: the subjects are the output files by
 * digest, the pinned inputs are the resolved dependencies, the run facts go in runDetails.
 * https://github.com/in-toto/attestation/blob/main/spec/v1/statement.md, https://slsa.dev/spec/v1.0/provenance
 */
export function attest(m: Manifest): object {
  const mirror = m.runFacts.mirror;
  const hex = (d: string) => digestHex(d as `sha256:${string}`);
  const started = Date.parse(m.runFacts.startedAt);
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
        internalParameters: { tool: m.tool },
        resolvedDependencies: [
          { name: m.inputs.listing.path, uri: new URL(m.inputs.listing.path, mirror).href, digest: { sha256: hex(m.inputs.listing.sha256) } },
          ...m.inputs.segments.map((s) => ({ name: s.path, uri: new URL(s.path, mirror).href, digest: { sha256: hex(s.sha256) }, annotations: { size: s.size, index: s.index } })),
        ],
      },
      runDetails: {
        builder: { id: `https://github.com/reingest/reingest@${m.tool.version}`, version: { reingest: m.tool.version, node: m.runFacts.node } },
        metadata: { invocationId: m.root, startedOn: m.runFacts.startedAt, finishedOn: new Date(started + m.runFacts.wallMs).toISOString() },
        byproducts: [{ name: 'root', digest: { sha256: hex(m.root) }, annotations: { tasks: m.tasks.length } }],
      },
    },
  };
}
