/**
 * Named counting semaphores that stages share through their context (`ctx.acquire`): e.g. at most
 * `maxStreams` whole-file HTTP streams across the whole run, whatever the task concurrency — and across
 * worker threads, which ask the main thread's Slots for their grants (runner/worker-pool.ts).
 * Waiters are served in arrival order; a released slot goes straight to the next waiter.
 */
export type Acquire = (resource: string, limit: number, signal: AbortSignal) => Promise<() => void>;

export class Slots {
  readonly #active = new Map<string, number>();
  readonly #waiting = new Map<string, (() => void)[]>();

  active(resource: string): number {
    return this.#active.get(resource) ?? 0;
  }

  acquire: Acquire = async (resource, limit, signal) => {
    signal.throwIfAborted();
    const queue = this.#waiting.get(resource) ?? [];
    this.#waiting.set(resource, queue);
    if (this.active(resource) < limit) this.#active.set(resource, this.active(resource) + 1);
    else {
      await new Promise<void>((resolve, reject) => {
        const onAbort = () => {
          const i = queue.indexOf(wake);
          if (i !== -1) queue.splice(i, 1);
          reject(signal.reason);
        };
        const wake = () => {
          signal.removeEventListener('abort', onAbort);
          resolve();
        };
        queue.push(wake);
        signal.addEventListener('abort', onAbort, { once: true });
      });
    }
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = queue.shift();
      if (next) next();
      else this.#active.set(resource, this.active(resource) - 1);
    };
  };
}
