export interface DatabaseCredentials {
  readonly user: string;
  readonly password: string;
}

/** Reads the credentials; `fresh` bypasses whatever cache the reader keeps. */
export type CredentialReader = (options: { readonly fresh: boolean }) => Promise<DatabaseCredentials>;

/** SQLSTATEs of a refused login: invalid_password, and invalid_authorization_specification (unknown role). */
const AUTHENTICATION_FAILURES = new Set(['28P01', '28000']);

export const isAuthenticationFailure = (err: unknown): boolean => {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && AUTHENTICATION_FAILURES.has(code);
};

/**
 * The database credentials a pool connects with, from a secret that rotation changes under it. Reads go
 * through the reader's cache; `refreshAfter` re-reads past the cache once per rotation, however many
 * connections were refused with the old value: a refusal seen after someone else already refreshed only
 * retries. The generation counts those refreshes.
 */
export class RotatingCredentials {
  private generationCount = 0;
  private refreshing?: Promise<void>;

  constructor(private readonly read: CredentialReader) {}

  get generation(): number {
    return this.generationCount;
  }

  /** The current credentials; waits for a refresh in progress rather than reading the stale cache. */
  async current(): Promise<DatabaseCredentials> {
    await this.refreshing;
    return this.read({ fresh: false });
  }

  /**
   * After a connection made at `seenGeneration` was refused: re-reads past the cache unless a refresh
   * happened since, or joins the one in progress. Resolves true only for the call that fetched.
   */
  async refreshAfter(seenGeneration: number): Promise<boolean> {
    if (this.generationCount > seenGeneration) return false;
    const started = !this.refreshing;
    if (started) {
      this.refreshing = this.read({ fresh: true }).then(
        () => {
          this.generationCount++;
          this.refreshing = undefined;
        },
        (err: unknown) => {
          this.refreshing = undefined;
          throw err;
        },
      );
    }
    await this.refreshing;
    return started;
  }
}

export interface RefreshHooks {
  /** A login was refused and this connect re-read the credentials: the metric and the log line, once. */
  readonly onRefresh: (err: unknown) => void;
}

/**
 * Connects; when the database refuses the login (a rotation replaced the cached credentials), re-reads the
 * secret once and connects again. A second refusal, or any other error, is the caller's to handle.
 */
export const connectRefreshingCredentials = async <C>(
  connect: () => Promise<C>,
  credentials: RotatingCredentials,
  hooks: RefreshHooks,
): Promise<C> => {
  const seen = credentials.generation;
  try {
    return await connect();
  } catch (err) {
    if (!isAuthenticationFailure(err)) throw err;
    if (await credentials.refreshAfter(seen)) hooks.onRefresh(err);
    return connect();
  }
};
