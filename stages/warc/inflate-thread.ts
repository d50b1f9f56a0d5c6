import { availableParallelism } from 'node:os';
import { isMainThread, Worker } from 'node:worker_threads';
import { isErrorCode, ReingestError } from '../../runner/stage.ts';
import { gzipMembers, type MemberWalkOptions, type Piece } from './gzip-members.ts';
import type { FromInflateThread, ToInflateThread } from './inflate-protocol.ts';

/**
 * Where gzip members are inflated: in place by default, or on a thread of the reader's own, which inflates
 * (and CRC-checks) while the reading thread parses and verifies digests — the two halves of reading
 * overlap, as zlib's own streams overlap inflating (on the threadpool) with the consumer. The thread pays
 * where one stream is all a process reads (`warc ls`: 0.64x -> 0.98x gunzip on the 200 MB bench). In
 * pipeline runs it does not: with two chains on the main thread (the default) it saved at most 8% of wall
 * time and cost ~120 MB of RSS (a thread is a V8 isolate plus its loader's), and segment worker threads
 * already keep every core busy. REINGEST_WARC_INFLATE_THREAD=1 turns it on anywhere, =0 off everywhere.
 */
export const inflatePlacement = { offThread: process.env.REINGEST_WARC_INFLATE_THREAD === '1' };

/** For a command that reads one WARC stream on the main thread: inflate on a thread when a core is spare. */
export function preferInflateThread(): void {
  if (process.env.REINGEST_WARC_INFLATE_THREAD !== '0' && isMainThread && availableParallelism() > 1) inflatePlacement.offThread = true;
}

/** Runs fn with members inflated on a thread (true) or in place (false), then restores the placement (benches, tests). */
export async function withInflatePlacement<T>(offThread: boolean, fn: () => Promise<T>): Promise<T> {
  const was = inflatePlacement.offThread;
  inflatePlacement.offThread = offThread;
  try {
    return await fn();
  } finally {
    inflatePlacement.offThread = was;
  }
}

/** Compressed bytes sent to the thread ahead of its walk. */
const WINDOW = 4 * 1024 * 1024;
/** Source chunks are gathered up to this size per message (a 1-byte-chunk source must not cost a message per byte). */
const SEND_BYTES = 256 * 1024;
/** Idle threads kept for the next reader. */
const SPARE_THREADS = 2;

const idle: Worker[] = [];

function lease(): Worker {
  const reused = idle.pop();
  if (reused !== undefined) {
    reused.ref();
    return reused;
  }
  const worker = new Worker(new URL('./inflate-worker-entry.mjs', import.meta.url));
  worker.on('exit', () => {
    const at = idle.indexOf(worker);
    if (at !== -1) idle.splice(at, 1);
  });
  worker.on('error', () => {}); // reported to the reader through its own listener; never unhandled
  return worker;
}

function release(worker: Worker, reusable: boolean): void {
  if (reusable && idle.length < SPARE_THREADS) {
    worker.unref();
    idle.push(worker);
  } else void worker.terminate();
}

type Item = { readonly kind: 'message'; readonly m: FromInflateThread } | { readonly kind: 'failed'; readonly err: unknown };

/** gzipMembers, inflated on the inflate thread when inflatePlacement says so; same pieces, notes and errors. */
export function members(input: AsyncIterable<Uint8Array>, opts: MemberWalkOptions): AsyncGenerator<Piece> {
  return inflatePlacement.offThread ? membersOffThread(input, opts) : gzipMembers(input, opts);
}

