// An inflate thread's first module: registers tsx in this thread (loader hooks are per thread), then loads
// the TypeScript body.
import { register } from 'tsx/esm/api';

register();
await import('./inflate-worker.ts');
