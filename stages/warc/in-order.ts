/** An item whose result is still being computed (off the main thread), with the bytes it holds meanwhile. */
export interface Pending<T> {
  readonly result: Promise<T>;
  readonly bytes: number;
}

export interface LookAhead {
  /** Bytes held by items produced but not yet yielded; one item larger than this is still read, alone. */
  readonly maxBytes: number;
  readonly maxItems: number;
}

/**
 * Yields results strictly in source order while pulling further items from the source as long as the head
 * is unfinished and the look-ahead has room: the source's work (inflating, parsing) overlaps the results'
 * (hashing on the threadpool), and memory stays bounded by the limits, not by the stream.
 * If the source fails, the items read before the failure are still yielded, then the error is thrown.
 */
export async function* inOrder<T>(source: AsyncIterable<Pending<T>>, limits: LookAhead): AsyncGenerator<T> {
  const queue: { readonly result: Promise<T>; readonly bytes: number; done: boolean }[] = [];
  let held = 0;
  const next = (): Promise<T> => {
    const head = queue.shift()!;
    held -= head.bytes;
    return head.result;
  };
  try {
    for await (const item of source) {
      const entry = { result: item.result, bytes: item.bytes, done: false };
      // Also marks the rejection handled: it is rethrown when the item's turn comes.
      item.result.then(
        () => (entry.done = true),
        () => (entry.done = true),
      );
      queue.push(entry);
      held += item.bytes;
      while (queue.length > 0 && (queue[0]!.done || held > limits.maxBytes || queue.length > limits.maxItems)) yield await next();
    }
  } catch (err) {
    while (queue.length > 0) yield await next();
    throw err;
  }
  while (queue.length > 0) yield await next();
}
