/**
 * The sample's root digest. It changes only when a stage's output or the key scheme changes on purpose;
 * then bump the stage version and update this value in the same commit, saying why.
 */
export const SAMPLE_ROOT = 'sha256:9d4a8c85da39f5a6bd6906a331b6cede65e1ab0660d4e58b5fc89371797958f1';
