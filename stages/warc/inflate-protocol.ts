/** Messages between a WARC reader and its inflate thread (inflate-thread.ts, inflate-worker.ts). */

export type ToInflateThread =
  | { readonly type: 'start'; readonly maxMember: number; readonly where: string }
  /** Compressed bytes, in file order; the buffer is transferred. */
  | { readonly type: 'data'; readonly chunk: Uint8Array }
  | { readonly type: 'end' }
  /** The reader took a batch: the walk may run one further ahead. */
  | { readonly type: 'ack' };

export type FromInflateThread =
  /** The walk took this many compressed bytes off its queue: the reader may send as many more. */
  | { readonly type: 'credit'; readonly bytes: number }
  /**
   * Inflated pieces, concatenated in `buf` (transferred). `spans` holds four numbers per piece: start in
   * buf, length, compressed offset and compressed length (-1 for none, after a fallback to streaming).
   */
  | { readonly type: 'batch'; readonly buf: ArrayBuffer; readonly spans: readonly number[] }
  | { readonly type: 'note'; readonly kind: 'trailing-garbage' | 'skipped-bytes' | 'streaming-fallback'; readonly offset: number; readonly bytes: number }
  | { readonly type: 'done' }
  /** The walk failed: a ReingestError's code, message and where, or code null for a bug (message = stack). */
  | { readonly type: 'error'; readonly code: string | null; readonly message: string; readonly where: string | null };
