import { ReingestError } from '../../runner/stage.ts';

/**
 * Pull-based reader over a chunked byte stream: lines, exact-length blocks, peeks, bounded scans and
 * push-back, with the absolute offset of the next unread byte. Memory is bounded by the largest line,
 * block or scan asked for, never by the stream.
 */
export class ByteReader {
  readonly #it: AsyncIterator<Uint8Array>;
  #buf: Buffer = Buffer.alloc(0);
  #pos = 0;
  #eof = false;
  /** Offset of the next unread byte in the whole stream. */
  offset = 0;
  readonly #where: string;

  constructor(source: AsyncIterable<Uint8Array>, where: string) {
    this.#it = source[Symbol.asyncIterator]();
    this.#where = where;
  }

  /** Ends the source early (a reader that stops before the end): generators upstream run their cleanup. */
  async close(): Promise<void> {
    this.#eof = true;
    await this.#it.return?.();
  }

  get available(): number {
    return this.#buf.length - this.#pos;
  }

  async #fill(): Promise<boolean> {
    if (this.#eof) return false;
    const next = await this.#it.next();
    if (next.done) {
      this.#eof = true;
      return false;
    }
    const chunk = Buffer.from(next.value.buffer, next.value.byteOffset, next.value.byteLength);
    this.#buf = this.available === 0 ? chunk : Buffer.concat([this.#buf.subarray(this.#pos), chunk]);
    this.#pos = 0;
    return true;
  }

  /** Up to n bytes from the current position without consuming them (fewer only at end of stream). */
  async peek(n: number): Promise<Buffer> {
    while (this.available < n && (await this.#fill()));
    return this.#buf.subarray(this.#pos, this.#pos + n);
  }

  /** Puts bytes back in front of the stream (they were read as part of a block that was too long). */
  unshift(bytes: Buffer): void {
    this.#buf = Buffer.concat([bytes, this.#buf.subarray(this.#pos)]);
    this.#pos = 0;
    this.offset -= bytes.length;
  }

  /** Next line without its LF or CRLF; null at end of stream. Lines longer than max are an error. */
  async readLine(max: number): Promise<Buffer | null> {
    let scanFrom = this.#pos;
    for (;;) {
      const nl = this.#buf.indexOf(0x0a, scanFrom);
      if (nl !== -1) {
        let end = nl;
        if (end > this.#pos && this.#buf[end - 1] === 0x0d) end--;
        const line = this.#buf.subarray(this.#pos, end);
        this.offset += nl + 1 - this.#pos;
        this.#pos = nl + 1;
        return line;
      }
      if (this.available > max) {
        throw new ReingestError('REINGEST_E_WARC_FORMAT', `${this.#where}: expected a header line under ${max} bytes at offset ${this.offset}, found none; is this a WARC file?`, {
          where: `${this.#where}@${this.offset}`,
        });
      }
      const consumed = this.available;
      if (!(await this.#fill())) {
        if (this.available === 0) return null;
        const line = this.#buf.subarray(this.#pos);
        this.offset += line.length;
        this.#pos = this.#buf.length;
        return line;
      }
      scanFrom = this.#pos + consumed;
    }
  }

  /** Exactly n bytes, or a typed truncation error naming the offset. */
  async readExact(n: number): Promise<Buffer> {
    const start = this.offset;
    const out = await this.readUpTo(n);
    if (out.length < n) throw this.#truncated(n, start, out.length);
    return out;
  }

  /** n bytes, fewer only where the stream ends (the caller judges a short block). */
  async readUpTo(n: number): Promise<Buffer> {
    if (this.available >= n) {
      const out = this.#buf.subarray(this.#pos, this.#pos + n);
      this.#pos += n;
      this.offset += n;
      return out;
    }
    // Parts, concatenated once: a large block from small chunks must not be re-copied on every chunk.
    const parts: Buffer[] = [this.#buf.subarray(this.#pos)];
    let have = this.available;
    this.#pos = this.#buf.length;
    while (have < n && (await this.#fill())) {
      const take = Math.min(n - have, this.available);
      parts.push(this.#buf.subarray(this.#pos, this.#pos + take));
      this.#pos += take;
      have += take;
    }
    this.offset += have;
    return Buffer.concat(parts, have);
  }

  /**
   * Discards bytes up to the first occurrence of `pattern`, which is left unread; false, with everything
   * discarded, if the stream ends first. Holds at most a chunk and the pattern's length, however long the run.
   */
  async skipUntil(pattern: Buffer): Promise<boolean> {
    for (;;) {
      const at = this.#buf.indexOf(pattern, this.#pos);
      if (at !== -1) {
        this.offset += at - this.#pos;
        this.#pos = at;
        return true;
      }
      const keep = Math.min(this.available, pattern.length - 1); // a pattern split by a chunk boundary
      this.offset += this.available - keep;
      this.#pos = this.#buf.length - keep;
      if (!(await this.#fill())) {
        this.offset += this.available;
        this.#pos = this.#buf.length;
        return false;
      }
    }
  }

  /** Discards exactly n bytes without holding them (an oversized block). */
  async skip(n: number): Promise<void> {
    const start = this.offset;
    let left = n;
    while (left > 0) {
      if (this.available === 0 && !(await this.#fill())) throw this.#truncated(n, start, n - left);
      const take = Math.min(left, this.available);
      this.#pos += take;
      this.offset += take;
      left -= take;
    }
  }

  /**
   * Reads up to (not including) the first occurrence of `pattern`, looking at most `max` bytes ahead.
   * Returns null, consuming nothing, if it is not found within max bytes or before the end of the stream.
   */
  async readUntil(pattern: Buffer, max: number): Promise<Buffer | null> {
    let from = 0;
    for (;;) {
      const at = this.#buf.indexOf(pattern, this.#pos + from);
      if (at !== -1 && at - this.#pos <= max) return this.readExact(at - this.#pos);
      if (this.available > max + pattern.length) return null;
      from = Math.max(0, this.available - pattern.length + 1);
      if (!(await this.#fill())) return null;
    }
  }

  #truncated(n: number, start: number, have: number): ReingestError {
    return new ReingestError('REINGEST_E_WARC_TRUNCATED', `${this.#where}: expected ${n} block bytes from offset ${start}, the stream ended after ${have}; the file is truncated`, {
      where: `${this.#where}@${start}`,
    });
  }
}
