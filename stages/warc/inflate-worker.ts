/**
 * The body of an inflate thread (see inflate-thread.ts): runs the same gzip member walk as the main thread
 * would, over compressed chunks that arrive as messages, and sends the inflated members back in batches.
 * One walk at a time; after `done` or `error` the thread waits for the next `start`.
 */
import { parentPort } from 'node:worker_threads';
import { ReingestError } from '../../runner/stage.ts';
import { gzipMembers, type Piece } from './gzip-members.ts';
import type { FromInflateThread, ToInflateThread } from './inflate-protocol.ts';

/** A batch goes back once it holds this much (or sooner, when the walk waits for input or ends). */
const BATCH_BYTES = 1024 * 1024;
/** Batches sent and not yet taken by the reader; beyond this the walk pauses (bounded memory). */
const MAX_UNACKED = 3;

const port = parentPort!;
const post = (m: FromInflateThread, transfer: ArrayBuffer[] = []) => port.postMessage(m, transfer);

/** State of the walk in progress. */
let input: Uint8Array[] = [];
let ended = false;
let wakeInput: (() => void) | null = null;
let unacked = 0;
let wakeAck: (() => void) | null = null;
let batch: Piece[] = [];
let batchBytes = 0;

function flush(): void {
  if (batch.length === 0) return;
  // One fresh buffer per batch, transferred, never copied again: the pieces' own buffers may be slices of
  // zlib's pool or of the input, which must not be detached.
  const out = new Uint8Array(batchBytes);
  const spans: number[] = [];
  let at = 0;
  for (const p of batch) {
    out.set(p.data, at);
    spans.push(at, p.data.length, p.compressedOffset ?? -1, p.compressedLength ?? -1);
    at += p.data.length;
  }
  batch = [];
  batchBytes = 0;
  unacked++;
  post({ type: 'batch', buf: out.buffer, spans }, [out.buffer]);
}

/** Pauses the walk while the reader has not taken what was sent (batches go out when full and when starved). */
async function outputRoom(): Promise<void> {
  while (unacked >= MAX_UNACKED) await new Promise<void>((r) => (wakeAck = r));
}

async function* chunks(): AsyncGenerator<Uint8Array> {
  for (;;) {
    await outputRoom();
    const next = input.shift();
    if (next !== undefined) {
      post({ type: 'credit', bytes: next.byteLength });
      yield next;
      continue;
    }
    if (ended) return;
    flush(); // the walk waits for input: what it has inflated goes now, not when the batch fills
    await new Promise<void>((r) => (wakeInput = r));
  }
}

async function walk(maxMember: number, where: string): Promise<void> {
  const opts = {
    maxMember,
    where,
    signal: new AbortController().signal, // the reader ends a walk by terminating the thread
    onTrailingGarbage: (offset: number, bytes: number) => {
      flush();
      post({ type: 'note', kind: 'trailing-garbage', offset, bytes });
    },
    onSkippedBytes: (offset: number, bytes: number) => {
      flush();
      post({ type: 'note', kind: 'skipped-bytes', offset, bytes });
    },
    onStreamingFallback: (offset: number) => {
      flush();
      post({ type: 'note', kind: 'streaming-fallback', offset, bytes: 0 });
    },
  };
  try {
    for await (const piece of gzipMembers(chunks(), opts)) {
      batch.push(piece);
      batchBytes += piece.data.length;
      if (batchBytes < BATCH_BYTES) continue;
      flush();
      await outputRoom();
    }
    flush();
    post({ type: 'done' });
  } catch (err) {
    flush(); // the members before a damaged one are still read, as on the main thread
    if (err instanceof ReingestError) post({ type: 'error', code: err.code, message: err.message, where: err.where ?? null });
    else post({ type: 'error', code: null, message: (err as Error).stack ?? String(err), where: null });
  }
}

port.on('message', (m: ToInflateThread) => {
  switch (m.type) {
    case 'start':
      input = [];
      ended = false;
      unacked = 0;
      batch = [];
      batchBytes = 0;
      void walk(m.maxMember, m.where);
      return;
    case 'data':
      input.push(m.chunk);
      break;
    case 'end':
      ended = true;
      break;
    case 'ack':
      unacked--;
      wakeAck?.();
      wakeAck = null;
      return;
  }
  wakeInput?.();
  wakeInput = null;
});
