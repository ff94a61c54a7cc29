/**
 * Group commit for a slow, serial operation (a Kafka produce with one request in flight, an UPDATE
 * round trip): the first call starts a flush at once; calls that arrive while it runs wait and go
 * together into the next flush, up to `maxBatch` items each. One flush runs at a time, so items reach
 * `flush` in call order, and batches grow by themselves under load and stay single when idle (a Lambda
 * container never waits for company). Each call settles with the outcome of the flush that took it.
 */
export const groupCommit = <T>(
  flush: (items: readonly T[]) => Promise<void>,
  maxBatch: number,
): ((items: readonly T[]) => Promise<void>) => {
  interface Waiter {
    readonly items: readonly T[];
    readonly done: (err?: unknown) => void;
  }
  let queue: Waiter[] = [];
  let running = false;

  const take = (): Waiter[] => {
    let count = 0;
    let n = 0;
    // Whole calls only; a call larger than maxBatch still goes alone.
    while (n < queue.length && (n === 0 || count + queue[n]!.items.length <= maxBatch)) {
      count += queue[n]!.items.length;
      n++;
    }
    const batch = queue.slice(0, n);
    queue = queue.slice(n);
    return batch;
  };

  const drain = async (): Promise<void> => {
    running = true;
    while (queue.length > 0) {
      const batch = take();
      try {
        await flush(batch.flatMap((w) => w.items));
        for (const w of batch) w.done();
      } catch (err) {
        for (const w of batch) w.done(err ?? new Error('flush failed'));
      }
    }
    running = false;
  };

  return (items) => {
    if (items.length === 0) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      queue.push({ items, done: (err) => (err === undefined ? resolve() : reject(err)) });
      if (!running) void drain();
    });
  };
};
