import type { RunEvent } from '../runner/exec-common.ts';

const MAX_SEGMENT_LINES = 8;

/**
 * Progress on a TTY, redrawn in place: an overall line (tasks, bytes, rate, ETA, waits), then one line per
 * running segment (bytes and rate, records decoded, documents kept). Only used when stderr is a TTY.
 */
export class Progress {
  #done = 0;
  #cached = 0;
  #tasks = 0;
  #segments = 0;
  #segmentsDone = 0;
  #running = new Map<string, { since: number; bytes: number; records: number; kept: number }>();
  /** Tasks waiting out a backoff: until when, and why. */
  #waiting = new Map<string, { until: number; reason: string }>();
  #bytes = 0;
  #lines = 0;
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
      case 'run-plan':
        this.#tasks = e.tasks;
        this.#segments = e.segments;
        break;
      case 'task-start':
        this.#running.set(e.id, { since: Date.now(), bytes: 0, records: 0, kept: 0 });
        break;
      case 'task-progress': {
        const r = this.#running.get(e.id);
        if (r) Object.assign(r, { bytes: e.bytes, records: e.records, kept: e.kept });
        break;
      }
      case 'task-cached':
        this.#cached++;
        this.#done++;
        if (e.id.startsWith('segment:')) this.#segmentsDone++;
        break;
      case 'task-retry':
        this.#waiting.set(e.id, { until: Date.now() + e.waitMs, reason: e.reason });
        break;
      case 'task-done':
        this.#running.delete(e.id);
        this.#waiting.delete(e.id);
        this.#done++;
        this.#bytes += e.bytesIn;
        if (e.id.startsWith('segment:')) this.#segmentsDone++;
        break;
      case 'task-failed':
        this.#running.delete(e.id);
        this.#waiting.delete(e.id);
        break;
    }
  };

  /** The text of the display: an overall line, then a line per running segment. */
  render(now = Date.now()): string[] {
    const secs = Math.max((now - this.#started) / 1000, 0.001);
    const inFlight = [...this.#running.values()].reduce((n, r) => n + r.bytes, 0);
    const mb = (this.#bytes + inFlight) / 1e6;
    const waits = [...this.#waiting.values()].filter((w) => w.until > now);
    const longest = waits.sort((a, b) => b.until - a.until)[0];
    const waiting = longest ? `, ${waits.length} backing off (${longest.reason}; ${Math.ceil((longest.until - now) / 1000)} s left)` : '';
    const left = this.#segments - this.#segmentsDone;
    const eta = this.#segmentsDone > 0 && left > 0 ? `, ETA ${formatSeconds((secs / this.#segmentsDone) * left)}` : '';
    const total = this.#tasks ? ` of ${this.#tasks}` : '';
    const lines = [`reingest: ${this.#done}${total} tasks done (${this.#cached} cached), ${this.#running.size} running${waiting}, ${mb.toFixed(1)} MB streamed, ${(mb / secs).toFixed(1)} MB/s${eta}`];
    for (const [id, r] of [...this.#running].slice(0, MAX_SEGMENT_LINES)) {
      if (!id.startsWith('segment:')) continue;
      const s = Math.max((now - r.since) / 1000, 0.001);
      lines.push(`  ${id.padEnd(14)} ${(r.bytes / 1e6).toFixed(1).padStart(8)} MB ${(r.bytes / 1e6 / s).toFixed(1).padStart(6)} MB/s ${String(r.records).padStart(8)} records ${(r.records / s).toFixed(0).padStart(6)}/s ${String(r.kept).padStart(7)} kept`);
    }
    return lines;
  }

  #draw(): void {
    const lines = this.render();
    // Back to the top of what we drew last time, then rewrite every line (clearing leftovers).
    const up = this.#lines > 1 ? `\x1b[${this.#lines - 1}A` : '';
    const extra = Math.max(0, this.#lines - lines.length);
    this.#out.write(`${up}\r${[...lines, ...Array(extra).fill('')].map((l) => `\x1b[2K${l}`).join('\n')}${extra ? `\x1b[${extra}A` : ''}`);
    this.#lines = lines.length;
  }

  stop(): void {
    clearInterval(this.#timer);
    const up = this.#lines > 1 ? `\x1b[${this.#lines - 1}A` : '';
    this.#out.write(`${up}\r\x1b[J`);
  }
}

function formatSeconds(s: number): string {
  if (s < 90) return `${Math.round(s)} s`;
  if (s < 5400) return `${Math.round(s / 60)} min`;
  return `${(s / 3600).toFixed(1)} h`;
}
