/**
 * The sample's root digest. It changes only when a stage's output or the key scheme changes on purpose;
 * then bump the stage version and update this value in the same commit, saying why.
 */
export const SAMPLE_ROOT = 'sha256:63e728aa5e56d7dcbb9186c5536173edd149844b2f081cedc8c0d67064b7ba3c';
