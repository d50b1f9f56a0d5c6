import { createHash } from 'node:crypto';
import { Worker } from 'node:worker_threads';

/**
 * Hashes on a worker thread, so digest verification overlaps inflating and parsing on the main thread.
 * Node has no zero-copy async hash: WebCrypto's digest() copies each input into fresh memory on the main
 * thread, which measured as slow as hashing it there. Here the bytes are copied once into a reused batch
 * buffer that is transferred (not copied) to the worker and back; a block and its payload (a sub-range of
 * it) share one copy. A batch goes out when it is full, or when the main thread waits and the worker is idle;
 * while the worker hashes one batch, the next collects what arrives.
 */

// Plain CommonJS, evaluated by the worker: no loader or transpiler needed in the thread.
const WORKER_SOURCE = `
const { parentPort } = require('node:worker_threads');
const { createHash } = require('node:crypto');
parentPort.on('message', ({ buf, jobs }) => {
  const bytes = new Uint8Array(buf);
  const digests = jobs.map(([alg, start, end]) => createHash(alg).update(bytes.subarray(start, end)).digest());
  parentPort.postMessage({ buf, digests }, [buf]);
});
`;

/** Batch buffers are at least this big (a larger single input gets a buffer of its own size). */
const BATCH_BYTES = 1024 * 1024;
/** Returned batch buffers kept for reuse; more are left to the garbage collector. */
const SPARE_BUFFERS = 4;

interface Job {
  readonly alg: string;
  readonly bytes: Buffer;
  readonly resolve: (d: Buffer) => void;
}

interface Batch {
  buf: ArrayBuffer;
  used: number;
  readonly jobs: Job[];
  /** [alg, start, end] into buf, one per job. */
  readonly ranges: [string, number, number][];
  /** The last input copied, so a sub-range of it (a payload inside its block) reuses the copy. */
  last: { readonly src: Buffer; readonly at: number } | null;
}

class HashThread {
  readonly #worker: Worker;
  readonly #spare: ArrayBuffer[] = [];
  readonly #inFlight: Batch[] = [];
  #next: Batch | null = null;
  #flushQueued = false;
  #broken = false;
  #hashed = 0;

  constructor() {
    this.#worker = new Worker(WORKER_SOURCE, { eval: true });
    this.#worker.on('message', (m: { buf: ArrayBuffer; digests: Uint8Array[] }) => this.#done(m));
    // A lost worker must not lose verdicts: what it held is hashed here instead, and so is all that follows.
    this.#worker.on('error', () => this.#fail());
    this.#worker.on('exit', () => this.#fail());
    // After the listeners (adding one refs the thread again): it holds the process open only while owing results.
    this.#worker.unref();
  }

  get broken(): boolean {
    return this.#broken;
  }

  /** Inputs whose digest came back from the thread (not from the fallback after a crash). */
  get hashed(): number {
    return this.#hashed;
  }

  digest(alg: string, bytes: Buffer): Promise<Buffer> {
    return new Promise((resolve) => {
      const batch = (this.#next ??= this.#batch(bytes.length));
      let start: number;
      const last = batch.last;
      if (last && bytes.buffer === last.src.buffer && bytes.byteOffset >= last.src.byteOffset && bytes.byteOffset + bytes.length <= last.src.byteOffset + last.src.length) {
        start = last.at + bytes.byteOffset - last.src.byteOffset;
      } else {
        if (batch.used + bytes.length > batch.buf.byteLength) {
          this.#send();
          this.digest(alg, bytes).then(resolve);
          return;
        }
        start = batch.used;
        new Uint8Array(batch.buf, start, bytes.length).set(bytes);
        batch.used += bytes.length;
        batch.last = { src: bytes, at: start };
      }
      batch.jobs.push({ alg, bytes, resolve });
      batch.ranges.push([alg, start, start + bytes.length]);
      if (!this.#flushQueued) {
        // Parsing the records of an already-read chunk runs in microtasks; setImmediate fires once the main
        // thread waits (for input or for a verdict), so everything parsed meanwhile travels as one message.
        // A message costs ~25 us each way: one per record would cost more than the hashing saved.
        this.#flushQueued = true;
        setImmediate(() => {
          this.#flushQueued = false;
          if (this.#inFlight.length === 0) this.#send();
        });
      }
    });
  }

  #batch(atLeast: number): Batch {
    const buf = atLeast <= BATCH_BYTES ? (this.#spare.pop() ?? new ArrayBuffer(BATCH_BYTES)) : new ArrayBuffer(atLeast);
    return { buf, used: 0, jobs: [], ranges: [], last: null };
  }

  #send(): void {
    const batch = this.#next;
    if (batch === null || batch.jobs.length === 0) return;
    this.#next = null;
    this.#inFlight.push(batch);
    if (this.#inFlight.length === 1) this.#worker.ref(); // keep the process alive while results are owed
    this.#worker.postMessage({ buf: batch.buf, jobs: batch.ranges }, [batch.buf]);
  }

  #done(m: { buf: ArrayBuffer; digests: Uint8Array[] }): void {
    if (this.#broken) return; // its batches were hashed here already
    const batch = this.#inFlight.shift()!;
    this.#hashed += batch.jobs.length;
    if (m.buf.byteLength === BATCH_BYTES && this.#spare.length < SPARE_BUFFERS) this.#spare.push(m.buf);
    if (this.#inFlight.length === 0) this.#worker.unref();
    for (const [i, job] of batch.jobs.entries()) job.resolve(Buffer.from(m.digests[i]!.buffer, m.digests[i]!.byteOffset, m.digests[i]!.byteLength));
    this.#send();
  }

  #fail(): void {
    if (this.#broken) return;
    this.#broken = true;
    this.#worker.unref(); // a terminated worker that was owed results otherwise holds the process open
    for (const batch of [...this.#inFlight.splice(0), ...(this.#next ? [this.#next] : [])]) {
      for (const job of batch.jobs) job.resolve(createHash(job.alg).update(job.bytes).digest());
    }
    this.#next = null;
  }

  /** For tests: ends the thread as a crash would. */
  terminate(): Promise<number> {
    return this.#worker.terminate();
  }
}

let thread: HashThread | null = null;

export type { HashThread };

/** The process's hashing thread, started on first use, restarted if it died. */
export function hashThread(): HashThread {
  if (thread === null || thread.broken) thread = new HashThread();
  return thread;
}
