/**
 * A process-wide cap on concurrent whole-file streams, whatever the task concurrency: the shared service
 * prefers few long streams. Waiters are served in arrival order; a released slot is handed straight to
 * the next waiter, so the cap holds even between a release and the waiter waking up.
 */
let active = 0;
const waiting: (() => void)[] = [];

export async function acquireStreamSlot(max: number, signal: AbortSignal): Promise<() => void> {
  signal.throwIfAborted();
  if (active < max) active++;
  else {
    await new Promise<void>((resolve, reject) => {
      const onAbort = () => {
        const i = waiting.indexOf(wake);
        if (i !== -1) waiting.splice(i, 1);
        reject(signal.reason);
      };
      const wake = () => {
        signal.removeEventListener('abort', onAbort);
        resolve();
      };
      waiting.push(wake);
      signal.addEventListener('abort', onAbort, { once: true });
    });
  }
  let released = false;
  return () => {
    if (released) return;
    released = true;
    const next = waiting.shift();
    if (next) next();
    else active--;
  };
}

export function activeStreams(): number {
  return active;
}
