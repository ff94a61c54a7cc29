import { describe, expect, it } from 'vitest';
import { DependencyUnavailableError } from '#shared/domain/errors';
import type { RouteWriteResult } from '#shared/domain/route';
import {
  type PublishAfterCommitDeps,
  publishAfterCommit,
  publishOutbox,
} from '#shared/use-cases/publish-outbox.use-case';
import { uniqueRouteKey } from '#test/support/fixtures';
import { FakePublisher, InMemoryOutbox, routeEvent } from './event-fakes.ts';

const setup = () => {
  const outbox = new InMemoryOutbox();
  const publisher = new FakePublisher();
  const failures: number[] = [];
  const deps: PublishAfterCommitDeps = {
    outbox,
    publisher,
    publishTimeoutMs: 50,
    onPublishFailed: (n) => failures.push(n),
    guard: (fn) => fn(),
  };
  return { outbox, publisher, deps, failures };
};

describe('publishOutbox', () => {
  it('publishes claimed rows in route order and marks them published once acknowledged', async () => {
    const { outbox, publisher, deps } = setup();
    const key = uniqueRouteKey();
    const [r1, r2] = [routeEvent({ revision: 1 }, key), routeEvent({ revision: 2 }, key)];
    outbox.add(r1, r2);

    const round = await publishOutbox(deps, { limit: 10 });

    expect(round).toEqual({ claimed: 2, published: 2 });
    expect(publisher.published.map((e) => e.revision)).toEqual([1, 2]);
    expect(outbox.rows.every((r) => r.published)).toBe(true);
  });

  it('gives the rows back unpublished and reports kafka unavailable when the broker fails', async () => {
    const { outbox, publisher, deps, failures } = setup();
    outbox.add(routeEvent());
    publisher.failWith = new Error('broker down');

    await expect(publishOutbox(deps, { limit: 10 })).rejects.toBeInstanceOf(DependencyUnavailableError);

    expect(outbox.rows[0]).toMatchObject({ published: false, claimed: false, attempts: 1 });
    expect(outbox.rows[0]?.lastError).toContain('broker down');
    expect(failures).toEqual([1]);
  });

  it('stops waiting for an acknowledgement after the publish timeout', async () => {
    const { outbox, publisher, deps } = setup();
    outbox.add(routeEvent());
    publisher.hang = true;

    await expect(publishOutbox(deps, { limit: 10 })).rejects.toThrow(/no acknowledgement within 50 ms/);
    expect(outbox.rows[0]?.published).toBe(false);
  });

  it('leaves a route alone while its head is leased to a writer, and takes it once the lease ends', async () => {
    const { outbox, publisher, deps } = setup();
    const key = uniqueRouteKey();
    const head = routeEvent({ revision: 1 }, key);
    outbox.addLeased(head, 60_000);
    outbox.add(routeEvent({ revision: 2 }, key));

    expect(await publishOutbox(deps, { limit: 10 })).toEqual({ claimed: 0, published: 0 });

    await outbox.releaseLeases([head.eventId], 'writer gave up');
    await publishOutbox(deps, { limit: 10 });
    expect(publisher.published.map((e) => e.revision)).toEqual([1, 2]);
  });
});

describe('publishAfterCommit', () => {
  const setupLeased = (leased = true) => {
    const s = setup();
    const event = routeEvent();
    if (leased) s.outbox.addLeased(event, 60_000);
    else s.outbox.add(event);
    const result: RouteWriteResult = {
      outcome: 'created',
      route: { ...event, isActive: true },
      event,
      publishLeased: leased,
    };
    return { ...s, event, result };
  };

  it('publishes a leased event and marks it published', async () => {
    const { outbox, publisher, deps, event, result } = setupLeased();

    await publishAfterCommit(deps, result);

    expect(publisher.published).toEqual([event]);
    expect(outbox.rows[0]).toMatchObject({ published: true, leasedUntil: null });
  });

  it("leaves an event it holds no lease on to the relay (the route's older events go first)", async () => {
    const { outbox, publisher, deps, result } = setupLeased(false);

    await publishAfterCommit(deps, result);

    expect(publisher.published).toEqual([]);
    expect(outbox.rows[0]?.published).toBe(false);
  });

  it('never throws: a failing publish ends the lease so the relay takes the event at once', async () => {
    const { outbox, publisher, deps, result, failures } = setupLeased();
    publisher.failWith = new Error('down');
    const skipped: unknown[] = [];

    await publishAfterCommit({ ...deps, onSkipped: (r) => skipped.push(r) }, result);

    expect(skipped).toHaveLength(1);
    expect(failures).toEqual([1]); // the failed publish is counted (metric and warning)
    expect(outbox.rows[0]).toMatchObject({ published: false, leasedUntil: null, lastError: 'down' });
    publisher.failWith = null;
    expect((await publishOutbox(deps, { limit: 10 })).claimed).toBe(1);
  });

  it('stops waiting for the broker after the publish timeout and ends the lease', async () => {
    const { outbox, publisher, deps, result } = setupLeased();
    publisher.hang = true;

    await publishAfterCommit(deps, result);

    expect(outbox.rows[0]).toMatchObject({ published: false, leasedUntil: null });
    expect(outbox.rows[0]?.lastError).toMatch(/no acknowledgement within 50 ms/);
  });

  it('skips the publish when the guard refuses (open circuit)', async () => {
    const { outbox, publisher, deps, result, failures } = setupLeased();

    await publishAfterCommit({ ...deps, guard: () => Promise.reject(new Error('open')) }, result);

    expect(publisher.published).toEqual([]);
    expect(failures).toEqual([]); // nothing was attempted
    expect(outbox.rows[0]).toMatchObject({ published: false, leasedUntil: null });
  });

  it('does nothing for an unchanged write', async () => {
    const { publisher, deps } = setupLeased();

    await publishAfterCommit(deps, { event: null, publishLeased: false });

    expect(publisher.published).toEqual([]);
  });
});
