/**
 * Bytes per second of a download (one attempt's body) over a sliding window of network time: the time spent waiting for
 * the next chunk, not the time the consumer held one, so a slow decoder downstream never counts against the
 * server. Keeps one sample per 1/16 of the window, so memory stays constant however many chunks arrive.
 */
export class ThroughputGuard {
  readonly #min: number;
  readonly #windowMs: number;
  #clock = 0;
  #bytes = 0;
  readonly #samples: { t: number; bytes: number }[] = [{ t: 0, bytes: 0 }];

  constructor(minBytesPerSecond: number, windowMs: number) {
    this.#min = minBytesPerSecond;
    this.#windowMs = windowMs;
  }

  /** Adds a chunk that took `waitedMs` to arrive; returns the rate when it is under the minimum over a whole window, else null. */
  add(bytes: number, waitedMs: number): number | null {
    this.#clock += waitedMs;
    this.#bytes += bytes;
    if (this.#min <= 0) return null;
    const s = this.#samples;
    if (this.#clock - s.at(-1)!.t >= this.#windowMs / 16) s.push({ t: this.#clock, bytes: this.#bytes });
    // s[0] stays the newest sample at least a window old: the base of the rate.
    while (s.length > 1 && this.#clock - s[1]!.t >= this.#windowMs) s.shift();
    const span = this.#clock - s[0]!.t;
    if (span < this.#windowMs) return null;
    const rate = ((this.#bytes - s[0]!.bytes) * 1000) / span;
    return rate < this.#min ? rate : null;
  }
}
