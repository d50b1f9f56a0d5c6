/**
 * The sample's root digest. It changes only when a stage's output or the key scheme changes on purpose;
 * then bump the stage version and update this value in the same commit, saying why.
 */
export const SAMPLE_ROOT = 'sha256:b0abb52c5212fb12aec661d37d7adc43c3cee1ed509d069674fb57be9fcdc686';
