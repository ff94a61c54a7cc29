import { afterAll, describe, expect, it } from 'vitest';
import { PgRouteRepository } from '#shared/adapters/postgres/route-repository.pg';
import { DependencyUnavailableError } from '#shared/domain/errors';
import { uniqueRouteKey } from '#test/support/fixtures';
import { testPool } from '#test/support/pg';

const pool = testPool({ poolMax: 25 });
const repo = new PgRouteRepository(pool);
const ctx = { changedBy: 'alice@example.com', correlationId: 'corr-1' };

afterAll(() => pool.end());

const outboxRows = async (tenant: string) =>
  (
    await pool.query(
      `SELECT event_id, event_type, action, tenant, service, env, version, url, previous_url, previous_state,
              revision, changed_by, correlation_id, occurred_at, published_at
         FROM route_events WHERE tenant = $1 ORDER BY id`,
      [tenant],
    )
  ).rows;

describe('PgRouteRepository writes', () => {
  it('creates a route at revision 1 and writes its full created event in the outbox', async () => {
    const key = uniqueRouteKey();
    const result = await repo.upsertRoute(key, 'https://a.example.com/v2', ctx);

    expect(result.outcome).toBe('created');
    expect(result.route).toEqual({ ...key, url: 'https://a.example.com/v2', isActive: true, revision: 1 });
    const [row] = await outboxRows(key.tenant);
    expect(row).toMatchObject({
      event_type: 'route_changed',
      action: 'created',
      ...key,
      url: 'https://a.example.com/v2',
      previous_url: null,
      previous_state: null,
      revision: 1,
      changed_by: 'alice@example.com',
      correlation_id: 'corr-1',
      published_at: null,
    });
    expect(result.event).toMatchObject({ eventId: row.event_id, action: 'created', revision: 1 });
    expect(result.event?.occurredAt).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  });

  it('writes no event when a create repeats the same URL', async () => {
    const key = uniqueRouteKey();
    await repo.upsertRoute(key, 'https://a.example.com', ctx);
    const again = await repo.upsertRoute(key, 'https://a.example.com', ctx);
    expect(again).toMatchObject({ outcome: 'unchanged', event: null, route: { revision: 1 } });
    expect(await outboxRows(key.tenant)).toHaveLength(1);
  });

  it('updates a different URL, bumping the revision and recording the previous URL and state', async () => {
    const key = uniqueRouteKey();
    await repo.upsertRoute(key, 'https://a.example.com', ctx);
    await repo.setRouteActive(key, false, ctx);
    const updated = await repo.upsertRoute(key, 'https://b.example.com', {
      changedBy: 'bob',
      correlationId: null,
    });
    expect(updated).toMatchObject({
      outcome: 'updated',
      route: { url: 'https://b.example.com', isActive: false, revision: 3 },
    });
    const rows = await outboxRows(key.tenant);
    expect(rows.map((r) => [r.action, r.revision])).toEqual([
      ['created', 1],
      ['deactivated', 2],
      ['updated', 3],
    ]);
    expect(rows[2]).toMatchObject({
      previous_url: 'https://a.example.com',
      previous_state: 'inactive',
      changed_by: 'bob',
    });
  });

  it('activates and deactivates with events, and repeats are unchanged without events', async () => {
    const key = uniqueRouteKey();
    await repo.upsertRoute(key, 'https://a.example.com', ctx);
    expect((await repo.setRouteActive(key, true, ctx))?.outcome).toBe('unchanged');
    expect((await repo.setRouteActive(key, false, ctx))?.outcome).toBe('deactivated');
    expect((await repo.setRouteActive(key, false, ctx))?.outcome).toBe('unchanged');
    expect((await repo.setRouteActive(key, true, ctx))?.outcome).toBe('activated');
    const rows = await outboxRows(key.tenant);
    expect(rows.map((r) => [r.action, r.previous_state, r.revision])).toEqual([
      ['created', null, 1],
      ['deactivated', 'active', 2],
      ['activated', 'inactive', 3],
    ]);
  });

  it('returns null when activating a route that does not exist', async () => {
    expect(await repo.setRouteActive(uniqueRouteKey(), true, ctx)).toBeNull();
  });

  it('makes exactly one route and one event from 20 concurrent creates of the same new route', async () => {
    const key = uniqueRouteKey();
    const results = await Promise.all(
      Array.from({ length: 20 }, () => repo.upsertRoute(key, 'https://a.example.com', ctx)),
    );
    expect(results.filter((r) => r.outcome === 'created')).toHaveLength(1);
    expect(results.filter((r) => r.outcome === 'unchanged')).toHaveLength(19);
    const { rows } = await pool.query('SELECT count(*)::int AS n FROM tenants WHERE name = $1', [key.tenant]);
    expect(rows[0].n).toBe(1);
    expect(await outboxRows(key.tenant)).toHaveLength(1);
  });

  it('gives concurrent updates of one route strictly increasing revisions with no gaps', async () => {
    const key = uniqueRouteKey();
    await repo.upsertRoute(key, 'https://a.example.com/0', ctx);
    await Promise.all(
      Array.from({ length: 15 }, (_, i) => repo.upsertRoute(key, `https://a.example.com/${i + 1}`, ctx)),
    );
    const revisions = (await outboxRows(key.tenant)).map((r) => Number(r.revision));
    expect(revisions).toEqual(Array.from({ length: 16 }, (_, i) => i + 1));
  });
});

