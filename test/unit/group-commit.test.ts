import { describe, expect, it } from 'vitest';
import { groupCommit } from '#shared/adapters/group-commit';

/** A flush that records its batches and finishes when told to. */
const controlledFlush = () => {
  const batches: number[][] = [];
  const pending: { resolve: () => void; reject: (e: Error) => void }[] = [];
  const flush = (items: readonly number[]) =>
    new Promise<void>((resolve, reject) => {
      batches.push([...items]);
      pending.push({ resolve, reject });
    });
  const finishNext = (err?: Error) => {
    const next = pending.shift()!;
    if (err) next.reject(err);
    else next.resolve();
  };
  return { batches, flush, finishNext, tick: () => new Promise((r) => setTimeout(r, 0)) };
};

describe('groupCommit', () => {
  it('flushes the first call at once and groups the calls made meanwhile into the next flush, in order', async () => {
    const f = controlledFlush();
    const submit = groupCommit(f.flush, 100);

    const first = submit([1]);
    const later = [submit([2]), submit([3, 4]), submit([5])];
    await f.tick();
    expect(f.batches).toEqual([[1]]);

    f.finishNext();
    await first;
    await f.tick();
    expect(f.batches).toEqual([[1], [2, 3, 4, 5]]);
    f.finishNext();
    await Promise.all(later);
  });

  it('never runs two flushes at once and caps a batch at maxBatch, in whole calls', async () => {
    const f = controlledFlush();
    const submit = groupCommit(f.flush, 3);

    const all = [submit([1]), submit([2, 3]), submit([4]), submit([5, 6, 7, 8])];
    for (const expected of [[[1]], [[1], [2, 3, 4]], [[1], [2, 3, 4], [5, 6, 7, 8]]]) {
      await f.tick();
      expect(f.batches).toEqual(expected); // one more batch only once the previous one finished
      f.finishNext();
    }
    await Promise.all(all);
  });

  it('fails exactly the calls of a failed flush; the next batch is flushed anyway', async () => {
    const f = controlledFlush();
    const submit = groupCommit(f.flush, 100);

    const first = submit([1]);
    const second = submit([2]);
    const third = submit([3]);
    await f.tick();
    f.finishNext();
    await first;
    await f.tick();
    f.finishNext(new Error('broker down'));

    await expect(second).rejects.toThrow('broker down');
    await expect(third).rejects.toThrow('broker down');
    const fourth = submit([4]);
    await f.tick();
    f.finishNext();
    await fourth;
    expect(f.batches).toEqual([[1], [2, 3], [4]]);
  });

  it('answers an empty call without flushing', async () => {
    const f = controlledFlush();
    await groupCommit(f.flush, 10)([]);
    expect(f.batches).toEqual([]);
  });
});
