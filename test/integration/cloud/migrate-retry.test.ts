import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { isConnectionError, retryConnecting } from '#functions/deploy/connect-retry';

// The migrate function on a first deploy: RDS Proxy may refuse connections until its target is registered.
const database = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/traffic_manager_test';
const query = async (url: string, sql: string): Promise<void> => {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2000 });
  try {
    await client.connect();
    await client.query(sql);
  } finally {
    await client.end().catch(() => {});
  }
};

describe('the migrate function waiting for the database', () => {
  it('retries while the server refuses connections, then runs once it answers', async () => {
    const urls = ['postgres://postgres@127.0.0.1:1/none', 'postgres://postgres@127.0.0.1:1/none', database];
    const retried: number[] = [];

    await retryConnecting(() => query(urls.shift()!, 'SELECT 1'), {
      attempts: 5,
      delayMs: 10,
      onRetry: (_, attempt) => retried.push(attempt),
    });

    expect(retried).toEqual([1, 2]);
    expect(urls).toEqual([]);
  });

  it('fails at once on a SQL error, and after the last attempt on a connection error', async () => {
    let calls = 0;
    const sqlError = retryConnecting(
      () => {
        calls++;
        return query(database, 'SELECT * FROM no_such_table_for_migrate_retry');
      },
      { attempts: 5, delayMs: 10 },
    );
    await expect(sqlError).rejects.toMatchObject({ code: '42P01' });
    expect(calls).toBe(1);

    const refused = retryConnecting(() => query('postgres://postgres@127.0.0.1:1/none', 'SELECT 1'), {
      attempts: 2,
      delayMs: 10,
    });
    await expect(refused).rejects.toSatisfy(isConnectionError);
  });
});
