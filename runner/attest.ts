import { digestHex, type Digest } from '../cache/digest.ts';
import type { Manifest, ManifestOutput } from './manifest.ts';
import type { RunRecord } from './run-record.ts';

const COMMON_CRAWL = 'https://data.commoncrawl.org/';
/** The embedded sample: Common Crawl's layout under a crawl name Common Crawl does not have. */
const SAMPLE_CRAWL = 'crawl-data/CC-SAMPLE/';

/**
 * Where an input lives for anyone, whatever mirror or machine a run read it from: Common Crawl's URL for a
 * path of its layout, the file in the reingest package for the embedded sample (no version: the manifest
 * records none, and the digest pins the bytes), and none for other sources (a zip archive or an entry of
 * one, on the publisher's own mirror), which the name and digest identify.
 */
export function dependencyUri(path: string): string | undefined {
  if (path.includes('!/')) return undefined;
  if (path.startsWith(SAMPLE_CRAWL)) return `pkg:npm/reingest#sample/${path.split('/').map(encodeURIComponent).join('/')}`;
  if (path.startsWith('crawl-data/')) return new URL(path, COMMON_CRAWL).href;
  return undefined;
}

/**
 * An in-toto Statement v1 with a SLSA provenance v1 predicate: the subjects are the files under --out by
 * the digest of their bytes, the pinned inputs are the resolved dependencies. The manifest does not commit
 * to a compressed file's bytes (zlib builds differ), so `written` gives the sha256 of each as found on disk,
 * by its `file`. The run that built it (the cache's run record, when this machine has it) goes in
 * runDetails: builder version, Node, times; without one, only the manifest's facts are stated. Nothing in
 * the statement names a local path, so the same manifest, run record and files give the same bytes anywhere.
 * https://github.com/in-toto/attestation/blob/main/spec/v1/statement.md, https://slsa.dev/spec/v1.0/provenance
 */
export function attest(m: Manifest, run: RunRecord | undefined, toolVersion: string, written: ReadonlyMap<string, Digest>): object {
  const version = run?.tool.version ?? toolVersion;
  return {
    _type: 'https://in-toto.io/Statement/v1',
    subject: m.outputs.map((o) => subjectOf(o, written)),
    predicateType: 'https://slsa.dev/provenance/v1',
    predicate: {
      buildDefinition: {
        buildType: 'https://github.com/reingest/reingest/buildtypes/pipeline/v1',
        externalParameters: { pipeline: m.pipeline },
        internalParameters: { tool: { name: 'reingest', version } },
        resolvedDependencies: [
          dependency(m.inputs.listing.path, m.inputs.listing.sha256),
          ...m.inputs.segments.map((s) => ({ ...dependency(s.path, s.sha256), annotations: { size: s.size, index: s.index } })),
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

const hex = (d: string) => digestHex(d as Digest);

function dependency(path: string, digest: Digest): { name: string; uri?: string; digest: { sha256: string } } {
  const uri = dependencyUri(path);
  return { name: path, ...(uri === undefined ? {} : { uri }), digest: { sha256: hex(digest) } };
}

/** A compressed file is named as written, by its own bytes' digest; the content's digest and size, which the root commits to, are its annotations. */
function subjectOf(o: ManifestOutput, written: ReadonlyMap<string, Digest>): object {
  if (o.compression === undefined) return { name: o.file, digest: { sha256: hex(o.digest) } };
  const onDisk = written.get(o.file);
  if (onDisk === undefined) throw new Error(`Internal error: attest was given no digest of ${o.file} as written`);
  return { name: o.file, digest: { sha256: hex(onDisk) }, annotations: { compression: o.compression, uncompressedSha256: hex(o.digest), uncompressedSize: o.size } };
}
