import type { RunEvent } from '../runner/exec-common.ts';

/** A one-line progress display, redrawn in place; only used when stderr is a TTY. */
export class Progress {
  #done = 0;
  #cached = 0;
  #running = new Set<string>();
  /** Tasks waiting out a backoff: until when, and why. */
  #waiting = new Map<string, { until: number; reason: string }>();
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
      case 'task-retry':
        this.#waiting.set(e.id, { until: Date.now() + e.waitMs, reason: e.reason });
        break;
      case 'task-done':
        this.#running.delete(e.id);
        this.#waiting.delete(e.id);
        this.#done++;
        this.#bytes += e.bytesIn;
        break;
      case 'task-failed':
        this.#running.delete(e.id);
        this.#waiting.delete(e.id);
        break;
    }
  };

  #draw(): void {
    const secs = (Date.now() - this.#started) / 1000;
    const mb = this.#bytes / 1e6;
    const now = Date.now();
    const waits = [...this.#waiting.values()].filter((w) => w.until > now);
    const longest = waits.sort((a, b) => b.until - a.until)[0];
    const waiting = longest ? `, ${waits.length} backing off (${longest.reason}; ${Math.ceil((longest.until - now) / 1000)} s left)` : '';
    const line = `reingest: ${this.#done} tasks done (${this.#cached} cached), ${this.#running.size} running${waiting}, ${mb.toFixed(1)} MB streamed, ${(mb / Math.max(secs, 0.001)).toFixed(1)} MB/s`;
    this.#out.write(`\r\x1b[2K${line}`);
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#out.write('\r\x1b[2K');
  }
}
