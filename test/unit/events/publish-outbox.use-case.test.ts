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

  it('claims nothing while another publisher holds the route', async () => {
    const { outbox, deps } = setup();
    const key = uniqueRouteKey();
    outbox.add(routeEvent({ revision: 1 }, key), routeEvent({ revision: 2 }, key));
    const held = await outbox.claim({ limit: 1 });

    expect(await publishOutbox(deps, { limit: 10, route: key })).toEqual({ claimed: 0, published: 0 });
    await held?.release('test');
  });
});

describe('publishAfterCommit', () => {
  const resultOf = (event: ReturnType<typeof routeEvent>): RouteWriteResult => ({
    outcome: 'created',
    route: { ...event, isActive: true },
    event,
  });

  it("publishes the written route's backlog, older rows first", async () => {
    const { outbox, publisher, deps } = setup();
    const key = uniqueRouteKey();
    const [old, fresh] = [routeEvent({ revision: 1 }, key), routeEvent({ revision: 2 }, key)];
    outbox.add(routeEvent(), old, fresh);

    await publishAfterCommit(deps, resultOf(fresh));

    expect(publisher.published).toEqual([old, fresh]);
  });

  it('never throws: a failing publish is left to the relay', async () => {
    const { outbox, publisher, deps } = setup();
    const event = routeEvent();
    outbox.add(event);
    publisher.failWith = new Error('down');
    const skipped: unknown[] = [];

    await publishAfterCommit({ ...deps, onSkipped: (r) => skipped.push(r) }, resultOf(event));

    expect(skipped).toHaveLength(1);
    expect(outbox.rows[0]?.published).toBe(false);
  });

  it('skips the publish when the guard refuses (open circuit, full bulkhead)', async () => {
    const { outbox, publisher, deps } = setup();
    const event = routeEvent();
    outbox.add(event);

    await publishAfterCommit({ ...deps, guard: () => Promise.reject(new Error('open')) }, resultOf(event));

    expect(publisher.published).toEqual([]);
  });

  it('does nothing for an unchanged write', async () => {
    const { publisher, deps } = setup();
    const event = routeEvent();

    await publishAfterCommit(deps, { ...resultOf(event), outcome: 'unchanged', event: null });

    expect(publisher.published).toEqual([]);
  });
});