async function* membersOffThread(input: AsyncIterable<Uint8Array>, opts: MemberWalkOptions): AsyncGenerator<Piece> {
  const worker = lease();
  const items: Item[] = [];
  let wake: (() => void) | null = null;
  const push = (item: Item) => {
    items.push(item);
    wake?.();
    wake = null;
  };
  let credit = WINDOW;
  let creditWake = null as (() => void) | null;
  let stopped = false;
  const onMessage = (m: FromInflateThread) => {
    if (m.type !== 'credit') return push({ kind: 'message', m });
    credit += m.bytes;
    creditWake?.();
    creditWake = null;
  };
  const onError = (err: unknown) => push({ kind: 'failed', err });
  const onExit = (code: number) => push({ kind: 'failed', err: new Error(`the inflate thread exited (code ${code}) in the middle of ${opts.where}`) });
  worker.on('message', onMessage);
  worker.on('error', onError);
  worker.on('exit', onExit);
  const send = (m: ToInflateThread, transfer: ArrayBuffer[] = []) => worker.postMessage(m, transfer);
  const onAbort = () => push({ kind: 'failed', err: opts.signal.reason });
  opts.signal.addEventListener('abort', onAbort, { once: true });

  // A source that fails (a reset connection) ends the input; the members read before it still come out,
  // in order, and the source's error replaces whatever the walk says about the cut.
  let sourceFailed = null as { readonly err: unknown } | null;
  // Feeds the thread, independently of how fast pieces are taken: the walk never waits on the reader for input.
  const feed = async () => {
    let held: Uint8Array[] = [];
    let heldBytes = 0;
    const sendHeld = async () => {
      // A source chunk bigger than the whole window goes once the thread holds nothing: waiting for credit
      // it can never have would stall the read for good.
      while (credit < Math.min(heldBytes, WINDOW) && !stopped) await new Promise<void>((r) => (creditWake = r));
      if (stopped) return;
      const chunk = new Uint8Array(heldBytes); // owned, so it can be transferred: source buffers may be pooled
      let at = 0;
      for (const c of held) {
        chunk.set(c, at);
        at += c.byteLength;
      }
      held = [];
      heldBytes = 0;
      credit -= chunk.byteLength;
      send({ type: 'data', chunk }, [chunk.buffer]);
    };
    try {
      for await (const c of input) {
        if (stopped) return;
        held.push(c);
        heldBytes += c.byteLength;
        if (heldBytes >= SEND_BYTES) await sendHeld();
      }
    } catch (err) {
      sourceFailed = { err };
    }
    if (heldBytes > 0) await sendHeld();
    if (!stopped) send({ type: 'end' });
  };

  let clean = false;
  try {
    send({ type: 'start', maxMember: opts.maxMember, where: opts.where });
    feed().catch((err: unknown) => push({ kind: 'failed', err })); // a bug here, not the source's failure
    for (;;) {
      const item = items.shift();
      if (item === undefined) {
        await new Promise<void>((r) => (wake = r));
        continue;
      }
      if (item.kind === 'failed') throw item.err;
      const m = item.m;
      if (m.type === 'batch') {
        send({ type: 'ack' });
        const { spans } = m;
        for (let i = 0; i < spans.length; i += 4) {
          const offset = spans[i + 2]!;
          yield { data: Buffer.from(m.buf, spans[i]!, spans[i + 1]!), compressedOffset: offset === -1 ? null : offset, compressedLength: offset === -1 ? null : spans[i + 3]! };
        }
      } else if (m.type === 'note') {
        if (sourceFailed !== null) continue;
        if (m.kind === 'trailing-garbage') opts.onTrailingGarbage(m.offset, m.bytes);
        else if (m.kind === 'skipped-bytes') opts.onSkippedBytes(m.offset, m.bytes);
        else opts.onStreamingFallback(m.offset);
      } else if (m.type === 'error') {
        clean = true;
        if (sourceFailed !== null) throw sourceFailed.err;
        if (!isErrorCode(m.code)) throw new Error(`inflate thread, reading ${opts.where}: ${m.message}`);
        throw new ReingestError(m.code, m.message, m.where === null ? {} : { where: m.where });
      } else if (m.type === 'done') {
        clean = true;
        if (sourceFailed !== null) throw sourceFailed.err;
        return;
      }
    }
  } finally {
    stopped = true;
    creditWake?.();
    opts.signal.removeEventListener('abort', onAbort);
    worker.off('message', onMessage);
    worker.off('error', onError);
    worker.off('exit', onExit);
    // A walk that ended is reusable; one stopped halfway (reader gone, abort, source error) is not.
    release(worker, clean);
  }
}
