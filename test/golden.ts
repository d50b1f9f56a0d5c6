/**
 * The sample's root digest. It changes only when a stage's output or the key scheme changes on purpose;
 * then bump the stage version and update this value in the same commit, saying why.
 */
export const SAMPLE_ROOT = 'sha256:62678ad7557d1f1ed02564cf7c4ad01c3425aa61095d3c65e6a50d64596658a4';
