/**
 * The text of one block, whitespace collapsed as it is appended: runs of space, tab, CR, LF, FF and NBSP
 * become one space, none at either end. Pages arrive as thousands of small text runs (a word between two
 * <span>s); gathering them as UTF-16 code units in one growing buffer, instead of concatenating strings and
 * collapsing with a regex at the end, avoids a rope per run and two copies per block.
 */
function isSpace(c: number): boolean {
  return c > 0x20 ? c === 0xa0 : c === 0x20 || c === 0x0a || c === 0x09 || c === 0x0d || c === 0x0c;
}

/** Code units; blocks longer than MAX_KEPT get a buffer of their own that is dropped after them. */
const INITIAL = 4096;
const MAX_KEPT = 1 << 18;

export class BlockBuffer {
  private bytes = Buffer.allocUnsafeSlow(INITIAL * 2);
  private units = new Uint16Array(this.bytes.buffer, 0, INITIAL);
  private len = 0;
  /** A space is owed before the next character, if one comes. */
  private spaceOwed = false;

  get empty(): boolean {
    return this.len === 0;
  }

  /**
   * Appends s[start, end). Returns the run's own length with its whitespace collapsed (what a run inside a
   * link adds to the link text), counted as if the run stood alone.
   */
  append(s: string, start: number, end: number): number {
    if (this.len + (end - start) + 1 > this.units.length) this.grow(this.len + (end - start) + 1);
    const u = this.units;
    let len = this.len;
    let owed = this.spaceOwed;
    let squeezed = 0; // whitespace characters beyond the first of each run
    let i = start;
    while (i < end) {
      let c = s.charCodeAt(i);
      if (isSpace(c)) {
        const from = i++;
        while (i < end && isSpace(s.charCodeAt(i))) i++;
        squeezed += i - from - 1;
        if (len > 0) owed = true;
        continue;
      }
      if (owed) {
        u[len++] = 0x20;
        owed = false;
      }
      u[len++] = c;
      // The rest of the word, with no space bookkeeping: most characters go through here.
      while (++i < end && !isSpace((c = s.charCodeAt(i)))) u[len++] = c;
    }
    this.len = len;
    this.spaceOwed = owed;
    return end - start - squeezed;
  }

  /** A word break (between table cells). */
  space(): void {
    if (this.len > 0) this.spaceOwed = true;
  }

  /** Empties the buffer (a new page, or a block taken). */
  reset(): void {
    this.len = 0;
    this.spaceOwed = false;
    // A shared buffer must not keep one huge block's memory for the rest of the process.
    if (this.units.length > MAX_KEPT) this.allocate(INITIAL);
  }

  /** The block's text, trimmed of other Unicode whitespace too (as String.prototype.trim), and a fresh start. */
  take(): string {
    const text = this.len === 0 ? '' : this.bytes.toString('utf16le', 0, this.len * 2).trim();
    this.reset();
    return text;
  }

  private grow(need: number): void {
    let size = this.units.length * 2;
    while (size < need) size *= 2;
    const old = this.bytes;
    this.allocate(size);
    old.copy(this.bytes, 0, 0, this.len * 2);
  }

  private allocate(units: number): void {
    // allocUnsafeSlow: an ArrayBuffer of its own, so the Uint16Array view starts at offset 0 (aligned).
    this.bytes = Buffer.allocUnsafeSlow(units * 2);
    this.units = new Uint16Array(this.bytes.buffer, 0, units);
  }
}
