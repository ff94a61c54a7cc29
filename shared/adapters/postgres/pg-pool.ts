import { readFileSync } from 'node:fs';
import pg from 'pg';
import { readSecretCredentials } from '#shared/adapters/aws/secrets';
import { ENV } from '#shared/config/bindings';
import { type Config, requireSetting } from '#shared/config/config';
import { connectRefreshingCredentials, RotatingCredentials } from './rotating-credentials.ts';

// Route revisions are bigint in Postgres; they stay far below 2^53, so parse them as numbers.
pg.types.setTypeParser(pg.types.builtins.INT8, (v) => Number(v));

export type PgPool = pg.Pool;

const sslOptions = (db: Config['database']): pg.PoolConfig['ssl'] => {
  if (db.ssl === 'disable') return undefined;
  const ca = db.sslCaFile ? readFileSync(db.sslCaFile, 'utf8') : undefined;
  return { rejectUnauthorized: db.ssl === 'verify-full', ...(ca ? { ca } : {}) };
};

export interface PgPoolHooks {
  /** An idle client lost its server (the pool replaces it). */
  readonly onError: (err: Error) => void;
  /** The database refused the cached credentials and they were re-read from the secret. */
  readonly onCredentialsRefreshed?: (err: unknown) => void;
}

type ClientCallback = ((err: Error) => void) | ((err: null, client: pg.Client) => void);
type ConnectCallback = (err: Error | undefined, client: pg.PoolClient | undefined, done: () => void) => void;

/**
 * A client that takes its user name and password from the secret just before it connects (both from one
 * version: alternating-users rotation changes the name too). The pool builds one per new connection.
 */
const credentialedClient = (credentials: RotatingCredentials) =>
  class CredentialedClient extends pg.Client {
    override connect(): Promise<pg.Client>;
    override connect(callback: ClientCallback): void;
    override connect(callback?: ClientCallback): Promise<pg.Client> | undefined {
      const connecting = credentials.current().then(({ user, password }) => {
        // pg reads the startup user from its connection parameters, the password from either.
        const params = (this as unknown as { connectionParameters: { user: string; password: unknown } })
          .connectionParameters;
        this.user = user;
        params.user = user;
        this.password = password;
        params.password = password;
        return super.connect();
      });
      if (!callback) return connecting;
      const done = callback as (err: Error | null, client?: pg.Client) => void;
      connecting.then(
        (client) => done(null, client),
        (err: Error) => done(err),
      );
      return undefined;
    }
  };

/** A pool whose new connections re-read the secret once when the database refuses the cached credentials. */
class RotatingCredentialsPool extends pg.Pool {
  constructor(
    config: pg.PoolConfig,
    private readonly credentials: RotatingCredentials,
    private readonly onRefresh: (err: unknown) => void,
  ) {
    super(config);
  }

  // pool.query() checks clients out through this method too (callback form).
  override connect(): Promise<pg.PoolClient>;
  override connect(callback: ConnectCallback): void;
  override connect(callback?: ConnectCallback): Promise<pg.PoolClient> | undefined {
    // The secret is read (or found cached) before the pool's connection timeout starts: that timeout is
    // the database's, and a cold container's first read loads the SDK.
    const connecting = connectRefreshingCredentials(
      () => this.credentials.current().then(() => super.connect()),
      this.credentials,
      { onRefresh: this.onRefresh },
    );
    if (!callback) return connecting;
    connecting.then(
      (client) => callback(undefined, client, () => client.release()),
      (err: Error) => callback(err, undefined, () => {}),
    );
    return undefined;
  }
}

/** A pool with short timeouts: a missing database must give a fast 503, never a hang. */
export const createPgPool = (db: Config['database'], hooks: PgPoolHooks): PgPool => {
  const options: pg.PoolConfig = {
    ssl: sslOptions(db),
    max: db.poolMax,
    connectionTimeoutMillis: db.connectTimeoutMs,
    query_timeout: db.queryTimeoutMs,
    statement_timeout: db.queryTimeoutMs,
    idleTimeoutMillis: 30_000,
    keepAlive: true,
    application_name: 'traffic-manager',
  };
  let pool: pg.Pool;
  if (db.secretArn && db.host) {
    // In AWS the pool connects to RDS Proxy as the user the secret names, with its password, read per new
    // connection (cached), so rotation needs no redeploy; locally DATABASE_URL carries everything.
    const secretArn = db.secretArn;
    const credentials = new RotatingCredentials(({ fresh }) => readSecretCredentials(secretArn, { fresh }));
    pool = new RotatingCredentialsPool(
      {
        ...options,
        host: db.host,
        port: db.port,
        database: db.name,
        Client: credentialedClient(credentials) as unknown as pg.PoolConfig['Client'],
      },
      credentials,
      (err) => hooks.onCredentialsRefreshed?.(err),
    );
  } else {
    const url = requireSetting(db.url, `${ENV.database.url} (or ${ENV.database.host})`);
    pool = new pg.Pool({ ...options, connectionString: url });
  }
  // An idle client losing its server must not crash the process; the pool replaces it.
  pool.on('error', hooks.onError);
  return pool;
};
