/**
 * The sample's root digest. It changes only when a stage's output or the key scheme changes on purpose;
 * then bump the stage version and update this value in the same commit, saying why.
 */
export const SAMPLE_ROOT = 'sha256:e35ba6b47c90474689f9d47a3af2dbe68ff1997627a555eb133730620c90afee';
