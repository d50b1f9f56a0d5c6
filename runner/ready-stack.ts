/**
 * The scheduler's ready nodes: a stack of batches, each read front to back through an index. Taking
 * from the front of the newest batch is the order of unshifting each batch onto one array and shifting
 * from it, at O(1) per push and take instead of O(ready) (a whole crawl has ~100,000 roots waiting).
 */
export class ReadyStack {
  readonly #batches: { readonly items: readonly number[]; next: number }[] = [];

  /** Puts a batch ahead of every node already waiting; its own order is kept. */
  pushFront(items: readonly number[]): void {
    if (items.length > 0) this.#batches.push({ items, next: 0 });
  }

  get empty(): boolean {
    return this.#batches.length === 0;
  }

  /** The node at the front; undefined when none waits. */
  take(): number | undefined {
    const top = this.#batches.at(-1);
    if (!top) return undefined;
    const item = top.items[top.next++];
    if (top.next === top.items.length) this.#batches.pop();
    return item;
  }
}
