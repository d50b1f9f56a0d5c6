// A worker thread's first module: registers tsx in this thread (loader hooks are per thread), then loads
// the TypeScript worker body.
import { register } from 'tsx/esm/api';

register();
await import('./worker-main.ts');
