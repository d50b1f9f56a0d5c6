// Child process for the cache atomicity test: writes an object slowly and is killed with SIGKILL midway.
import { setTimeout as sleep } from 'node:timers/promises';
import { ObjectStore } from '../../cache/store.ts';

const store = new ObjectStore(process.argv[2]!);
await store.init();
const w = await store.createWriter();
for (let i = 0; ; i++) {
  await w.write(Buffer.alloc(300 * 1024, i % 251));
  if (i === 3) process.stdout.write('writing\n');
  await sleep(20);
}
