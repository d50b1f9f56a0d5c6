/**
 * The sample's root digest. It changes only when a stage's output or the key scheme changes on purpose;
 * then bump the stage version and update this value in the same commit, saying why.
 */
export const SAMPLE_ROOT = 'sha256:e290960a7a551707a2539cf28496aa439b4c91c327d53cecd780ff037a0fdb2d';
