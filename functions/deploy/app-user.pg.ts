import pg from 'pg';
import { rotationLogins } from './rotation-logins.ts';

/** The NOLOGIN role holding the application's rights; login users are members of it. */
export const APP_ROLE = 'traffic_manager_app';

/**
 * What the functions may do in the database (issue 11.3): read and write the rows of the app's tables, use
 * its sequences and call its functions — no DDL, no TRUNCATE, nothing on the migrations table, and only
 * appends to the token audit trail. Re-applied after every migration run, so tables a later migration adds
 * are covered (the default privileges cover them too, for objects this master user creates).
 */
const APP_ROLE_RIGHTS = `
GRANT USAGE ON SCHEMA public TO ${APP_ROLE};
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO ${APP_ROLE};
GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO ${APP_ROLE};
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA public TO ${APP_ROLE};
REVOKE ALL ON TABLE pgmigrations FROM ${APP_ROLE};
REVOKE UPDATE, DELETE ON TABLE token_audit FROM ${APP_ROLE};
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO ${APP_ROLE};
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE, SELECT ON SEQUENCES TO ${APP_ROLE};
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT EXECUTE ON FUNCTIONS TO ${APP_ROLE};
`;

const DUPLICATE_OBJECT = '42710';

/** CREATE ROLE that tolerates a concurrent creation (roles are cluster-wide). */
const createRole = async (client: pg.Client, sql: string): Promise<boolean> =>
  client.query(sql).then(
    () => true,
    (err: { code?: string }) => {
      if (err.code === DUPLICATE_OBJECT) return false;
      throw err;
    },
  );

const roleExists = async (client: pg.Client, name: string): Promise<boolean> =>
  Boolean((await client.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [name])).rowCount);

/**
 * Gives the app role its rights (creating it if missing) and makes the application's logins members:
 * the user the secret names now, created with the secret's password when it does not exist, and the
 * other login of the alternating-users rotation once that rotation has created it (as a member of the
 * first user; a direct membership keeps it working whatever happens to that first user). An existing
 * user keeps its password: the database and the secret's current version already agree, and setting it
 * here could undo a rotation in progress. Runs as the master user (the migrate function), which owns
 * every object.
 */
export const ensureAppUser = async (
  databaseUrl: string,
  user: { readonly name: string; readonly password: string },
): Promise<'created' | 'kept'> => {
  const client = new pg.Client({ connectionString: databaseUrl, connectionTimeoutMillis: 10_000 });
  await client.connect();
  try {
    if (!(await roleExists(client, APP_ROLE))) await createRole(client, `CREATE ROLE ${APP_ROLE} NOLOGIN`);
    await client.query(`BEGIN;${APP_ROLE_RIGHTS}COMMIT;`);
    const created =
      !(await roleExists(client, user.name)) &&
      (await createRole(
        client,
        `CREATE ROLE ${client.escapeIdentifier(user.name)} LOGIN PASSWORD ${client.escapeLiteral(user.password)}`,
      ));
    for (const login of rotationLogins(user.name)) {
      if (await roleExists(client, login)) {
        await client.query(`GRANT ${APP_ROLE} TO ${client.escapeIdentifier(login)}`);
      }
    }
    return created ? 'created' : 'kept';
  } finally {
    await client.end();
  }
};
