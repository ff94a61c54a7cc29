/** Secrets are cached for five minutes per container, so a rotated value is picked up without a redeploy. */
const MAX_AGE_SECONDS = 300;

export interface SecretReadOptions {
  /** Skip the cache (and refill it): after the store refused the cached credentials. */
  readonly fresh?: boolean;
}

/** A Secrets Manager secret's string value, cached per container. */
const readSecretString = async (arn: string, options: SecretReadOptions = {}): Promise<string> => {
  // Loaded on first use: deployments without secrets (local, tests) never pay for the SDK import.
  const { getSecret } = await import('@aws-lambda-powertools/parameters/secrets');
  const raw = await getSecret<string>(arn, { maxAge: MAX_AGE_SECONDS, forceFetch: options.fresh ?? false });
  if (typeof raw !== 'string') throw new Error(`secret ${arn} has no string value`);
  return raw;
};

const stringField = (arn: string, fields: Record<string, unknown>, field: string): string => {
  const value = fields[field];
  if (typeof value !== 'string') throw new Error(`secret ${arn} has no "${field}" field`);
  return value;
};

/** A Secrets Manager secret's `field` (JSON secrets) or its whole value (plain-string secrets). */
export const readSecretField = async (arn: string, field: string): Promise<string> => {
  const raw = await readSecretString(arn);
  if (!raw.trimStart().startsWith('{')) return raw;
  return stringField(arn, JSON.parse(raw) as Record<string, unknown>, field);
};

/**
 * A JSON secret's `username` and `password`, read together from one version: with alternating-users
 * rotation the user name changes with the password, so the two must never come from different versions.
 */
export const readSecretCredentials = async (
  arn: string,
  options: SecretReadOptions = {},
): Promise<{ readonly user: string; readonly password: string }> => {
  const fields = JSON.parse(await readSecretString(arn, options)) as Record<string, unknown>;
  return { user: stringField(arn, fields, 'username'), password: stringField(arn, fields, 'password') };
};
