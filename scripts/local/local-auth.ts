import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { AuthMode } from './local-authorizer.ts';

/** 127.0.0.0/8, ::1 or localhost: reachable from this machine only. */
export const isLoopback = (host: string): boolean =>
  host === 'localhost' || host === '::1' || host === '[::1]' || /^127(\.\d{1,3}){3}$/.test(host);

/**
 * AUTH_MODE as asked, else `off` on a loopback address and `on` anywhere else. Auth off on an address
 * other machines can reach is refused: every caller would be an all-tenant admin.
 */
export const chooseAuthMode = (host: string, requested: AuthMode | undefined): AuthMode => {
  const mode = requested ?? (isLoopback(host) ? 'off' : 'on');
  if (mode === 'off' && !isLoopback(host)) {
    throw new Error(
      `refusing to start with AUTH_MODE=off on API_HOST=${host}: without auth every caller is an all-tenant ` +
        'admin. Use AUTH_MODE=on (the default off loopback), or API_HOST=127.0.0.1.',
    );
  }
  return mode;
};

/** The loud notice printed while auth is off. */
export const authOffNotice = (url: string): string[] => [
  '*'.repeat(100),
  `AUTH IS OFF: every request to ${url} acts as "anonymous", an admin of every tenant.`,
  'Fine for development on this machine only. Run it as in AWS, with API tokens: AUTH_MODE=on npm start',
  '*'.repeat(100),
];

/**
 * The HMAC key for token hashes: TOKEN_HASH_KEY when set, else one generated on first start and kept
 * in `file` (readable by this user only), so tokens survive restarts.
 */
export const localTokenHashKey = (file: string, fromEnv: string | undefined): string => {
  if (fromEnv) return fromEnv;
  if (existsSync(file)) return readFileSync(file, 'utf8').trim();
  const key = randomBytes(48).toString('base64url');
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, `${key}\n`, { mode: 0o600 });
  return key;
};

/**
 * With auth on, there must be an admin token to administer tokens with. BOOTSTRAP_ADMIN_TOKEN: a token
 * of yours (tm_<id>_<secret>) to use as the admin token, or `new` for a fresh one even though one
 * exists (e.g. its secret was lost). Without it, one is created only when no admin token is active.
 * Returns the lines to print; a created secret is printed this once (a preset one never is).
 */
export const bootstrapLocalAdmin = async (url: string, preset: string | undefined): Promise<string[]> => {
  const { getTokenAdminDeps } = await import('#shared/composition/token-clients');
  const { bootstrapAdminToken } = await import('#shared/use-cases/manage-tokens.use-case');
  const fresh = preset === 'new';
  const result = await bootstrapAdminToken(
    getTokenAdminDeps(),
    {
      principal: 'local-admin',
      expiresInDays: 365,
      ...(preset && !fresh ? { preset } : {}),
      force: fresh,
    },
    { actor: fresh ? 'bootstrap:force' : 'bootstrap', correlationId: null },
  );
  const on = `auth is ON: every /api/v1 call needs Authorization: Bearer <token>`;
  switch (result.outcome) {
    case 'created':
      return [
        on,
        `admin token (shown once, store it): ${result.secret}`,
        `  e.g. curl -H "Authorization: Bearer ${result.secret}" ${url}/api/v1/admin/tokens`,
      ];
    case 'preset_created':
    case 'preset_exists':
      return [on, `admin token: the one in BOOTSTRAP_ADMIN_TOKEN (id ${result.token.id})`];
    case 'admin_exists':
      return [
        on,
        'an admin token exists (its secret was printed when it was created); ' +
          'to mint another one: BOOTSTRAP_ADMIN_TOKEN=new AUTH_MODE=on npm start',
      ];
  }
};
