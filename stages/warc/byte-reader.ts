import { ReingestError } from '../../runner/stage.ts';

/**
 * Pull-based reader over a chunked byte stream: lines and exact-length blocks, with the absolute offset of
 * the next unread byte. Memory is bounded by the largest line or block asked for, never by the stream.
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
        throw new ReingestError('REINGEST_E_WARC_FORMAT', `${this.#where}: expected a header line under ${max} bytes at offset ${this.offset}, found none; is this a WARC file?`, { where: `${this.#where}@${this.offset}` });
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
    if (this.available >= n) {
      const out = this.#buf.subarray(this.#pos, this.#pos + n);
      this.#pos += n;
      this.offset += n;
      return out;
    }
    const parts: Buffer[] = [this.#buf.subarray(this.#pos)];
    let have = this.available;
    this.#pos = this.#buf.length;
    while (have < n) {
      if (!(await this.#fill())) {
        throw new ReingestError('REINGEST_E_WARC_TRUNCATED', `${this.#where}: expected ${n} block bytes from offset ${start}, the stream ended after ${have}; the file is truncated`, { where: `${this.#where}@${start}` });
      }
      const take = Math.min(n - have, this.available);
      parts.push(this.#buf.subarray(this.#pos, this.#pos + take));
      this.#pos += take;
      have += take;
    }
    this.offset += n;
    return Buffer.concat(parts, n);
  }
}
