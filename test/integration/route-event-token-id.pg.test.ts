import { afterAll, describe, expect, it } from 'vitest';
import { PgRouteRepository } from '#shared/adapters/postgres/route-repository.pg';
import { ValidationError } from '#shared/domain/errors';
import { uniqueRouteKey } from '#test/support/fixtures';
import { testPool } from '#test/support/pg';

const pool = testPool();
const repo = new PgRouteRepository(pool);
const TOKEN_ID = 'abcdefghijklmnop';
const ctx = { changedBy: 'ci', changedByTokenId: TOKEN_ID, correlationId: 'corr-token' };

afterAll(() => pool.end());

const tokenIdsOf = async (tenant: string) =>
  (
    await pool.query<{ action: string; changed_by_token_id: string | null }>(
      'SELECT action, changed_by_token_id FROM route_events WHERE tenant = $1 ORDER BY id',
      [tenant],
    )
  ).rows;

describe('route events record the acting token id (issue 16.2)', () => {
  it('writes the token id beside the principal on every write and returns it with the event', async () => {
    const key = uniqueRouteKey();

    const created = await repo.upsertRoute(key, 'https://a.example.com/', ctx);
    await repo.upsertRoute(key, 'https://b.example.com/', ctx);
    await repo.setRouteActive(key, false, ctx);
    const rolledBack = await repo.rollbackRoute(key, null, ctx);

    expect(created.event).toMatchObject({ changedBy: 'ci', changedByTokenId: TOKEN_ID });
    expect(rolledBack?.event).toMatchObject({ action: 'rolled_back', changedByTokenId: TOKEN_ID });
    expect(await tokenIdsOf(key.tenant)).toEqual([
      { action: 'created', changed_by_token_id: TOKEN_ID },
      { action: 'updated', changed_by_token_id: TOKEN_ID },
      { action: 'deactivated', changed_by_token_id: TOKEN_ID },
      { action: 'rolled_back', changed_by_token_id: TOKEN_ID },
    ]);
  });

  it('leaves it null without a token (auth off), and one write does not lend it to the next', async () => {
    const key = uniqueRouteKey();
    const client = await pool.connect();
    try {
      await client.query('BEGIN');
      await client.query('SELECT * FROM tm_upsert_route($1, $2, $3, $4, $5, $6, $7, 0, NULL, NULL, $8)', [
        key.tenant,
        key.service,
        key.env,
        key.version,
        'https://a.example.com/',
        'ci',
        null,
        TOKEN_ID,
      ]);
      await client.query(
        'SELECT * FROM tm_set_route_active($1, $2, $3, $4, false, $5, NULL, 0, NULL, NULL)',
        [key.tenant, key.service, key.env, key.version, 'anonymous'],
      );
      await client.query('COMMIT');
    } finally {
      client.release();
    }

    expect(await tokenIdsOf(key.tenant)).toEqual([
      { action: 'created', changed_by_token_id: TOKEN_ID },
      { action: 'deactivated', changed_by_token_id: null },
    ]);
  });

  it('refuses a token id that is not one (format check)', async () => {
    const key = uniqueRouteKey();
    await expect(
      repo.upsertRoute(key, 'https://a.example.com/', { ...ctx, changedByTokenId: 'NOT-A-TOKEN-ID' }),
    ).rejects.toBeInstanceOf(ValidationError);
  });
});

describe('the route URL check in Postgres (issue 16.4), below the API', () => {
  it.each([
    ['a backslash', 'https://good.example.com\\@evil.example.com/'],
    ['a right-to-left override', 'https://a.example.com/\u202Egnp.exe'],
    ['a zero-width space', 'https://a.example.com/\u200B'],
    ['a space', 'https://a.example.com/a b'],
    ['a tab', 'https://a.example.com/a\tb'],
    ['a C1 control', 'https://a.example.com/\u0085'],
    ['a no-break space', 'https://a.example.com/\u00A0'],
    ['U+FFFD', 'https://a.example.com/\uFFFD'],
    ['non-ASCII', 'https://bücher.example/'],
    ['credentials', 'https://user:pw@a.example.com/'],
    ['an upper-case scheme', 'HTTPS://a.example.com/'],
    ['a raw pipe', 'https://a.example.com/a|b'],
    ['a bare percent', 'https://a.example.com/100%'],
    ['no host', 'https:///path'],
  ])('refuses %s even when the API is bypassed', async (_name, url) => {
    const err = await repo.upsertRoute(uniqueRouteKey(), url, ctx).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ValidationError);
    expect((err as ValidationError).issues[0]).toMatchObject({ field: 'url' });
    expect(String((err as ValidationError).issues[0]?.message)).toContain('endpoints_url_canonical');
  });

  it.each([
    'https://a.example.com/',
    'http://10.0.0.1:8080/a/b?c=d&e=%2F#f',
    'https://[::1]/x',
    "https://a.example.com/x;y=(1)!$'*+,@~",
    'https://xn--bcher-kva.example/',
  ])('stores %s', async (url) => {
    await expect(repo.upsertRoute(uniqueRouteKey(), url, ctx)).resolves.toMatchObject({ outcome: 'created' });
  });
});
