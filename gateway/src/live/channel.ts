/**
 * A push -> pull queue for one subscription: the producer awaits `push` until the consumer (the
 * socket writer) took the value, so a slow socket slows only its own subscription; `return()`
 * (client completed, socket closed) ends it at once, even while the producer is mid-await.
 */
export class Channel<T> implements AsyncIterableIterator<T> {
  private readonly values: { value: T; taken: () => void }[] = [];
  private readonly pulls: ((result: IteratorResult<T>) => void)[] = [];
  private done = false;
  private failure: unknown;
  private readonly closed = new AbortController();
  /** Aborted when the consumer stops (or `end` is called). */
  readonly signal = this.closed.signal;

  push(value: T): Promise<void> {
    if (this.done) return Promise.resolve();
    return new Promise<void>((taken) => {
      const pull = this.pulls.shift();
      if (pull) {
        pull({ value, done: false });
        taken();
      } else this.values.push({ value, taken });
    });
  }

  /** No more values: the consumer sees `done` (or `error` thrown) after what was pushed. */
  end(error?: unknown): void {
    if (this.done) return;
    this.done = true;
    this.failure = error;
    this.closed.abort();
    for (const pull of this.pulls.splice(0)) pull({ value: undefined, done: true });
  }

  async next(): Promise<IteratorResult<T>> {
    const queued = this.values.shift();
    if (queued) {
      queued.taken();
      return { value: queued.value, done: false };
    }
    if (this.done) {
      if (this.failure !== undefined) {
        const failure = this.failure;
        this.failure = undefined;
        throw failure;
      }
      return { value: undefined, done: true };
    }
    return new Promise((resolve) => this.pulls.push(resolve));
  }

  async return(): Promise<IteratorResult<T>> {
    this.failure = undefined;
    this.end();
    for (const queued of this.values.splice(0)) queued.taken();
    return { value: undefined, done: true };
  }

  [Symbol.asyncIterator](): this {
    return this;
  }
}
