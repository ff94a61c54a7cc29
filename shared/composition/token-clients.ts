import { HmacTokenHasher, newTokenParts } from '#shared/adapters/auth/token-hasher.hmac';
import { readSecretField } from '#shared/adapters/aws/secrets';
import { PgTokenStore } from '#shared/adapters/postgres/token-store.pg';
import { ConfigError, getConfig } from '#shared/config/config';
import type { TokenHasher } from '#shared/ports/token-hasher.port';
import type { TokenStore } from '#shared/ports/token-store.port';
import { GuardedTokenStore } from '#shared/resilience/guarded-adapters';
import { guardFor } from '#shared/resilience/registry';
import type { AuthenticateDeps } from '#shared/use-cases/authenticate-token.use-case';
import type { TokenAdminDeps } from '#shared/use-cases/manage-tokens.use-case';
import { getPgPool } from './clients.ts';

/** The API token store and hasher, built once per container (the authorizer and token administration). */
let store: TokenStore | undefined;
let hasher: TokenHasher | undefined;

export const getTokenStore = (): TokenStore => {
  store ??= new GuardedTokenStore(new PgTokenStore(getPgPool()), guardFor('database'));
  return store;
};

/**
 * The hash key comes from TOKEN_HASH_KEY (local, tests) or the Secrets Manager secret named by
 * TOKEN_HASH_KEY_SECRET_ARN (AWS), read once per container on first use. Neither set fails the cold
 * start of the functions that need it.
 */
export const getTokenHasher = (): TokenHasher => {
  if (!hasher) {
    const { tokenHashKey, tokenHashKeySecretArn } = getConfig().auth;
    if (tokenHashKey !== undefined) {
      hasher = new HmacTokenHasher(async () => tokenHashKey);
    } else if (tokenHashKeySecretArn !== undefined) {
      hasher = new HmacTokenHasher(() => readSecretField(tokenHashKeySecretArn, 'key'));
    } else {
      throw new ConfigError('invalid configuration: TOKEN_HASH_KEY or TOKEN_HASH_KEY_SECRET_ARN is required');
    }
  }
  return hasher;
};

const now = () => new Date();

export const getAuthenticateDeps = (): AuthenticateDeps => ({
  store: getTokenStore(),
  hasher: getTokenHasher(),
  now,
});

export const getTokenAdminDeps = (): TokenAdminDeps => ({
  store: getTokenStore(),
  hasher: getTokenHasher(),
  now,
  newToken: newTokenParts,
});

/** Forgets the store and hasher (tests; the pool itself is closed by closeClients). */
export const closeTokenClients = (): void => {
  store = undefined;
  hasher = undefined;
};