describe('PgRouteRepository reads', () => {
  it('finds a route with its state and revision, inactive included', async () => {
    const key = uniqueRouteKey();
    await repo.upsertRoute(key, 'https://a.example.com', ctx);
    await repo.setRouteActive(key, false, ctx);
    expect(await repo.findRoute(key)).toEqual({
      ...key,
      url: 'https://a.example.com',
      isActive: false,
      revision: 2,
    });
  });

  it('keeps routes of different tenants, services and environments apart', async () => {
    const a = uniqueRouteKey();
    await repo.upsertRoute(a, 'https://a.example.com', ctx);
    expect(await repo.findRoute({ ...a, env: 'staging' })).toBeNull();
    expect(await repo.findRoute({ ...a, service: 'other' })).toBeNull();
    expect(await repo.findRoute({ ...a, tenant: `${a.tenant}x` })).toBeNull();
  });
});

describe('database constraints', () => {
  it.each([
    ['a tenant name with a colon', "INSERT INTO tenants (name, created_by) VALUES ('x:y', 't')"],
    ['an empty tenant name', "INSERT INTO tenants (name, created_by) VALUES ('', 't')"],
    [
      'a 65-character service name',
      "SELECT tm_upsert_route('ok', repeat('s', 65), 'e', 'v', 'https://a', 't', NULL)",
    ],
    ['a non-http URL', "SELECT tm_upsert_route('ok', 's', 'e', 'v', 'ftp://a', 't', NULL)"],
    [
      'a 2,049-character URL',
      "SELECT tm_upsert_route('ok', 's', 'e', 'v', 'https://a/' || repeat('p', 2039), 't', NULL)",
    ],
  ])('rejects %s at the database level', async (_label, sql) => {
    await expect(pool.query(sql)).rejects.toMatchObject({ code: '23514' });
  });
});

describe('database outage', () => {
  it('fails fast with DependencyUnavailableError when Postgres does not answer', async () => {
    const dead = testPool({ url: 'postgres://postgres@127.0.0.1:1/none', connectTimeoutMs: 300 });
    const started = Date.now();
    await expect(new PgRouteRepository(dead).findRoute(uniqueRouteKey())).rejects.toBeInstanceOf(
      DependencyUnavailableError,
    );
    expect(Date.now() - started).toBeLessThan(2000);
    await dead.end();
  });
});
