import { describe, expect, it } from 'vitest';
import type { OutboxBacklog } from '#shared/ports/outbox.port';
import { type RelayOutboxDeps, relayOutbox, relayStalled } from '#shared/use-cases/relay-outbox.use-case';
import { uniqueRouteKey } from '#test/support/fixtures';
import { FakePublisher, InMemoryOutbox, routeEvent } from './event-fakes.ts';

/** A fake clock: sleeping advances it, so a 50 s run takes no real time. */
const setup = () => {
  let now = 0;
  const outbox = new InMemoryOutbox();
  const publisher = new FakePublisher();
  const backlogs: OutboxBacklog[] = [];
  const errors: unknown[] = [];
  const deps: RelayOutboxDeps = {
    outbox,
    publisher,
    publishTimeoutMs: 50,
    batchSize: 2,
    pollIntervalMs: 500,
    now: () => now,
    sleep: async (ms) => {
      now += ms;
    },
    onBacklog: (b) => backlogs.push(b),
    onError: (e) => errors.push(e),
  };
  return { outbox, publisher, deps, backlogs, errors, advance: (ms: number) => (now += ms) };
};

describe('relayOutbox', () => {
  it('drains the outbox in rounds of batchSize, oldest first, keeping each route in order', async () => {
    const { outbox, publisher, deps, backlogs } = setup();
    const [a, b] = [uniqueRouteKey(), uniqueRouteKey()];
    outbox.add(
      routeEvent({ revision: 1 }, a),
      routeEvent({ revision: 1 }, b),
      routeEvent({ revision: 2 }, a),
      routeEvent({ revision: 2 }, b),
      routeEvent({ revision: 3 }, a),
    );

    const run = await relayOutbox(deps, { deadline: 1000 });

    expect(run.published).toBe(5);
    const revisionsOf = (t: string) =>
      publisher.published.filter((e) => e.tenant === t).map((e) => e.revision);
    expect(revisionsOf(a.tenant)).toEqual([1, 2, 3]);
    expect(revisionsOf(b.tenant)).toEqual([1, 2]);
    expect(backlogs.at(-1)).toEqual({ count: 0, oldestAgeSeconds: 0 });
  });

  it('keeps polling through broker failures and publishes once the broker is back', async () => {
    const { outbox, publisher, deps, errors } = setup();
    outbox.add(routeEvent());
    publisher.failWith = new Error('down');
    let polls = 0;
    const sleep = deps.sleep;

    const run = await relayOutbox(
      {
        ...deps,
        sleep: async (ms, signal) => {
          if (++polls === 3) publisher.failWith = null;
          await sleep(ms, signal);
        },
      },
      { deadline: 5000 },
    );

    expect(errors.length).toBe(3);
    expect(run).toMatchObject({ published: 1, failures: 3 });
    expect(outbox.rows[0]).toMatchObject({ published: true, attempts: 4 });
    // Failed rounds among good ones are no stall.
    expect(relayStalled(run)).toBe(false);
  });

  it('calls a run stalled when no round of it succeeded, not when there was nothing to publish', async () => {
    const { outbox, publisher, deps } = setup();
    expect(relayStalled(await relayOutbox(deps, { deadline: 2000 }))).toBe(false);

    outbox.add(routeEvent());
    publisher.failWith = new Error('down');
    // The fake clock is at 2000 after the first run.
    const run = await relayOutbox(deps, { deadline: 4000 });

    expect(run).toMatchObject({ published: 0, rounds: 0 });
    expect(run.failures).toBeGreaterThan(1);
    expect(relayStalled(run)).toBe(true);
  });

  it('publishes again at once when repair fixes the cause (a missing topic re-created)', async () => {
    const { outbox, publisher, deps } = setup();
    outbox.add(routeEvent());
    publisher.failWith = new Error('This server does not host this topic-partition');
    const repairs: unknown[] = [];

    const run = await relayOutbox(
      {
        ...deps,
        repair: async (err) => {
          repairs.push(err);
          publisher.failWith = null;
          return true;
        },
      },
      { deadline: 400 },
    );

    expect(repairs).toHaveLength(1);
    expect(run).toMatchObject({ published: 1, failures: 1 });
  });

  it('waits for the next poll when repair does not help, instead of spinning', async () => {
    const { outbox, publisher, deps } = setup();
    outbox.add(routeEvent());
    publisher.failWith = new Error('This server does not host this topic-partition');
    let repairs = 0;

    const run = await relayOutbox(
      {
        ...deps,
        repair: async () => {
          repairs++;
          return true;
        },
      },
      { deadline: 2000 },
    );

    expect(run.published).toBe(0);
    // Each poll (every 500 ms) repairs once and retries once: two failed rounds per poll.
    expect(repairs).toBe(4);
    expect(run.failures).toBe(8);
  });

  it('stops at the deadline', async () => {
    const { deps } = setup();

    const run = await relayOutbox(deps, { deadline: 50_000 });

    expect(run.rounds).toBe(100);
  });

  it('stops when aborted', async () => {
    const { deps } = setup();
    const controller = new AbortController();
    controller.abort();

    expect(await relayOutbox(deps, { deadline: 50_000, signal: controller.signal })).toEqual({
      published: 0,
      rounds: 0,
      failures: 0,
    });
  });

  it('reports the backlog at most every backlogEveryMs, the first poll included', async () => {
    const { deps, backlogs } = setup();

    // Polls every 500 ms for 3 s (7 polls); a report at 0, 2 and 4 s would be 2 within the deadline.
    await relayOutbox({ ...deps, backlogEveryMs: 2000 }, { deadline: 3000 });

    expect(backlogs).toHaveLength(2);
  });
});
