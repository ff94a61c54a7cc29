import { describe, expect, it } from 'vitest';
import {
  connectRefreshingCredentials,
  type DatabaseCredentials,
  isAuthenticationFailure,
  RotatingCredentials,
} from '#shared/adapters/postgres/rotating-credentials';

/** A secret with a per-container cache, as Secrets Manager behind Powertools' getSecret is. */
const fakeSecret = (initial: DatabaseCredentials) => {
  let stored = initial;
  let cached: DatabaseCredentials | undefined;
  const reads = { cached: 0, fresh: 0 };
  return {
    reads,
    rotate: (next: DatabaseCredentials) => {
      stored = next;
    },
    read: async ({ fresh }: { fresh: boolean }): Promise<DatabaseCredentials> => {
      await Promise.resolve();
      if (fresh || !cached) {
        reads.fresh++;
        cached = stored;
      } else reads.cached++;
      return cached;
    },
  };
};

/** A database that accepts exactly the credentials it was last given. */
const fakeDatabase = (accepted: DatabaseCredentials) => {
  let current = accepted;
  let attempts = 0;
  return {
    get attempts() {
      return attempts;
    },
    setPassword: (next: DatabaseCredentials) => {
      current = next;
    },
    connect: async (credentials: RotatingCredentials) => {
      attempts++;
      const { user, password } = await credentials.current();
      if (user !== current.user)
        throw Object.assign(new Error(`role "${user}" does not exist`), { code: '28000' });
      if (password !== current.password) throw Object.assign(new Error('password failed'), { code: '28P01' });
      return { user };
    },
  };
};

const v1 = { user: 'tm_app', password: 'one' };
const v2 = { user: 'tm_app_clone', password: 'two' };

describe('rotating database credentials', () => {
  it('recognises refused logins by SQLSTATE and nothing else', () => {
    expect(isAuthenticationFailure({ code: '28P01' })).toBe(true);
    expect(isAuthenticationFailure({ code: '28000' })).toBe(true);
    expect(isAuthenticationFailure({ code: '08006' })).toBe(false);
    expect(isAuthenticationFailure(new Error('ECONNREFUSED'))).toBe(false);
    expect(isAuthenticationFailure(undefined)).toBe(false);
  });

  it('connects with the cached credentials while the database accepts them', async () => {
    const secret = fakeSecret(v1);
    const db = fakeDatabase(v1);
    const credentials = new RotatingCredentials(secret.read);
    const refreshed: unknown[] = [];

    for (let i = 0; i < 3; i++) {
      await connectRefreshingCredentials(() => db.connect(credentials), credentials, {
        onRefresh: (e) => refreshed.push(e),
      });
    }

    expect(secret.reads).toEqual({ fresh: 1, cached: 2 });
    expect(refreshed).toEqual([]);
  });

  it('re-reads the secret once past the cache after a rotation, then connects as the new user', async () => {
    const secret = fakeSecret(v1);
    const db = fakeDatabase(v1);
    const credentials = new RotatingCredentials(secret.read);
    await connectRefreshingCredentials(() => db.connect(credentials), credentials, { onRefresh: () => {} });
    secret.rotate(v2);
    db.setPassword(v2);
    const refreshed: unknown[] = [];

    const client = await connectRefreshingCredentials(() => db.connect(credentials), credentials, {
      onRefresh: (e) => refreshed.push(e),
    });

    expect(client).toEqual({ user: 'tm_app_clone' });
    expect(secret.reads.fresh).toBe(2);
    expect(refreshed).toHaveLength(1);
    expect((refreshed[0] as { code: string }).code).toBe('28000');
  });

  it('fetches once for many connections refused at the same time, and reports it once', async () => {
    const secret = fakeSecret(v1);
    const db = fakeDatabase(v1);
    const credentials = new RotatingCredentials(secret.read);
    await credentials.current();
    secret.rotate(v2);
    db.setPassword(v2);
    let refreshes = 0;

    const clients = await Promise.all(
      Array.from({ length: 20 }, () =>
        connectRefreshingCredentials(() => db.connect(credentials), credentials, {
          onRefresh: () => refreshes++,
        }),
      ),
    );

    expect(clients.every((c) => c.user === 'tm_app_clone')).toBe(true);
    expect(secret.reads.fresh).toBe(2);
    expect(refreshes).toBe(1);
  });

  it('surfaces a second refusal as it is, after exactly one re-read', async () => {
    const secret = fakeSecret(v1);
    const db = fakeDatabase(v1);
    const credentials = new RotatingCredentials(secret.read);
    await credentials.current();
    // The database moved on, the secret did not (a password changed by hand, or a rotation half done).
    db.setPassword({ user: 'tm_app', password: 'changed' });

    await expect(
      connectRefreshingCredentials(() => db.connect(credentials), credentials, { onRefresh: () => {} }),
    ).rejects.toMatchObject({ code: '28P01' });
    expect(secret.reads.fresh).toBe(2);
    expect(db.attempts).toBe(2);
  });

  it('never re-reads or retries on errors that are not refused logins', async () => {
    const secret = fakeSecret(v1);
    const credentials = new RotatingCredentials(secret.read);
    let attempts = 0;

    await expect(
      connectRefreshingCredentials(
        async () => {
          attempts++;
          throw Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
        },
        credentials,
        { onRefresh: () => {} },
      ),
    ).rejects.toThrow('ECONNREFUSED');
    expect(attempts).toBe(1);
    expect(secret.reads.fresh).toBe(0);
  });

  it('fails the connect when the re-read itself fails, and tries again on the next refusal', async () => {
    let fail = true;
    const credentials = new RotatingCredentials(async ({ fresh }) => {
      if (fresh && fail) throw new Error('secrets manager unreachable');
      return v1;
    });
    const refused = async () => {
      throw Object.assign(new Error('password failed'), { code: '28P01' });
    };

    await expect(connectRefreshingCredentials(refused, credentials, { onRefresh: () => {} })).rejects.toThrow(
      'secrets manager unreachable',
    );
    fail = false;
    const seen = credentials.generation;
    await expect(
      connectRefreshingCredentials(refused, credentials, { onRefresh: () => {} }),
    ).rejects.toMatchObject({
      code: '28P01',
    });
    expect(credentials.generation).toBe(seen + 1);
  });
});
