/**
 * The sample's root digest. It changes only when a stage's output or the key scheme changes on purpose;
 * then bump the stage version and update this value in the same commit, saying why.
 */
export const SAMPLE_ROOT = 'sha256:7697b63435ed7c17fa034e998ce0cc29a5620f16dcd9db7a52859c59e3147ca9';
