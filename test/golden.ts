/**
 * The sample's root digest. It changes only when a stage's output or the key scheme changes on purpose;
 * then bump the stage version and update this value in the same commit, saying why.
 */
export const SAMPLE_ROOT = 'sha256:570c707852e2f2f1b393bc5875060a0f8a625f8cdc10d387d57e495f9820f0a0';
