import type { Document, MongoClient } from 'mongodb';
import { AUDIT_COLLECTION, AUDIT_INDEXES } from '#shared/adapters/mongo/audit-schema';
import { rotationLogins } from './rotation-logins.ts';

/** Users and roles live in `admin` on DocumentDB; the functions authenticate there (no authSource). */
const ADMIN_DB = 'admin';

/** The user-defined role holding what the audit functions do: insert audit documents and find them. */
export const AUDIT_ROLE = 'trafficManagerAudit';

/** One command to run, and the database it runs in. */
export interface AuditSetupCommand {
  readonly db: string;
  readonly command: Document;
}

export interface AuditSetupFacts {
  /** The audit database (MONGO_DATABASE). */
  readonly database: string;
  /** `none` where the store has no users (the local cloud's Mongo-wire server): indexes only. */
  readonly users: 'managed' | 'none';
  /** The login the app secret names now, and its password (used only to create it). */
  readonly user?: { readonly name: string; readonly password: string };
  /** Which of the role and the two rotation logins exist already. */
  readonly existingRoles: readonly string[];
  readonly existingUsers: readonly string[];
}

/**
 * Pure: what the deploy step runs as the master, in order.
 * 1. The collection's indexes (the functions' user may not create them; a no-op when they exist).
 * 2. The role: `find` and `insert` on the audit collection only — no update, remove, index or drop, no
 *    other collection or database. Created, or reset to exactly these privileges.
 * 3. The login the secret names: created with the secret's password when missing (an existing one keeps
 *    its password, as the rotation set it), granted the role alone. The alternating-users rotation's
 *    other login, once it exists, gets the same single role.
 */
export const auditSetupPlan = (facts: AuditSetupFacts): AuditSetupCommand[] => {
  const plan: AuditSetupCommand[] = [
    {
      db: facts.database,
      command: {
        createIndexes: AUDIT_COLLECTION,
        indexes: AUDIT_INDEXES.map((i) => ({ ...i, key: { ...i.key } })),
      },
    },
  ];
  if (facts.users === 'none') return plan;
  if (!facts.user) throw new Error('the audit store manages users but no application user was given');
  const privileges = [
    { resource: { db: facts.database, collection: AUDIT_COLLECTION }, actions: ['find', 'insert'] },
  ];
  plan.push({
    db: ADMIN_DB,
    command: facts.existingRoles.includes(AUDIT_ROLE)
      ? { updateRole: AUDIT_ROLE, privileges, roles: [] }
      : { createRole: AUDIT_ROLE, privileges, roles: [] },
  });
  const roles = [{ role: AUDIT_ROLE, db: ADMIN_DB }];
  for (const login of rotationLogins(facts.user.name)) {
    const exists = facts.existingUsers.includes(login);
    if (exists) plan.push({ db: ADMIN_DB, command: { updateUser: login, roles } });
    else if (login === facts.user.name) {
      plan.push({ db: ADMIN_DB, command: { createUser: login, pwd: facts.user.password, roles } });
    }
  }
  return plan;
};

const namesOf = (reply: Document, list: 'users' | 'roles', field: 'user' | 'role'): string[] =>
  ((reply[list] as Document[] | undefined) ?? []).map((d) => String(d[field]));

/** Reads which role and logins exist, then runs the plan; returns the commands run (their names). */
export const applyAuditSetup = async (
  client: MongoClient,
  facts: Omit<AuditSetupFacts, 'existingRoles' | 'existingUsers'>,
): Promise<string[]> => {
  const admin = client.db(ADMIN_DB);
  const managed = facts.users === 'managed' && facts.user;
  const existingUsers = managed
    ? namesOf(await admin.command({ usersInfo: rotationLogins(facts.user!.name).slice() }), 'users', 'user')
    : [];
  const existingRoles = managed
    ? namesOf(await admin.command({ rolesInfo: AUDIT_ROLE }), 'roles', 'role')
    : [];
  const ran: string[] = [];
  for (const step of auditSetupPlan({ ...facts, existingUsers, existingRoles })) {
    await client.db(step.db).command(step.command);
    ran.push(Object.keys(step.command)[0]!);
  }
  return ran;
};
