import type { RunEvent } from '../runner/exec-common.ts';

/** A one-line progress display, redrawn in place; only used when stderr is a TTY. */
export class Progress {
  #done = 0;
  #cached = 0;
  #running = new Set<string>();
  #bytes = 0;
  #timer: NodeJS.Timeout | undefined;
  readonly #out: NodeJS.WriteStream;
  readonly #started = Date.now();

  constructor(out: NodeJS.WriteStream) {
    this.#out = out;
    this.#timer = setInterval(() => this.#draw(), 250);
    this.#timer.unref();
  }

  onEvent = (e: RunEvent): void => {
    switch (e.type) {
      case 'task-start':
        this.#running.add(e.id);
        break;
      case 'task-cached':
        this.#cached++;
        this.#done++;
        break;
      case 'task-done':
        this.#running.delete(e.id);
        this.#done++;
        this.#bytes += e.bytesIn;
        break;
      case 'task-failed':
        this.#running.delete(e.id);
        break;
    }
  };

  #draw(): void {
    const secs = (Date.now() - this.#started) / 1000;
    const mb = this.#bytes / 1e6;
    const line = `reingest: ${this.#done} tasks done (${this.#cached} cached), ${this.#running.size} running, ${mb.toFixed(1)} MB streamed, ${(mb / Math.max(secs, 0.001)).toFixed(1)} MB/s`;
    this.#out.write(`\r\x1b[2K${line}`);
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#out.write('\r\x1b[2K');
  }
}
