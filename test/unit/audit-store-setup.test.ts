import { describe, expect, it } from 'vitest';
import { AUDIT_ROLE, auditSetupPlan } from '#functions/deploy/audit-user.mongo';
import { rotationLogins } from '#functions/deploy/rotation-logins';
import { AUDIT_COLLECTION, AUDIT_INDEXES } from '#shared/adapters/mongo/audit-schema';

const base = { database: 'traffic_manager', existingRoles: [], existingUsers: [] } as const;
const user = { name: 'tm_audit_app', password: 'secret-password' };
const commandNames = (plan: ReturnType<typeof auditSetupPlan>) => plan.map((s) => Object.keys(s.command)[0]);

describe('the audit store setup plan', () => {
  it('creates the indexes first, in the audit database, whatever else it does', () => {
    for (const users of ['managed', 'none'] as const) {
      const [first] = auditSetupPlan({ ...base, users, user });

      expect(first).toEqual({
        db: 'traffic_manager',
        command: { createIndexes: AUDIT_COLLECTION, indexes: AUDIT_INDEXES.map((i) => ({ ...i })) },
      });
    }
  });

  it('on a fresh store creates the role (find and insert on the audit collection only) and the user with it', () => {
    const plan = auditSetupPlan({ ...base, users: 'managed', user });

    expect(commandNames(plan)).toEqual(['createIndexes', 'createRole', 'createUser']);
    expect(plan[1]).toEqual({
      db: 'admin',
      command: {
        createRole: AUDIT_ROLE,
        privileges: [
          { resource: { db: 'traffic_manager', collection: AUDIT_COLLECTION }, actions: ['find', 'insert'] },
        ],
        roles: [],
      },
    });
    expect(plan[2]).toEqual({
      db: 'admin',
      command: {
        createUser: 'tm_audit_app',
        pwd: 'secret-password',
        roles: [{ role: AUDIT_ROLE, db: 'admin' }],
      },
    });
  });

  it('resets an existing role and user to exactly that role and keeps the password the rotation set', () => {
    const plan = auditSetupPlan({
      ...base,
      users: 'managed',
      user,
      existingRoles: [AUDIT_ROLE],
      existingUsers: ['tm_audit_app'],
    });

    expect(commandNames(plan)).toEqual(['createIndexes', 'updateRole', 'updateUser']);
    expect(plan[2]?.command).toEqual({
      updateUser: 'tm_audit_app',
      roles: [{ role: AUDIT_ROLE, db: 'admin' }],
    });
    expect(JSON.stringify(plan)).not.toContain('secret-password');
  });

  it('gives the rotation clone the same single role once it exists, whichever login the secret names', () => {
    const plan = auditSetupPlan({
      ...base,
      users: 'managed',
      user: { name: 'tm_audit_app_clone', password: 'clone-password' },
      existingRoles: [AUDIT_ROLE],
      existingUsers: ['tm_audit_app', 'tm_audit_app_clone'],
    });

    expect(plan.slice(2).map((s) => s.command)).toEqual([
      { updateUser: 'tm_audit_app', roles: [{ role: AUDIT_ROLE, db: 'admin' }] },
      { updateUser: 'tm_audit_app_clone', roles: [{ role: AUDIT_ROLE, db: 'admin' }] },
    ]);
  });

  it('makes only the indexes where the stage says the store has no users', () => {
    expect(commandNames(auditSetupPlan({ ...base, users: 'none' }))).toEqual(['createIndexes']);
  });

  it('refuses to manage users without the application user', () => {
    expect(() => auditSetupPlan({ ...base, users: 'managed' })).toThrow(/no application user/);
  });
});

describe('the logins an alternating-users rotation switches between', () => {
  it('are the base user and its clone, whichever the secret names', () => {
    expect(rotationLogins('tm_app')).toEqual(['tm_app', 'tm_app_clone']);
    expect(rotationLogins('tm_app_clone')).toEqual(['tm_app', 'tm_app_clone']);
  });
});
