/**
 * The sample's root digest. It changes only when a stage's output or the key scheme changes on purpose;
 * then bump the stage version and update this value in the same commit, saying why.
 */
export const SAMPLE_ROOT = 'sha256:b7a56edbf1dd701670f934d47d6076e6382e7165644abe07624f3d1e7179e3c8';

/**
 * Tasks a cold sample run reports (`tasksRun`): the list, 8 segments (fetch and chain count as one), 8 dedup
 * summaries, the dedup plan, 8 applies and 3 aggregates. Moves when the DAG's shape does.
 */
export const SAMPLE_TASKS = 29;

/**
 * The Unicode fixture's root (test/fixtures/unicode: pipeline.ts over the pages gen.ts writes), on every Node
 * of the matrix (test/node-matrix.test.ts), whatever Unicode version its ICU has. Same rule as SAMPLE_ROOT.
 */
export const UNICODE_ROOT = 'sha256:a62f5bbc90232dfc0ea1586cf137783190577754869ee44a80ea5b3edca8dc81';
